// Package store keeps documents in a Cosmos DB for NoSQL container through
// azcosmos. Writes are create-only, keyed on the event id, so storing the
// same event twice (a redelivery, a replay, the same event by webhook and by
// Event Grid) leaves the first document as it was.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/identity"
)

// PartitionKeyPath is the container's partition key: the event id, so that
// every create is a point write and ids are unique across the container.
const PartitionKeyPath = "/id"

// Cosmos is a container in a Cosmos DB account.
type Cosmos struct {
	client    *azcosmos.Client
	container *azcosmos.ContainerClient
	database  string
	name      string
}

// Options tune the client; the zero value is right for production.
type Options struct {
	// Transport replaces the HTTP client (tests put a fault injector here).
	Transport policy.Transporter
}

// Open makes a client for the configured account. It does no I/O: the SDK
// connects on first use, which keeps the handler's cold start short.
func Open(cfg config.Config, opts Options) (*Cosmos, error) {
	co := &azcosmos.ClientOptions{}
	co.Retry = policy.RetryOptions{
		// Throttling and transient errors are retried inside the request's
		// budget; the context deadline bounds the whole.
		MaxRetries:    3,
		RetryDelay:    100 * time.Millisecond,
		MaxRetryDelay: time.Second,
	}
	if opts.Transport != nil {
		co.Transport = opts.Transport
	}
	var (
		client *azcosmos.Client
		err    error
	)
	switch {
	case cfg.CosmosEndpoint != "":
		var cred azcore.TokenCredential
		if cred, err = identity.Credential(cfg.AzureClientID, cloud.AzurePublic); err != nil {
			return nil, fmt.Errorf("cosmos: credential for COSMOS_ENDPOINT: %w", err)
		}
		if client, err = azcosmos.NewClient(cfg.CosmosEndpoint, cred, co); err != nil {
			return nil, fmt.Errorf("cosmos: COSMOS_ENDPOINT: %w", err)
		}
	default:
		if client, err = azcosmos.NewClientFromConnectionString(cfg.CosmosConnection, co); err != nil {
			// The SDK's parse errors can quote the connection string, key
			// included: say what, not the value.
			return nil, errors.New("cosmos: COSMOS_CONNECTION_STRING is not a connection string (AccountEndpoint=...;AccountKey=...;)")
		}
	}
	c, err := client.NewContainer(cfg.CosmosDatabase, cfg.CosmosContainer)
	if err != nil {
		return nil, fmt.Errorf("cosmos: container %s/%s: %w", cfg.CosmosDatabase, cfg.CosmosContainer, err)
	}
	return &Cosmos{client: client, container: c, database: cfg.CosmosDatabase, name: cfg.CosmosContainer}, nil
}

// Create stores doc unless a document with its id exists. created is false
// when it existed: the first document is left as it was.
func (c *Cosmos) Create(ctx context.Context, doc document.Document) (created bool, err error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return false, fmt.Errorf("cosmos: encode document %s: %w", doc.ID, err)
	}
	_, err = c.container.CreateItem(ctx, azcosmos.NewPartitionKeyString(doc.ID), body, nil)
	switch {
	case err == nil:
		return true, nil
	case StatusCode(err) == http.StatusConflict:
		return false, nil
	default:
		return false, fmt.Errorf("cosmos: create %s: %w", doc.ID, err)
	}
}

// Get reads one document by id; found is false when there is none.
func (c *Cosmos) Get(ctx context.Context, id string) (doc json.RawMessage, found bool, err error) {
	resp, err := c.container.ReadItem(ctx, azcosmos.NewPartitionKeyString(id), id, nil)
	switch {
	case err == nil:
		return resp.Value, true, nil
	case StatusCode(err) == http.StatusNotFound:
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("cosmos: read %s: %w", id, err)
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
	pager := c.container.NewQueryItemsPager(sql, azcosmos.NewPartitionKey(), opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("cosmos: query: %w", err)
		}
		for _, item := range page.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// EnsureContainer creates the database and container when they are missing.
// Local runs use it; in Azure, infra/ creates them and the handler's
// identity is not allowed to.
func (c *Cosmos) EnsureContainer(ctx context.Context) error {
	_, err := c.client.CreateDatabase(ctx, azcosmos.DatabaseProperties{ID: c.database}, nil)
	if err != nil && StatusCode(err) != http.StatusConflict {
		return fmt.Errorf("cosmos: create database %s: %w", c.database, err)
	}
	db, err := c.client.NewDatabase(c.database)
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
		return fmt.Errorf("cosmos: create container %s: %w", c.name, err)
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
