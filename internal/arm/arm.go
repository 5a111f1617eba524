// Package arm talks to an ACR webhook through Azure Resource Manager: its
// delivery history (listEvents, every page), its configuration and its ping, with the
// armcontainerregistry SDK. The history comes back as internal/history
// deliveries, the same thing a file from az acr webhook list-events gives.
package arm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerregistry/armcontainerregistry/v3"

	"github.com/acrsink/acrsink/internal/history"
)

// DefaultEndpoint is Resource Manager in Azure's public cloud.
const DefaultEndpoint = "https://management.azure.com"

// webhookType is the resource type a webhook id must name.
const webhookType = "Microsoft.ContainerRegistry/registries/webhooks"

// Webhook is an ACR webhook, named by its resource id.
type Webhook struct {
	ID                                          string
	Subscription, ResourceGroup, Registry, Name string
}

func (w Webhook) String() string { return w.Registry + "/" + w.Name }

// ParseWebhook reads a webhook's resource id,
// /subscriptions/S/resourceGroups/G/providers/Microsoft.ContainerRegistry/registries/R/webhooks/W.
func ParseWebhook(id string) (Webhook, error) {
	id = strings.TrimSpace(id)
	const want = "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<registry>/webhooks/<webhook>"
	rid, err := azarm.ParseResourceID(id)
	if err != nil || !strings.EqualFold(rid.ResourceType.String(), webhookType) || rid.Parent == nil ||
		!strings.EqualFold(rid.Parent.ResourceType.String(), "Microsoft.ContainerRegistry/registries") ||
		rid.SubscriptionID == "" || rid.ResourceGroupName == "" || rid.Name == "" || rid.Parent.Name == "" ||
		!strings.EqualFold(rid.Parent.Parent.ResourceType.String(), "Microsoft.Resources/resourceGroups") {
		return Webhook{}, fmt.Errorf("%q is not a webhook's resource id (%s; az acr webhook show -r <registry> -n <webhook> --query id -o tsv prints it)", id, want)
	}
	return Webhook{ID: id, Subscription: rid.SubscriptionID, ResourceGroup: rid.ResourceGroupName, Registry: rid.Parent.Name, Name: rid.Name}, nil
}

// ParseWebhooks reads a comma-separated list of webhook ids; setting names
// where the list came from, for the error.
func ParseWebhooks(list, setting string) ([]Webhook, error) {
	return parseWebhooks(strings.Split(list, ","), setting)
}

func parseWebhooks(ids []string, setting string) ([]Webhook, error) {
	var out []Webhook
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			continue
		}
		w, err := ParseWebhook(id)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// Settings is the Resource Manager part of acrsink's configuration, read.
type Settings struct {
	// Webhooks are the webhooks the reconciler reads
	// (ACRSINK_RECONCILE_WEBHOOKS); none turns it off.
	Webhooks []Webhook
	// Cloud is ACRSINK_ARM_ENDPOINT's cloud (see Cloud): the Resource
	// Manager client's, and the one credential's authority.
	Cloud cloud.Configuration
}

// ParseSettings reads the values config.Load holds as given:
// ACRSINK_RECONCILE_WEBHOOKS's ids and ACRSINK_ARM_ENDPOINT. Its error
// says what is wrong with each, one line apiece naming the setting, as
// config.Load's does.
func ParseSettings(webhooks []string, endpoint string) (Settings, error) {
	var s Settings
	var errs []error
	var err error
	if s.Webhooks, err = parseWebhooks(webhooks, "ACRSINK_RECONCILE_WEBHOOKS"); err != nil {
		errs = append(errs, err)
	}
	if s.Cloud, err = Cloud(endpoint); err != nil {
		errs = append(errs, fmt.Errorf("ACRSINK_ARM_ENDPOINT: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("configuration: %w", err)
	}
	return s, nil
}

// Cloud is the cloud configuration for a Resource Manager endpoint: the
// SDK's own for the clouds it knows (so tokens have their audience), and
// for any other endpoint (a stand-in, Azure Stack) the endpoint itself as
// the token audience. Only https endpoints are taken: azcore sends no
// bearer token over plain HTTP.
func Cloud(endpoint string) (cloud.Configuration, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return cloud.Configuration{}, fmt.Errorf("%q is not an https URL of Resource Manager (such as %s)", endpoint, DefaultEndpoint)
	}
	norm := strings.TrimRight(strings.ToLower(u.String()), "/")
	for _, c := range []cloud.Configuration{cloud.AzurePublic, cloud.AzureGovernment, cloud.AzureChina} {
		if strings.TrimRight(strings.ToLower(c.Services[cloud.ResourceManager].Endpoint), "/") == norm {
			return c, nil
		}
	}
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: strings.TrimRight(u.String(), "/"), Audience: strings.TrimRight(u.String(), "/")},
		},
	}, nil
}

// Options tune a Client; the zero value is right for production.
type Options struct {
	// Transport replaces the HTTP client (tests trust a stand-in's
	// certificate with it).
	Transport policy.Transporter
	// Retry replaces the retry policy (tests shorten its delays).
	Retry *policy.RetryOptions
}

// MaxPages bounds the pages of one history that History reads, and so the
// time and memory one webhook's read takes.
const MaxPages = 100

// ErrMore is in History's error when the history has more than MaxPages
// pages: the deliveries History returns are every one on the pages it
// read, and the rest were not read. It is not a failure to read.
var ErrMore = errors.New("history longer than one read takes")

// Client reads webhooks through Resource Manager.
type Client struct {
	cred azcore.TokenCredential
	opts *azarm.ClientOptions

	mu      sync.Mutex
	clients map[string]*armcontainerregistry.WebhooksClient // by subscription
}

