// Package store keeps documents in a Cosmos DB for NoSQL container through
// azcosmos. Writes are create-only, keyed on the event id, so storing the
// same event twice (a redelivery, a replay, the same event by webhook and by
// Event Grid) leaves the first document as it was.
package store

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
)

// PartitionKeyPath is the container's partition key: the event id, so that
// every create is a point write and ids are unique across the container.
const PartitionKeyPath = "/id"

// Cosmos is a container in a Cosmos DB account.
type Cosmos struct {
	open     func() (*azcosmos.Client, error) // a new client for the account
	database string
	name     string

	mu        sync.Mutex
	client    *azcosmos.Client
	container *azcosmos.ContainerClient
	// reached is set once a call got an answer from the account.
	reached atomic.Bool

	// warm, while not nil and open, is a warm-up in progress (see Warm).
	warm chan struct{}
}

// Account is the container to keep documents in, and how to reach its
// account: Endpoint with Credential (Microsoft Entra ID), or
// ConnectionString (the account key). The store builds no credential: the
// command makes one, for its cloud, and gives the same one to Resource
// Manager's client. azcosmos asks it for a token with the account's own
// audience (with no Cloud in its options, azcosmos v1.5.0 NewClient takes
// the scope from the endpoint).
type Account struct {
	Endpoint         string
	Credential       azcore.TokenCredential
	ConnectionString string
	Database         string
	Container        string
}

// Options tune the client; the zero value is right for production.
type Options struct {
	// Transport replaces the HTTP client (tests put a fault injector here).
	Transport policy.Transporter
}

// Open makes a client for the account's container. It does no I/O: the
// SDK connects on first use, which keeps the handler's cold start short.
// Errors name the settings the account's fields come from
// (COSMOS_ENDPOINT, COSMOS_CONNECTION_STRING), never their values.
func Open(a Account, opts Options) (*Cosmos, error) {
	co := &azcosmos.ClientOptions{}
	co.Retry = policy.RetryOptions{
		// azcore retries throttling (429, honouring x-ms-retry-after-ms)
		// and, for reads, what azcosmos lets it. It does not retry a write
		// answered 408 or 503 (or 500, 502, 504): azcosmos marks those
		// non-retriable in an account with one write region. Create
		// retries the ones Cosmos DB documents as transient itself
		// (retriableWrite). The context deadline bounds the whole.
		MaxRetries:    3,
		RetryDelay:    100 * time.Millisecond,
		MaxRetryDelay: time.Second,
	}
	if opts.Transport != nil {
		co.Transport = opts.Transport
	}
	co.PerRetryPolicies = []policy.Policy{endWarmUp{}}
	var open func() (*azcosmos.Client, error)
	switch {
	case a.Endpoint != "":
		if a.Credential == nil {
			return nil, errors.New("cosmos: COSMOS_ENDPOINT needs a credential")
		}
		open = func() (*azcosmos.Client, error) {
			client, err := azcosmos.NewClient(a.Endpoint, a.Credential, co)
			if err != nil {
				return nil, fmt.Errorf("cosmos: COSMOS_ENDPOINT: %w", err)
			}
			return client, nil
		}
	default:
		open = func() (*azcosmos.Client, error) {
			client, err := azcosmos.NewClientFromConnectionString(a.ConnectionString, co)
			if err != nil {
				// The SDK's parse errors can quote the connection string,
				// key included: say what, not the value.
				return nil, errors.New("cosmos: COSMOS_CONNECTION_STRING is not a connection string (AccountEndpoint=...;AccountKey=...;)")
			}
			return client, nil
		}
	}
	c := &Cosmos{open: open, database: a.Database, name: a.Container}
	if err := c.reopen(nil); err != nil {
		return nil, err
	}
	return c, nil
}

// reopen replaces the client, unless another call already replaced the one
// that failed (failed nil: the first open).
func (c *Cosmos) reopen(failed *azcosmos.ContainerClient) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if failed != nil && failed != c.container {
		return nil
	}
	client, err := c.open()
	if err != nil {
		return err
	}
	ctr, err := client.NewContainer(c.database, c.name)
	if err != nil {
		return fmt.Errorf("cosmos: container %s/%s: %w", c.database, c.name, err)
	}
	c.client, c.container = client, ctr
	return nil
}

// current is the client and container in use.
func (c *Cosmos) current() (*azcosmos.Client, *azcosmos.ContainerClient) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client, c.container
}

