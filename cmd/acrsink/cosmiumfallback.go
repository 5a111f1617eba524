package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/acrsink/acrsink/internal/store"
)

// openQueryStore is the configured container for a query of query's or
// report's: through a fallbackDetector where it is the local emulator,
// which fellBack then asks after a failed query (detector is nil
// elsewhere).
func (a *azure) openQueryStore() (st *store.Cosmos, detector *fallbackDetector, err error) {
	var opts store.Options
	if localEmulator(a.cfg) {
		detector = &fallbackDetector{next: &http.Client{}}
		opts.Transport = detector
	}
	st, err = a.openStore(opts)
	return st, detector, err
}

// fallbackDetector passes requests to the local emulator and notices
// cosmium's answer to a query it could not parse: instead of an error,
// cosmium v0.1.20 answers 200 with every document of the container
// (api/handlers/documents.go, "Currently we return everything if the query
// fails"). That answer names the container in "_rid" where a query's
// answer has the container's resource id, which is how it is told apart;
// it is turned into the 400 Cosmos would have answered, so nothing of it is
// printed as results.
type fallbackDetector struct {
	next *http.Client
	fell atomic.Bool
}

// fellBack reports whether a query's answer was cosmium's fallback; false
// for a nil f (not the local emulator).
func (f *fallbackDetector) fellBack() bool { return f != nil && f.fell.Load() }

func (f *fallbackDetector) Do(req *http.Request) (*http.Response, error) {
	resp, err := f.next.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || !isQuery(req) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var page struct {
		RID string `json:"_rid"`
	}
	_ = json.Unmarshal(body, &page)
	if page.RID != "" && page.RID == containerInPath(req.URL.Path) {
		f.fell.Store(true)
		resp.StatusCode, resp.Status = http.StatusBadRequest, "400 Bad Request"
		resp.Body = io.NopCloser(strings.NewReader(`{"code":"BadRequest","message":"cosmium could not parse the query"}`))
		resp.ContentLength = -1
	}
	return resp, nil
}

// isQuery reports whether req runs a query (not a query plan request, which
// cosmium answers with a constant).
func isQuery(req *http.Request) bool {
	return strings.HasPrefix(req.Header.Get("Content-Type"), "application/query+json") && req.Header.Get("x-ms-cosmos-is-query-plan-request") == ""
}

// containerInPath is the container's name in /dbs/DB/colls/NAME/docs.
func containerInPath(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "colls" {
			return parts[i+1]
		}
	}
	return ""
}
