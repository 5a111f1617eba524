// Package identity picks the Microsoft Entra ID credential acrsink reaches
// Azure with (Cosmos DB, Resource Manager): the managed identity where the
// platform offers one, DefaultAzureCredential on a workstation. A command
// makes one and hands it to both clients.
package identity

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Credential is managed identity where the platform offers one (App
// Service and Functions set IDENTITY_ENDPOINT and IDENTITY_HEADER), so a
// cold start does not walk DefaultAzureCredential's chain; elsewhere
// DefaultAzureCredential (Azure CLI, environment, workload identity) serves
// people at a workstation. getenv is the command's environment, which
// chooses between them; clientID names a user-assigned identity ("" for
// the system-assigned one).
//
// c is the cloud whose Microsoft Entra authority signs tokens. What it
// changes in azidentity v1.15.0 is the authority host of the credentials
// that ask Entra ID themselves: DefaultAzureCredential passes its
// ClientOptions to EnvironmentCredential and WorkloadIdentityCredential,
// whose confidential client takes the host from
// Cloud.ActiveDirectoryAuthorityHost (setAuthorityHost, azidentity.go;
// confidential_client.go). A managed identity asks the platform's local
// endpoint, not an authority, and the Azure CLI signs in to the cloud az
// is set to; neither reads it. A token's audience is the client's to ask
// (Resource Manager's from c, Cosmos DB's from the account endpoint), so
// one credential serves both.
//
// The SDK reads the managed identity endpoint itself, from the process's
// environment (MSAL's managedidentity.GetSource, microsoft-authentication-
// library-for-go v1.10.1): getenv chooses the credential, and where it
// chooses the managed identity, the process's IDENTITY_ENDPOINT is the one
// the credential reaches. In Azure the two are the same environment.
func Credential(getenv func(string) string, clientID string, c cloud.Configuration) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{Cloud: c}
	if getenv("IDENTITY_ENDPOINT") != "" {
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if clientID != "" {
			o.ID = azidentity.ClientID(clientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	}
	return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts})
}