// do runs call on the current container. azcosmos v1.5.0 reads the
// account's metadata on a client's first call, and when that read fails it
// keeps answering with the same failure, without trying again, until its
// 5-minute refresh interval has passed (globalEndpointManager.Update: a
// failed attempt is throttled like a success, and the cached error is
// returned while the account was never reached). A store that was
// unreachable for a moment at start would then refuse every event for five
// minutes. So until the account has answered once, a failure to read its
// metadata replaces the client and the call is tried once more.
func (c *Cosmos) do(call func(*azcosmos.ContainerClient) error) error {
	_, ctr := c.current()
	err := call(ctr)
	if err != nil && !c.reached.Load() && StatusCode(err) == 0 && strings.Contains(err.Error(), "failed to retrieve account properties") {
		if rerr := c.reopen(ctr); rerr != nil {
			return err
		}
		_, ctr = c.current()
		err = call(ctr)
	}
	if err == nil || StatusCode(err) != 0 || errors.Is(err, errWarmedUp) {
		c.reached.Store(true)
	}
	return err
}

// Warm does at once, in the background, what the client otherwise does on
// its first call: get a token (from the managed identity, with Entra ID),
// read the account's metadata, and open a connection (a TLS handshake in
// Azure). It is a point read that stops, unsent, once the SDK has done all
// of that (see endWarmUp): sending it would put one more store round trip
// in front of an event that arrives meanwhile. A call made meanwhile waits
// for it, bounded by the call's own deadline, then goes on with a warm
// client. Joining the SDK's work in flight instead (azcosmos shares one
// account read between callers) let a request outlive its deadline while
// the store was unreachable (TestAStoreThatIsDownGets503WithinTheBudget,
// which answered 502 after the server's write timeout): azcosmos runs that
// read without the caller's cancellation. limit bounds the warm-up, and a
// store that cannot answer costs nothing but a log line: the first call
// tries again. done is called once, with how long it took and its error.
// Call Warm before any other method, and at most once.
func (c *Cosmos) Warm(ctx context.Context, limit time.Duration, done func(time.Duration, error)) {
	c.warm = make(chan struct{})
	go func() {
		defer close(c.warm)
		start := time.Now()
		// A process's first TLS handshake loads the system's trusted roots
		// (crypto/x509 loads them once, on first use), 13-15 ms on this
		// project's Debian machine. Loaded now, they overlap the token
		// request instead of following it. Over plain HTTP (the local
		// emulator) nothing needs them, and they cost about 5 MiB resident
		// (measured with a program that loads them and nothing else).
		if client, _ := c.current(); strings.HasPrefix(client.Endpoint(), "https:") {
			go func() { _, _ = x509.SystemCertPool() }()
		}
		ctx, cancel := context.WithTimeout(context.WithValue(ctx, warmUpKey{}, true), limit)
		defer cancel()
		_, _, err := c.get(ctx, "acrsink-warm-up")
		if errors.Is(err, errWarmedUp) {
			err = nil
		}
		done(time.Since(start), err)
	}()
}

// warmUpKey marks the warm-up's context.
type warmUpKey struct{}

// errWarmedUp is how the warm-up's request ends. It is not retriable
// (azcore's retry policy gives up on an error with a NonRetriable method).
var errWarmedUp error = warmedUp{}

type warmedUp struct{}

func (warmedUp) Error() string { return "cosmos: warm-up done (request not sent)" }
func (warmedUp) NonRetriable() {}

// endWarmUp stops the warm-up's point read before it is sent. As a
// per-retry policy it runs after everything the warm-up is for: azcosmos
// puts its account-metadata read in a per-call policy and its token in a
// per-retry policy, both before the client's own per-retry policies
// (azcosmos v1.5.0 newClient; azcore runtime.NewPipeline), and the
// metadata read opened a connection in the shared transport. The account
// read itself also passes here (the SDK builds its pipeline from the same
// options) and carries the warm-up's context values, so only the item
// request is stopped.
type endWarmUp struct{}

func (endWarmUp) Do(req *policy.Request) (*http.Response, error) {
	if req.Raw().Context().Value(warmUpKey{}) != nil && strings.Contains(req.Raw().URL.Path, "/docs/") {
		return nil, errWarmedUp
	}
	return req.Next()
}

