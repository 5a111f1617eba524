package identity_test

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/acrsink/acrsink/internal/identity"
)

// The command's environment, not the process's, chooses the credential:
// a command run with a getenv of its own (tests, acrsink dev) gets the
// credential that environment calls for.
func TestTheGivenEnvironmentChoosesTheCredential(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		managed bool
	}{
		{"the platform's identity endpoint means its managed identity", map[string]string{"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": "h"}, true},
		{"a user-assigned identity is a managed identity too", map[string]string{"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": "h", "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000002"}, true},
		{"no identity endpoint means DefaultAzureCredential, for az login", map[string]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cred, err := identity.Credential(func(k string) string { return tt.env[k] }, tt.env["AZURE_CLIENT_ID"], cloud.AzureChina)
			if err != nil {
				t.Fatal(err)
			}
			switch cred.(type) {
			case *azidentity.ManagedIdentityCredential:
				if !tt.managed {
					t.Errorf("got the managed identity, want DefaultAzureCredential")
				}
			case *azidentity.DefaultAzureCredential:
				if tt.managed {
					t.Errorf("got DefaultAzureCredential, want the managed identity")
				}
			default:
				t.Errorf("got a %T", cred)
			}
		})
	}
}
