package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
)

func TestAQueryRefusedByCosmosSaysWhyInOneLine(t *testing.T) {
	// Cosmos DB's answer to a query with a syntax error: the reasons are
	// JSON inside "message", activity lines after it.
	body := `{"code":"BadRequest","message":"Message: {\"errors\":[{\"severity\":\"Error\",\"location\":{\"start\":22,\"end\":27},\"code\":\"SC1001\",\"message\":\"Syntax error, incorrect syntax near 'WHERE'.\"}]}\r\nActivityId: 0f6bd4e0-0000-0000-0000-000000000000, Microsoft.Azure.Documents.Common/2.14.0"}`
	req, _ := http.NewRequest(http.MethodPost, "https://account.documents.azure.com/dbs/acr/colls/pushes/docs", nil)
	resp := &http.Response{StatusCode: 400, Status: "400 Bad Request", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: req}
	err := runtime.NewResponseError(resp)
	if got, want := serverMessage(err), "Syntax error, incorrect syntax near 'WHERE'."; got != want {
		t.Errorf("serverMessage = %q, want %q", got, want)
	}
}

func TestAStoreThatFailsIsOneLineWithItsStatusFromQueryReplayAndReport(t *testing.T) {
	_, cfg := emulatortest.Container(t)
	p, err := faultproxy.Start(emulatortest.Server().Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Fail(500)
	env := func(name string) string {
		switch name {
		case "COSMOS_CONNECTION_STRING":
			return "AccountEndpoint=" + p.Endpoint() + ";AccountKey=" + emulator.Key + ";"
		case "COSMOS_DATABASE":
			return cfg.CosmosDatabase
		case "COSMOS_CONTAINER":
			return cfg.CosmosContainer
		}
		return ""
	}
	for _, args := range [][]string{
		{"query", "SELECT * FROM c"},
		{"replay", "-file", "../../internal/history/testdata/list-events.json", "-dry-run"},
		{"report"},
		{"report", "-json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"acrsink"}, args...), env, nil, &out, &errOut)
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "500 Internal Server Error") || strings.Contains(err.Error(), "RESPONSE") {
				t.Errorf("err %q, want one line with the status", err)
			}
			if strings.Contains(errOut.String(), "RESPONSE 500") || out.Len() != 0 {
				t.Errorf("printed azcore's dump or results:\n%s%s", out.String(), errOut.String())
			}
		})
	}
}
