package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/store"
)

// storeProblem says in one line what keeps the store from answering and
// what to fix, or returns nil when err is about something else (a query
// the server refused, say). query and replay both say it the same way.
func storeProblem(err error, cfg config.Config) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	var authErr *azidentity.AuthenticationFailedError
	msg := err.Error()
	switch code := store.StatusCode(err); {
	case errors.As(err, &authErr) || strings.Contains(msg, "DefaultAzureCredential") || strings.Contains(msg, "ManagedIdentityCredential") || strings.Contains(msg, "AzureCLICredential"):
		// The credential chain's own report is a dozen lines about
		// credentials nobody meant to use; what fixes it is one command.
		return fmt.Errorf("cannot sign in to Azure for COSMOS_ENDPOINT %s: run az login (or set AZURE_CLIENT_ID for a managed identity), then try again", cfg.CosmosEndpoint)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("the Cosmos account refused access (%d): with COSMOS_ENDPOINT, your identity needs the Cosmos DB Built-in Data Contributor role on the account; with COSMOS_CONNECTION_STRING, check its key", code)
	case code == http.StatusNotFound:
		return fmt.Errorf("the container %s/%s is not there (404): check COSMOS_DATABASE and COSMOS_CONTAINER (infra/ creates them in Azure, acrsink dev locally)", cfg.CosmosDatabase, cfg.CosmosContainer)
	case code != 0:
		return nil
	case cfg.UsesEmulatorDefault():
		return errors.New("cannot reach the local emulator at http://127.0.0.1:8081/ (no COSMOS_CONNECTION_STRING or COSMOS_ENDPOINT is set): is acrsink dev running?")
	case localEmulator(cfg):
		return errors.New("cannot reach the local emulator that COSMOS_CONNECTION_STRING names: is acrsink dev running, on that -cosmos-port?")
	case cfg.CosmosEndpoint != "":
		return fmt.Errorf("cannot reach the Cosmos account at COSMOS_ENDPOINT %s: %s", cfg.CosmosEndpoint, firstLine(msg))
	}
	// No value from a connection string: it holds the key.
	return errors.New("cannot reach the Cosmos account that COSMOS_CONNECTION_STRING names: check the account endpoint and your network")
}

// queryFailure says in one line why a query failed, err being its error
// and not a refusal of the query itself: what keeps the store from
// answering, or, where the container cannot be read, that, in the store's
// own status (cosmium answers a query in a missing container 500 "Unknown
// error", Azure 404). query and report both say it this way.
func queryFailure(ctx context.Context, st *store.Cosmos, cfg config.Config, err error) error {
	if p := storeProblem(err, cfg); p != nil {
		return p
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cerr := st.Check(cctx)
	cancel()
	if p := storeProblem(cerr, cfg); p != nil {
		return p
	}
	return err
}

// localEmulator reports whether cfg reaches a local emulator (cosmium, by
// acrsink dev) rather than Azure: its connection string carries the
// emulator's public, well-known key.
func localEmulator(cfg config.Config) bool {
	return cfg.CosmosEndpoint == "" && strings.Contains(cfg.CosmosConnection, "AccountKey="+emulator.Key)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// refusal is a request the store refused (a query it could not run), in
// one line: the store's error, then what Cosmos DB said of it. query and
// report both say it this way.
func refusal(err error) string {
	if m := serverMessage(err); m != "" {
		return err.Error() + ": " + m
	}
	return err.Error()
}

// serverMessage is what Cosmos DB said about a refused request, in one
// clipped line: for a query, its syntax errors. Cosmos DB puts them in the
// body's "message" as "Message: {"errors":[...]}" followed by activity
// lines; azcore keeps the body readable on the error's RawResponse
// (runtime.NewResponseError buffers it).
func serverMessage(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.RawResponse == nil || re.RawResponse.Body == nil {
		return ""
	}
	body, rerr := io.ReadAll(io.LimitReader(re.RawResponse.Body, 64<<10))
	if rerr != nil {
		return ""
	}
	re.RawResponse.Body = io.NopCloser(bytes.NewReader(body))
	var outer struct{ Message string }
	if json.Unmarshal(body, &outer) != nil || outer.Message == "" {
		return ""
	}
	msg := firstLine(outer.Message)
	var inner struct{ Errors []struct{ Message string } }
	if j := strings.Index(msg, "{"); j >= 0 && json.Unmarshal([]byte(msg[j:]), &inner) == nil && len(inner.Errors) > 0 {
		var parts []string
		for _, e := range inner.Errors {
			parts = append(parts, e.Message)
		}
		msg = strings.Join(parts, "; ")
	}
	return acr.Clip(strings.TrimSpace(msg))
}
