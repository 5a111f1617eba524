package main

import (
	"fmt"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/identity"
)

// armOptions tune the Resource Manager client (tests trust a stand-in's
// certificate here).
var armOptions arm.Options

// openARM is Resource Manager at ACRSINK_ARM_ENDPOINT (Azure's public cloud
// by default) with your own sign-in: DefaultAzureCredential, so az login
// is enough.
func openARM(cfg config.Config) (*arm.Client, error) {
	cred, err := identity.Credential(cfg.AzureClientID, cfg.ARM)
	if err != nil {
		return nil, fmt.Errorf("no credential for Resource Manager (%v); run az login", err)
	}
	return arm.New(cfg.ARM, cred, armOptions), nil
}
