package arm_test

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/config"
)

const (
	hookA = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/registry-rg/providers/Microsoft.ContainerRegistry/registries/myregistry/webhooks/acrsink"
	hookB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/registry-rg/providers/Microsoft.ContainerRegistry/registries/myregistry/webhooks/acrsinkeastus"
)

// settings loads the configuration from env and reads its Resource
// Manager part, as the commands do at start.
func settings(t *testing.T, kv ...string) (arm.Settings, error) {
	t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	cfg, err := config.Load(func(k string) string { return m[k] })
	if err != nil {
		t.Fatal(err)
	}
	return arm.ParseSettings(cfg.ReconcileWebhooks, cfg.ARMEndpoint)
}

func TestParseSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, s arm.Settings)
		// wantErr is the whole message a user sees at start: one line
		// that names the setting.
		wantErr string
	}{
		{"webhook ids are read into their parts", []string{"ACRSINK_RECONCILE_WEBHOOKS", hookA + " , " + hookB + ","}, func(t *testing.T, s arm.Settings) {
			if len(s.Webhooks) != 2 || s.Webhooks[0].Subscription != "00000000-0000-0000-0000-000000000001" ||
				s.Webhooks[0].ResourceGroup != "registry-rg" || s.Webhooks[0].Registry != "myregistry" ||
				s.Webhooks[0].Name != "acrsink" || s.Webhooks[1].Name != "acrsinkeastus" || s.Webhooks[0].ID != hookA {
				t.Errorf("%+v", s.Webhooks)
			}
		}, ""},
		{"no webhook ids turns the reconciler off", nil, func(t *testing.T, s arm.Settings) {
			if len(s.Webhooks) != 0 {
				t.Errorf("%+v", s.Webhooks)
			}
		}, ""},
		{"a registry's id where a webhook's belongs is an error naming the setting", []string{"ACRSINK_RECONCILE_WEBHOOKS", strings.TrimSuffix(hookA, "/webhooks/acrsink")},
			nil, `configuration: ACRSINK_RECONCILE_WEBHOOKS: "` + strings.TrimSuffix(hookA, "/webhooks/acrsink") + `" is not a webhook's resource id (/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<registry>/webhooks/<webhook>; az acr webhook show -r <registry> -n <webhook> --query id -o tsv prints it)`},
		{"a webhook name alone is an error naming the setting", []string{"ACRSINK_RECONCILE_WEBHOOKS", "acrsink"},
			nil, `configuration: ACRSINK_RECONCILE_WEBHOOKS: "acrsink" is not a webhook's resource id (/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<registry>/webhooks/<webhook>; az acr webhook show -r <registry> -n <webhook> --query id -o tsv prints it)`},
		{"another provider's id is an error naming the setting", []string{"ACRSINK_RECONCILE_WEBHOOKS", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app/webhooks/w"},
			nil, `configuration: ACRSINK_RECONCILE_WEBHOOKS: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app/webhooks/w" is not a webhook's resource id (/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<registry>/webhooks/<webhook>; az acr webhook show -r <registry> -n <webhook> --query id -o tsv prints it)`},
		{"the public cloud's Resource Manager by default", nil, func(t *testing.T, s arm.Settings) {
			if got := s.Cloud.Services[cloud.ResourceManager]; got.Endpoint != cloud.AzurePublic.Services[cloud.ResourceManager].Endpoint || got.Audience != cloud.AzurePublic.Services[cloud.ResourceManager].Audience {
				t.Errorf("%+v", got)
			}
			if s.Cloud.ActiveDirectoryAuthorityHost != cloud.AzurePublic.ActiveDirectoryAuthorityHost {
				t.Errorf("authority %q", s.Cloud.ActiveDirectoryAuthorityHost)
			}
		}, ""},
		{"a sovereign cloud's endpoint brings its audience and its authority", []string{"ACRSINK_ARM_ENDPOINT", "https://management.chinacloudapi.cn/"}, func(t *testing.T, s arm.Settings) {
			if got := s.Cloud.Services[cloud.ResourceManager]; got.Audience != cloud.AzureChina.Services[cloud.ResourceManager].Audience {
				t.Errorf("%+v", got)
			}
			if s.Cloud.ActiveDirectoryAuthorityHost != cloud.AzureChina.ActiveDirectoryAuthorityHost {
				t.Errorf("authority %q, want China's: the one credential signs in there", s.Cloud.ActiveDirectoryAuthorityHost)
			}
		}, ""},
		{"any other endpoint is its own audience", []string{"ACRSINK_ARM_ENDPOINT", "https://127.0.0.1:8443"}, func(t *testing.T, s arm.Settings) {
			if got := s.Cloud.Services[cloud.ResourceManager]; got.Endpoint != "https://127.0.0.1:8443" || got.Audience != "https://127.0.0.1:8443" {
				t.Errorf("%+v", got)
			}
		}, ""},
		{"a plain-HTTP endpoint is an error naming the setting", []string{"ACRSINK_ARM_ENDPOINT", "http://127.0.0.1:8080"},
			nil, `configuration: ACRSINK_ARM_ENDPOINT: "http://127.0.0.1:8080" is not an https URL of Resource Manager (such as https://management.azure.com)`},
		{"both wrong says both, a line each", []string{"ACRSINK_ARM_ENDPOINT", "http://x", "ACRSINK_RECONCILE_WEBHOOKS", "acrsink"},
			nil, "configuration: ACRSINK_RECONCILE_WEBHOOKS: \"acrsink\" is not a webhook's resource id (/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<registry>/webhooks/<webhook>; az acr webhook show -r <registry> -n <webhook> --query id -o tsv prints it)\n" +
				`ACRSINK_ARM_ENDPOINT: "http://x" is not an https URL of Resource Manager (such as https://management.azure.com)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := settings(t, tt.env...)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v\nwant  %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

// config holds the default as a literal so as not to import this package.
func TestTheARMSettingsDefaultIsDefaultEndpoint(t *testing.T) {
	t.Parallel()
	for _, s := range config.Settings {
		if s.Name == "ACRSINK_ARM_ENDPOINT" && s.Default != arm.DefaultEndpoint {
			t.Errorf("ACRSINK_ARM_ENDPOINT defaults to %q, want arm.DefaultEndpoint %q", s.Default, arm.DefaultEndpoint)
		}
	}
	if config.DefaultARMEndpoint != arm.DefaultEndpoint {
		t.Errorf("config.DefaultARMEndpoint = %q, want %q", config.DefaultARMEndpoint, arm.DefaultEndpoint)
	}
}
