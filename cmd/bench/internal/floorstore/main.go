// Command floorstore is the bench's floor for the first event after a cold
// start: the smallest program that stores what is posted to it the way the
// handler must, with azcosmos, COSMOS_ENDPOINT and the managed identity,
// and nothing else: no key check, no decoding beyond the id, no warm-up.
// Its first event pays exactly the chain the SDK imposes on a new process
// (a token, the account's metadata, a connection, the write), which is what
// the handler's first event is judged against.
package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"
)

func main() {
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		os.Exit(1)
	}
	client, err := azcosmos.NewClient(os.Getenv("COSMOS_ENDPOINT"), cred, nil)
	if err != nil {
		os.Exit(1)
	}
	ctr, err := client.NewContainer(os.Getenv("COSMOS_DATABASE"), os.Getenv("COSMOS_CONTAINER"))
	if err != nil {
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"))
	if err != nil {
		os.Exit(1)
	}
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, err := io.ReadAll(r.Body)
		var event struct {
			ID string `json:"id"`
		}
		if err != nil || json.Unmarshal(body, &event) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, err := ctr.CreateItem(r.Context(), azcosmos.NewPartitionKeyString(event.ID), body, nil); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
}
