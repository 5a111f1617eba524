// Package config is the one list of settings acrsink reads from its
// environment, and the typed view of them.
//
// The list is the contract between the code, local.settings.sample.json,
// docs/settings.md (generated from it: go generate ./docs) and the app
// settings that infra/ sets in Azure: tests compare them, so a setting
// added here and forgotten elsewhere fails the build.
package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Where a setting is expected to be set.
const (
	// Azure settings are set by infra/ as app settings of the function app.
	Azure = "azure"
	// Local settings are for local and standalone runs only; infra/ must not
	// set them (a connection string in Azure is the thing this avoids).
	Local = "local"
	// Host settings are set by the Functions host itself, never by us.
	Host = "host"
)

// Setting describes one environment variable.
type Setting struct {
	Name    string
	Where   string // Azure, Local or Host
	Default string
	Secret  bool
	Doc     string
}

// Settings lists every environment variable the app reads: the handler,
// or the Functions host through a binding expression in a function.json.
var Settings = []Setting{
	{Name: "FUNCTIONS_CUSTOMHANDLER_PORT", Where: Host, Doc: "Port the Functions host tells the handler to listen on (127.0.0.1)."},
	{Name: "FUNCTIONS_HTTPWORKER_PORT", Where: Host, Doc: "Older hosts' name for FUNCTIONS_CUSTOMHANDLER_PORT."},
	{Name: "PORT", Where: Local, Default: "8080", Doc: "Port for standalone runs when no host port is given (or the handler's -port flag)."},
	{Name: "ACRSINK_FUNCTION_KEYS", Where: Azure, Secret: true, Doc: "Comma-separated function keys the handler accepts (x-functions-key header or code query). Two keys during a rotation. With none, the handler refuses to start (unless ACRSINK_INSECURE_NO_AUTH is true)."},
	{Name: "ACRSINK_INSECURE_NO_AUTH", Where: Local, Default: "false", Doc: "Set to true to run with no key check at all (local experiments only; logged as a warning)."},
	{Name: "ACRSINK_REQUEST_TIMEOUT", Where: Local, Default: "4s", Doc: "Budget for one webhook request, store included; ACR gives up after 5s (Event Grid deliveries have their own, longer budget)."},
	{Name: "COSMOS_CONNECTION_STRING", Where: Local, Secret: true, Doc: "Cosmos DB connection string (account key). Default: the local emulator. Not used in Azure."},
	{Name: "COSMOS_ENDPOINT", Where: Azure, Doc: "Cosmos DB account endpoint, reached with Microsoft Entra ID: managed identity in Azure, DefaultAzureCredential elsewhere. Set this or COSMOS_CONNECTION_STRING, not both."},
	{Name: "COSMOS_DATABASE", Where: Azure, Default: "acr", Doc: "Cosmos DB database name."},
	{Name: "COSMOS_CONTAINER", Where: Azure, Default: "pushes", Doc: "Cosmos DB container name (partition key /id). The handler never creates it in Azure (infra/ does); acrsink dev does locally."},
	{Name: "AZURE_CLIENT_ID", Where: Local, Doc: "Client id of a user-assigned managed identity; unset means the system-assigned one."},
	{Name: "ACRSINK_LOG_LEVEL", Where: Local, Default: "info", Doc: "debug, info, warn or error."},
	{Name: "ACRSINK_RECONCILE_WEBHOOKS", Where: Azure, Doc: "Resource ids of the webhooks whose delivery history the reconciler reads, comma-separated; empty turns it off. infra/ sets it to the webhooks it makes; a malformed id stops the handler at start, naming this setting."},
	{Name: "ACRSINK_RECONCILE_SCHEDULE", Where: Azure, Default: "0 */10 * * * *", Doc: "When the reconciler runs: an NCRONTAB expression the Functions host reads from reconcile/function.json (%ACRSINK_RECONCILE_SCHEDULE%); it must be set, or the host does not load the function. The default is every 10 minutes. The handler never reads it."},
	{Name: "ACRSINK_WEBHOOK_ACTIONS", Where: Azure, Default: "push,delete,quarantine,chart_push,chart_delete", Doc: "The actions the deployment gave its webhooks, comma-separated: the reconciler reports a webhook that lacks one as drift. infra/ sets it from its webhookActions parameter. An action ACR does not have stops the handler at start."},
	{Name: "ACRSINK_WEBHOOK_SCOPE", Where: Azure, Doc: "The scope the deployment gave its webhooks (repo:tag, repo:*), empty for the whole registry: the reconciler reports a webhook with another scope as drift. infra/ sets it from its webhookScope parameter (azd env set ACRSINK_WEBHOOK_SCOPE)."},
	{Name: "ACRSINK_WATCH", Where: Azure, Doc: "Watched deletes and quarantines: comma-separated repository-glob[:tag-glob] patterns, * matching any run of characters, / included (prod/*, *:release-*). A delete, quarantine or chart_delete that matches is stored marked \"watched\": true and logged once as \"watched event\", which an alert reads; a push never is. The handler (all three doors) and acrsink replay read it. A pattern with a tag never matches a delete, which ACR sends without one. Empty watches nothing; a bad pattern stops the handler at start, naming it. infra/ sets it from its watch parameter (azd env set ACRSINK_WATCH)."},
	{Name: "GOGC", Where: Local, Doc: "Go's garbage collector target, read by the Go runtime; unset means the handler's own policy, 800 (internal/gcpolicy). Also an app setting in Azure, to override."},
	{Name: "GOMEMLIMIT", Where: Azure, Doc: "Go's soft memory limit, read by the Go runtime; infra/ sets a quarter of the instance memory (512MiB at the default 2048 MB), the rest being the Functions host's and the platform's. Unset: no limit."},
	{Name: "ACRSINK_ARM_ENDPOINT", Where: Azure, Default: DefaultARMEndpoint, Doc: "Azure Resource Manager endpoint for the webhooks' history (its cloud's; infra/ sets environment().resourceManager). The token audience follows it: the cloud's own for Azure public, China and US Government, the endpoint itself otherwise. Its cloud is also that of the one credential the store and Resource Manager share: the Microsoft Entra authority that a service principal or workload identity signs in with (az login keeps its own cloud; a managed identity needs none). Must be https."},
}

