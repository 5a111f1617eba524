// Package identity picks the Microsoft Entra ID credential acrsink reaches
// Azure with (Cosmos DB, Resource Manager): the managed identity where the
// platform offers one, DefaultAzureCredential on a workstation.
package identity

import (
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Credential is managed identity where the platform offers one (App
// Service and Functions set IDENTITY_ENDPOINT and IDENTITY_HEADER), so a
// cold start does not walk DefaultAzureCredential's chain; elsewhere
// DefaultAzureCredential (Azure CLI, environment, workload identity) serves
// people at a workstation. clientID names a user-assigned identity ("" for
// the system-assigned one); c is the cloud whose authority signs tokens.
func Credential(clientID string, c cloud.Configuration) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{Cloud: c}
	if os.Getenv("IDENTITY_ENDPOINT") != "" {
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if clientID != "" {
			o.ID = azidentity.ClientID(clientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	}
	return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts})
}