// waitWarm waits for a warm-up in progress, at most until ctx ends.
func (c *Cosmos) waitWarm(ctx context.Context) error {
	if c.warm == nil {
		return nil
	}
	select {
	case <-c.warm:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cosmos: waiting for the client's warm-up: %w", ctx.Err())
	}
}

// Create stores doc unless a document with its id exists. created is false
// when it existed: the first document is left as it was. A write the store
// answers with a transient status (retriableWrite) is tried again, with a
// short backoff, while ctx leaves time for it.
func (c *Cosmos) Create(ctx context.Context, doc document.Document) (created bool, err error) {
	if err := c.waitWarm(ctx); err != nil {
		return false, err
	}
	body, err := doc.Marshal()
	if err != nil {
		return false, fmt.Errorf("cosmos: encode document %s: %w", acr.Clip(doc.ID), err)
	}
	attempts := 0
	for {
		attempts++
		err = c.do(func(ctr *azcosmos.ContainerClient) error {
			_, err := ctr.CreateItem(ctx, azcosmos.NewPartitionKeyString(doc.ID), body, nil)
			return err
		})
		switch {
		case err == nil:
			return true, nil
		case StatusCode(err) == http.StatusConflict:
			// After a retry too: the attempt whose answer was lost, or
			// another delivery of the event, stored it.
			return false, nil
		}
		if !retriableWrite(StatusCode(err)) || attempts == maxWriteAttempts || !pause(ctx, writeBackoff(attempts, err)) {
			return false, &opError{op: "create", id: doc.ID, attempts: attempts, err: err}
		}
	}
}

// retriableWrite reports whether a create answered status may be tried
// again. Cosmos DB documents 408, 410, 429, 449 and 503 as errors to retry
// ("Should add retry: Yes", Design resilient applications with Azure Cosmos
// DB SDKs, learn.microsoft.com/azure/cosmos-db/nosql/
// conceptual-resilient-sdk-applications), and says that the SDKs do not
// retry a write that timed out or found the service unavailable, since a
// write is not idempotent. Of these, azcosmos v1.5.0 marks a write's 408
// and 503 non-retriable in an account with one write region
// (clientRetryPolicy: attemptRetryOnRequestTimeout,
// attemptRetryOnServiceUnavailable), so azcore's retry policy stops there;
// 410 and 449 are in neither's list. 429 azcore retries itself. A create
// keyed on the event id is safe to repeat: once the event is stored, a
// create answers 409, which Create reads as stored. 500 stays an error:
// the page says not to retry it.
func retriableWrite(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusGone, statusRetryWith, http.StatusServiceUnavailable:
		return true
	}
	return false
}

// statusRetryWith is Cosmos DB's 449: a write that met a concurrent one.
const statusRetryWith = 449

// maxWriteAttempts bounds the attempts of one create where its context has
// no deadline (acrsink replay); a request's deadline usually ends them
// first.
const maxWriteAttempts = 5

// writeBackoff is the wait before attempt+1: 50 ms doubled each time up to
// 800 ms, at random in its upper half so that writes that failed together
// do not come back together (the page advises a random backoff for 449),
// or what the store asked for in x-ms-retry-after-ms, up to a second.
func writeBackoff(attempt int, err error) time.Duration {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.RawResponse != nil {
		if ms, perr := strconv.Atoi(re.RawResponse.Header.Get("x-ms-retry-after-ms")); perr == nil && ms > 0 {
			return min(time.Duration(ms)*time.Millisecond, time.Second)
		}
	}
	d := min(50*time.Millisecond<<(attempt-1), 800*time.Millisecond)
	return d/2 + rand.N(d/2)
}

// pause waits d unless ctx ends first or would end before d is over,
// which leaves no time for another attempt; it reports whether it waited.
func pause(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// opError is a store call that failed, said in one line. azcore's own
// message is the whole answer over several lines, its body included, and
// the id may be as long as a delivery made it: neither belongs in a log
// line or a run's report. The status and Cosmos DB's error code are what
// an operator acts on. It wraps the SDK's error, for StatusCode and for
// errors.Is with a context's error.
type opError struct {
	op, id   string
	attempts int
	err      error
}

func (e *opError) Error() string {
	msg := "cosmos: " + e.op
	if e.id != "" {
		msg += " " + acr.Clip(e.id)
	}
	msg += ": " + describe(e.err)
	if e.attempts > 1 {
		msg += " (after " + strconv.Itoa(e.attempts) + " attempts)"
	}
	return msg
}

func (e *opError) Unwrap() error { return e.err }

// describe is the status and error code of an answer, or the first line
// of any other error, clipped.
func describe(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return acr.Clip(strings.TrimSpace(fmt.Sprintf("%d %s %s", re.StatusCode, http.StatusText(re.StatusCode), re.ErrorCode)))
	}
	line, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	return acr.Clip(line)
}