// DefaultARMEndpoint is Resource Manager in Azure's public cloud, the
// default of ACRSINK_ARM_ENDPOINT. The same value as arm.DefaultEndpoint
// (a test holds them equal), written here so that config need not import
// the ARM client.
const DefaultARMEndpoint = "https://management.azure.com"

// EmulatorConnectionString is the well-known, public key of the Cosmos DB
// emulator on its default port, used when no Cosmos setting is given.
const EmulatorConnectionString = "AccountEndpoint=http://127.0.0.1:8081/;AccountKey=C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==;"

// Config is the typed view of Settings.
type Config struct {
	Port             string
	Keys             []string
	InsecureNoAuth   bool
	RequestTimeout   time.Duration
	CosmosConnection string // connection string; empty when Endpoint is used
	CosmosEndpoint   string
	CosmosDatabase   string
	CosmosContainer  string
	AzureClientID    string
	LogLevel         string
	// ReconcileWebhooks are the resource ids in ACRSINK_RECONCILE_WEBHOOKS,
	// trimmed, as given: arm.ParseSettings reads them.
	ReconcileWebhooks []string
	// ARMEndpoint is ACRSINK_ARM_ENDPOINT as given: arm.ParseSettings reads
	// its cloud.
	ARMEndpoint string
	// WebhookActions and WebhookScope are ACRSINK_WEBHOOK_ACTIONS and
	// ACRSINK_WEBHOOK_SCOPE: what the reconciler holds each webhook to
	// (reconcile.NewExpected checks them).
	WebhookActions []string
	WebhookScope   string
	// Watch is ACRSINK_WATCH as given: watch.Parse reads it.
	Watch string
}

// UsesEmulatorDefault reports whether no Cosmos account was configured and
// the emulator default is in use.
func (c Config) UsesEmulatorDefault() bool {
	return c.CosmosEndpoint == "" && c.CosmosConnection == EmulatorConnectionString
}

// Load reads the settings through getenv. It reports every problem at once.
// Errors name settings, never their values: values may be secrets.
func Load(getenv func(string) string) (Config, error) {
	get := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, s := range Settings {
			if s.Name == name {
				return s.Default
			}
		}
		return ""
	}
	var errs []error
	c := Config{
		Port:             firstNonEmpty(get("FUNCTIONS_CUSTOMHANDLER_PORT"), get("FUNCTIONS_HTTPWORKER_PORT"), get("PORT")),
		CosmosConnection: get("COSMOS_CONNECTION_STRING"),
		CosmosEndpoint:   get("COSMOS_ENDPOINT"),
		CosmosDatabase:   get("COSMOS_DATABASE"),
		CosmosContainer:  get("COSMOS_CONTAINER"),
		AzureClientID:    get("AZURE_CLIENT_ID"),
		LogLevel:         strings.ToLower(get("ACRSINK_LOG_LEVEL")),
		ARMEndpoint:      get("ACRSINK_ARM_ENDPOINT"),
		Watch:            get("ACRSINK_WATCH"),
		WebhookScope:     get("ACRSINK_WEBHOOK_SCOPE"),
	}
	c.Keys = list(get("ACRSINK_FUNCTION_KEYS"))
	c.ReconcileWebhooks = list(get("ACRSINK_RECONCILE_WEBHOOKS"))
	c.WebhookActions = list(get("ACRSINK_WEBHOOK_ACTIONS"))
	var err error
	if c.InsecureNoAuth, err = strconv.ParseBool(get("ACRSINK_INSECURE_NO_AUTH")); err != nil {
		errs = append(errs, errors.New("ACRSINK_INSECURE_NO_AUTH: want true or false"))
	}
	if c.RequestTimeout, err = time.ParseDuration(get("ACRSINK_REQUEST_TIMEOUT")); err != nil || c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("ACRSINK_REQUEST_TIMEOUT: want a positive duration such as 4s"))
	}
	if p, err := strconv.Atoi(c.Port); err != nil || p < 0 || p > 65535 {
		errs = append(errs, errors.New("FUNCTIONS_CUSTOMHANDLER_PORT/PORT: want a port number"))
	}
	switch {
	case c.CosmosConnection != "" && c.CosmosEndpoint != "":
		errs = append(errs, errors.New("set COSMOS_CONNECTION_STRING or COSMOS_ENDPOINT, not both"))
	case c.CosmosConnection == "" && c.CosmosEndpoint == "":
		c.CosmosConnection = EmulatorConnectionString
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("ACRSINK_LOG_LEVEL: want debug, info, warn or error"))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// CheckAuth refuses a server configuration that would accept anyone by
// accident: no key and no explicit opt-out.
func (c Config) CheckAuth() error {
	if len(c.Keys) == 0 && !c.InsecureNoAuth {
		return errors.New("no function key: set ACRSINK_FUNCTION_KEYS (or ACRSINK_INSECURE_NO_AUTH=true to run unauthenticated)")
	}
	return nil
}

// list is a comma-separated value's items, trimmed, the empty ones left out.
func list(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
