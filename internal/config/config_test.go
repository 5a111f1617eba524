package config_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/config"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// The ids' parts and their errors are arm.ParseSettings's
// (internal/arm/settings_test.go).
const (
	hookA = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/registry-rg/providers/Microsoft.ContainerRegistry/registries/myregistry/webhooks/acrsink"
	hookB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/registry-rg/providers/Microsoft.ContainerRegistry/registries/myregistry/webhooks/acrsinkeastus"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     func(string) string
		check   func(t *testing.T, c config.Config)
		wantErr string
	}{
		{"nothing set means the emulator, acr/pushes, 4s and port 8080", env(), func(t *testing.T, c config.Config) {
			if !c.UsesEmulatorDefault() || c.CosmosDatabase != "acr" || c.CosmosContainer != "pushes" || c.RequestTimeout != 4*time.Second || c.Port != "8080" {
				t.Errorf("%+v", c)
			}
		}, ""},
		{"the host's port wins over PORT", env("FUNCTIONS_CUSTOMHANDLER_PORT", "3000", "PORT", "9"), func(t *testing.T, c config.Config) {
			if c.Port != "3000" {
				t.Errorf("port %s", c.Port)
			}
		}, ""},
		{"the legacy host port is honoured", env("FUNCTIONS_HTTPWORKER_PORT", "3001"), func(t *testing.T, c config.Config) {
			if c.Port != "3001" {
				t.Errorf("port %s", c.Port)
			}
		}, ""},
		{"keys are split on commas and trimmed", env("ACRSINK_FUNCTION_KEYS", " a , b,,"), func(t *testing.T, c config.Config) {
			if !slices.Equal(c.Keys, []string{"a", "b"}) {
				t.Errorf("keys %q", c.Keys)
			}
		}, ""},
		{"an endpoint replaces the emulator default", env("COSMOS_ENDPOINT", "https://x.documents.azure.com:443/"), func(t *testing.T, c config.Config) {
			if c.UsesEmulatorDefault() || c.CosmosConnection != "" {
				t.Errorf("%+v", c)
			}
		}, ""},
		{"both a connection string and an endpoint is an error", env("COSMOS_ENDPOINT", "https://x/", "COSMOS_CONNECTION_STRING", "AccountEndpoint=https://x/;AccountKey=secretvalue;"), nil, "not both"},
		{"a bad timeout is an error", env("ACRSINK_REQUEST_TIMEOUT", "soon"), nil, "ACRSINK_REQUEST_TIMEOUT"},
		{"a bad port is an error", env("PORT", "http"), nil, "port"},
		{"a bad log level is an error", env("ACRSINK_LOG_LEVEL", "loud"), nil, "ACRSINK_LOG_LEVEL"},
		{"a bad opt-out is an error", env("ACRSINK_INSECURE_NO_AUTH", "maybe"), nil, "ACRSINK_INSECURE_NO_AUTH"},
		{"webhook ids are kept as given, split on commas and trimmed", env("ACRSINK_RECONCILE_WEBHOOKS", hookA+" , "+hookB+","), func(t *testing.T, c config.Config) {
			if !slices.Equal(c.ReconcileWebhooks, []string{hookA, hookB}) {
				t.Errorf("%q", c.ReconcileWebhooks)
			}
		}, ""},
		{"no webhook ids is none", env(), func(t *testing.T, c config.Config) {
			if len(c.ReconcileWebhooks) != 0 {
				t.Errorf("%q", c.ReconcileWebhooks)
			}
		}, ""},
		{"the public cloud's Resource Manager by default", env(), func(t *testing.T, c config.Config) {
			if c.ARMEndpoint != "https://management.azure.com" {
				t.Errorf("ARMEndpoint %q", c.ARMEndpoint)
			}
		}, ""},
		{"an ARM endpoint is kept as given", env("ACRSINK_ARM_ENDPOINT", " https://management.chinacloudapi.cn/ "), func(t *testing.T, c config.Config) {
			if c.ARMEndpoint != "https://management.chinacloudapi.cn/" {
				t.Errorf("ARMEndpoint %q", c.ARMEndpoint)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one about %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secretvalue") {
					t.Errorf("the error quotes a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestCheckAuthRefusesNoKeyUnlessOptedOut(t *testing.T) {
	c, _ := config.Load(env())
	if err := c.CheckAuth(); err == nil || !strings.Contains(err.Error(), "ACRSINK_FUNCTION_KEYS") {
		t.Errorf("no key: %v, want a refusal naming ACRSINK_FUNCTION_KEYS", err)
	}
	c, _ = config.Load(env("ACRSINK_INSECURE_NO_AUTH", "true"))
	if err := c.CheckAuth(); err != nil {
		t.Errorf("explicit opt-out: %v", err)
	}
	c, _ = config.Load(env("ACRSINK_FUNCTION_KEYS", "k"))
	if err := c.CheckAuth(); err != nil {
		t.Errorf("with a key: %v", err)
	}
}

// The sample settings file and the settings page must name every setting a user
// can set, and nothing else.
func TestTheSampleSettingsAndTheSettingsPageMatchTheSettingsList(t *testing.T) {
	data, err := os.ReadFile("../../local.settings.sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var sample struct{ Values map[string]string }
	if err := json.Unmarshal(data, &sample); err != nil {
		t.Fatal(err)
	}
	if sample.Values["FUNCTIONS_WORKER_RUNTIME"] != "custom" {
		t.Errorf("FUNCTIONS_WORKER_RUNTIME = %q, want custom", sample.Values["FUNCTIONS_WORKER_RUNTIME"])
	}
	readme, err := os.ReadFile("../../docs/settings.md")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"FUNCTIONS_WORKER_RUNTIME": true, "AzureWebJobsStorage": true}
	for _, s := range config.Settings {
		known[s.Name] = true
		if !strings.Contains(string(readme), "`"+s.Name+"`") {
			t.Errorf("docs/settings.md does not document %s", s.Name)
		}
		if _, ok := sample.Values[s.Name]; !ok && s.Where != config.Host && s.Name != "PORT" {
			t.Errorf("local.settings.sample.json lacks %s", s.Name)
		}
	}
	for name := range sample.Values {
		if !known[name] {
			t.Errorf("local.settings.sample.json sets %s, which nothing reads", name)
		}
	}
}