// Get reads one document by id; found is false when there is none.
func (c *Cosmos) Get(ctx context.Context, id string) (doc json.RawMessage, found bool, err error) {
	if err := c.waitWarm(ctx); err != nil {
		return nil, false, err
	}
	return c.get(ctx, id)
}

func (c *Cosmos) get(ctx context.Context, id string) (doc json.RawMessage, found bool, err error) {
	var resp azcosmos.ItemResponse
	err = c.do(func(ctr *azcosmos.ContainerClient) error {
		resp, err = ctr.ReadItem(ctx, azcosmos.NewPartitionKeyString(id), id, nil)
		return err
	})
	switch {
	case err == nil:
		return resp.Value, true, nil
	case StatusCode(err) == http.StatusNotFound:
		return nil, false, nil
	default:
		return nil, false, &opError{op: "read", id: id, attempts: 1, err: err}
	}
}

// Exists reports whether a document with id is stored: a point read, which
// costs less than a create the store would refuse.
func (c *Cosmos) Exists(ctx context.Context, id string) (bool, error) {
	_, found, err := c.Get(ctx, id)
	return found, err
}

// Query runs a Cosmos SQL query across partitions and calls fn with each
// result. Parameters are named with their @ (for example "@repo").
//
// Against Azure the SDK goes through the gateway, which serves filters and
// projections across partitions but not ORDER BY, TOP, aggregates or
// DISTINCT; Data Explorer has no such limit.
func (c *Cosmos) Query(ctx context.Context, sql string, params map[string]any, fn func(json.RawMessage) error) error {
	opts := &azcosmos.QueryOptions{}
	for name, v := range params {
		opts.QueryParameters = append(opts.QueryParameters, azcosmos.QueryParameter{Name: name, Value: v})
	}
	_, ctr := c.current()
	pager := ctr.NewQueryItemsPager(sql, azcosmos.NewPartitionKey(), opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return &opError{op: "query", attempts: 1, err: err}
		}
		for _, item := range page.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// Check reads the container's properties: the one read that fails, with
// the store's own status, where the account, the database or the container
// is not there or not readable. A point read of a document cannot tell: it
// answers "not found" for a missing container as for a missing document
// (and cosmium v0.1.20 answers a create in a missing container 500, where
// Azure answers 404).
func (c *Cosmos) Check(ctx context.Context) error {
	if err := c.waitWarm(ctx); err != nil {
		return err
	}
	err := c.do(func(ctr *azcosmos.ContainerClient) error {
		_, err := ctr.Read(ctx, nil)
		return err
	})
	if err != nil {
		return &opError{op: "read container " + c.database + "/" + c.name, attempts: 1, err: err}
	}
	return nil
}

// EnsureContainer creates the database and container when they are missing.
// Local runs use it; in Azure, infra/ creates them and the handler's
// identity is not allowed to.
func (c *Cosmos) EnsureContainer(ctx context.Context) error {
	client, _ := c.current()
	_, err := client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: c.database}, nil)
	if err != nil && StatusCode(err) != http.StatusConflict {
		return &opError{op: "create database " + c.database, attempts: 1, err: err}
	}
	db, err := client.NewDatabase(c.database)
	if err != nil {
		return fmt.Errorf("cosmos: database %s: %w", c.database, err)
	}
	_, err = db.CreateContainer(ctx, azcosmos.ContainerProperties{
		ID: c.name,
		PartitionKeyDefinition: azcosmos.PartitionKeyDefinition{
			Paths: []string{PartitionKeyPath},
		},
	}, nil)
	if err != nil && StatusCode(err) != http.StatusConflict {
		return &opError{op: "create container " + c.database + "/" + c.name, attempts: 1, err: err}
	}
	return nil
}

// StatusCode is the HTTP status of a Cosmos error, or 0 when the error did
// not come from an answer (a network failure, a deadline).
func StatusCode(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}