// New makes a client for Resource Manager at the cloud c (see Cloud). It
// does no I/O.
func New(c cloud.Configuration, cred azcore.TokenCredential, o Options) *Client {
	opts := &azarm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: c,
		// Throttling (429 with Retry-After) and 5xx are retried a few
		// times; the caller's context bounds the whole.
		Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: time.Second, MaxRetryDelay: 10 * time.Second},
	}}
	if o.Transport != nil {
		opts.Transport = o.Transport
	}
	if o.Retry != nil {
		opts.Retry = *o.Retry
	}
	return &Client{cred: cred, opts: opts, clients: map[string]*armcontainerregistry.WebhooksClient{}}
}

func (c *Client) webhooks(subscription string) (*armcontainerregistry.WebhooksClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wc, ok := c.clients[subscription]; ok {
		return wc, nil
	}
	wc, err := armcontainerregistry.NewWebhooksClient(subscription, c.cred, c.opts)
	if err != nil {
		return nil, err
	}
	c.clients[subscription] = wc
	return wc, nil
}

// History reads every page of w's delivery history, up to MaxPages (then
// its error wraps ErrMore). Each page's answer is
// read as it came (the SDK's typed model would drop what it does not know
// of an event), through history.ParsePage: the mapping az's output takes.
func (c *Client) History(ctx context.Context, w Webhook) ([]history.Delivery, error) {
	wc, err := c.webhooks(w.Subscription)
	if err != nil {
		return nil, err
	}
	pager := wc.NewListEventsPager(w.ResourceGroup, w.Registry, w.Name, nil)
	var out []history.Delivery
	for pages := 0; pager.More(); pages++ {
		if pages == MaxPages {
			return out, fmt.Errorf("%s: %w: read its first %d pages (%d deliveries), not the rest", w, ErrMore, MaxPages, len(out))
		}
		var raw *http.Response
		if _, err := pager.NextPage(policy.WithCaptureResponse(ctx, &raw)); err != nil {
			return out, fmt.Errorf("%s: %s", w, reason(err, "read this webhook's events", "listEvents/action"))
		}
		body, err := runtime.Payload(raw)
		if err != nil {
			return out, fmt.Errorf("%s: read page: %w", w, err)
		}
		ds, err := history.ParsePage(body, len(out))
		if err != nil {
			return out, fmt.Errorf("%s: %w", w, err)
		}
		out = append(out, ds...)
	}
	return out, nil
}

// Ping asks ACR to send w a ping and returns the id ARM answers with.
func (c *Client) Ping(ctx context.Context, w Webhook) (string, error) {
	wc, err := c.webhooks(w.Subscription)
	if err != nil {
		return "", err
	}
	resp, err := wc.Ping(ctx, w.ResourceGroup, w.Registry, w.Name, nil)
	if err != nil {
		return "", fmt.Errorf("%s: ping: %s", w, reason(err, "ping this webhook", "ping/action"))
	}
	if resp.ID == nil {
		return "", nil
	}
	return *resp.ID, nil
}

// Config is a webhook's configuration as Resource Manager reports it: the
// properties of a GET of the webhook (learn.microsoft.com/rest/api/
// containerregistry/webhooks/get; the example in azure-rest-api-specs,
// Microsoft.ContainerRegistry/stable/2023-07-01/examples/WebhookGet.json:
// properties.status, scope, actions, provisioningState). The service URI
// and custom headers are not in it: only getCallbackConfig returns them.
type Config struct {
	// Status is "enabled" or "disabled".
	Status string
	// Actions are the actions it posts (push, delete, quarantine,
	// chart_push, chart_delete).
	Actions []string
	// Scope is repo:tag, repo:* or repo; empty means the whole registry.
	Scope             string
	ProvisioningState string
}

// Config reads w's configuration (WebhooksClient.Get; the role needs
// Microsoft.ContainerRegistry/registries/webhooks/read).
func (c *Client) Config(ctx context.Context, w Webhook) (Config, error) {
	wc, err := c.webhooks(w.Subscription)
	if err != nil {
		return Config{}, err
	}
	resp, err := wc.Get(ctx, w.ResourceGroup, w.Registry, w.Name, nil)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %s", w, reason(err, "read this webhook's configuration", "read"))
	}
	var cfg Config
	p := resp.Properties
	if p == nil {
		return cfg, nil
	}
	if p.Status != nil {
		cfg.Status = string(*p.Status)
	}
	if p.Scope != nil {
		cfg.Scope = *p.Scope
	}
	if p.ProvisioningState != nil {
		cfg.ProvisioningState = string(*p.ProvisioningState)
	}
	for _, a := range p.Actions {
		if a != nil {
			cfg.Actions = append(cfg.Actions, string(*a))
		}
	}
	return cfg, nil
}

// reason says in a few words why a Resource Manager call failed, and what
// to do where that is clear: what was not allowed, and the webhook action
// the identity needs for it. It quotes ARM's error code, never a body.
func reason(err error, what, action string) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		if errors.Is(err, context.DeadlineExceeded) {
			return "Resource Manager did not answer in time"
		}
		var authErr *azidentity.AuthenticationFailedError
		if errors.As(err, &authErr) || strings.Contains(err.Error(), "Credential") {
			return "no token for Resource Manager (" + firstLine(err.Error()) + "); in Azure, check the app's managed identity; elsewhere, az login"
		}
		return firstLine(err.Error())
	}
	code := fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
	switch re.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return code + ": not allowed to " + what + "; the identity needs Microsoft.ContainerRegistry/registries/webhooks/" + action + " on it"
	case http.StatusNotFound:
		return code + ": no such webhook (or registry, or resource group)"
	case http.StatusTooManyRequests:
		return code + ": throttled by Resource Manager; the next run tries again"
	}
	return strings.TrimSpace(code) + ": Resource Manager failed"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
