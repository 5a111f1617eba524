package main

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/identity"
	"github.com/acrsink/acrsink/internal/store"
)

// azure is what a subcommand reaches Azure with: the configuration, its
// Resource Manager part, and one credential for the configured cloud,
// shared by the store and Resource Manager and made when one of them first
// needs it.
type azure struct {
	cfg    config.Config
	arm    arm.Settings
	getenv func(string) string
	cred   azcore.TokenCredential
}

// loadAzure reads the settings through getenv; a bad one stops the run
// with the same one-line messages as the handler's.
func loadAzure(getenv func(string) string) (*azure, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	s, err := arm.ParseSettings(cfg.ReconcileWebhooks, cfg.ARMEndpoint)
	if err != nil {
		return nil, err
	}
	return &azure{cfg: cfg, arm: s, getenv: getenv}, nil
}

// credential is your own sign-in (DefaultAzureCredential, so az login is
// enough; a managed identity where the platform offers one), in
// ACRSINK_ARM_ENDPOINT's cloud (Azure's public cloud by default).
func (a *azure) credential() (azcore.TokenCredential, error) {
	if a.cred == nil {
		cred, err := identity.Credential(a.getenv, a.cfg.AzureClientID, a.arm.Cloud)
		if err != nil {
			return nil, fmt.Errorf("no credential for Azure (%v); run az login", err)
		}
		a.cred = cred
	}
	return a.cred, nil
}

// openStore is the configured container: with the credential where
// COSMOS_ENDPOINT names the account, with the connection string's key
// otherwise.
func (a *azure) openStore(opts store.Options) (*store.Cosmos, error) {
	acct := store.Account{
		Endpoint:         a.cfg.CosmosEndpoint,
		ConnectionString: a.cfg.CosmosConnection,
		Database:         a.cfg.CosmosDatabase,
		Container:        a.cfg.CosmosContainer,
	}
	if acct.Endpoint != "" {
		cred, err := a.credential()
		if err != nil {
			return nil, err
		}
		acct.Credential = cred
	}
	return store.Open(acct, opts)
}

// openARM is Resource Manager at ACRSINK_ARM_ENDPOINT with the credential.
// opts are env.arm.
func (a *azure) openARM(opts arm.Options) (*arm.Client, error) {
	cred, err := a.credential()
	if err != nil {
		return nil, err
	}
	return arm.New(a.arm.Cloud, cred, opts), nil
}
