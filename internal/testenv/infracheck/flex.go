package infracheck

import (
	"fmt"
	"strings"
)

// Sources of the Flex Consumption rules below.
const (
	// The Functions docs' table of site properties and app settings that
	// "are deprecated and shouldn't be used when creating function app
	// resources" in the Flex Consumption plan.
	flexDeprecations = "learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations"
	// ARM error 51021, "The following list of N site configuration
	// properties (...) for Flex Consumption sites is invalid", as real
	// deployments met it.
	rejectedQA       = "ARM error 51021 (Microsoft Q&A 2277522 and 2275500, quoted in Azure/terraform-azurerm-avm-res-web-site #360; microsoft/azure-pipelines-tasks #21032)"
	rejectedLinuxFx  = "ARM error 51021 (Azure/terraform-azurerm-avm-res-web-site #283)"
	rejectedScale    = "ARM error 51021 (Azure/azure-functions-host #10643)"
	rejectedAlwaysOn = "ARM error 51021 (Azure/terraform-azurerm-avm-res-web-site #345)"
)

// flexSiteProperties are the site properties a Flex Consumption app must
// not set, at properties or properties.siteConfig (the docs name some at
// one level that ARM takes at the other), compared without case: ARM's own
// error writes FtpsState for ftpsState.
var flexSiteProperties = map[string]string{
	"alwaysOn":                               rejectedAlwaysOn + "; " + flexDeprecations,
	"containerSize":                          flexDeprecations + " (renamed instanceMemoryMB)",
	"dnsConfiguration":                       flexDeprecations,
	"ftpsState":                              rejectedQA + "; " + flexDeprecations + " (FTPS not supported)",
	"functionAppScaleLimit":                  rejectedScale + "; " + flexDeprecations + " (renamed maximumInstanceCount)",
	"functionsRuntimeScaleMonitoringEnabled": rejectedQA,
	"isReserved":                             flexDeprecations,
	"isXenon":                                flexDeprecations,
	"javaVersion":                            flexDeprecations + " (functionAppConfig.runtime instead)",
	"linuxFxVersion":                         rejectedLinuxFx + "; " + flexDeprecations + " (functionAppConfig.runtime instead)",
	"netFrameworkVersion":                    rejectedQA + "; " + flexDeprecations,
	"powerShellVersion":                      flexDeprecations,
	"preWarmedInstanceCount":                 rejectedQA + "; " + flexDeprecations + " (renamed alwaysReadyInstances)",
	"use32BitWorkerProcess":                  rejectedQA + "; " + flexDeprecations + " (32-bit not supported)",
	"vnetBackupRestoreEnabled":               flexDeprecations,
	"vnetContentShareEnabled":                flexDeprecations,
	"vnetImagePullEnabled":                   flexDeprecations,
	"vnetRouteAllEnabled":                    flexDeprecations,
	"windowsFxVersion":                       flexDeprecations,
}

// flexAppSettings are the app settings the same docs table says a Flex
// Consumption app must not use: the runtime, scale and deployment live in
// functionAppConfig there.
var flexAppSettings = []string{
	"ENABLE_ORYX_BUILD",
	"FUNCTIONS_EXTENSION_VERSION",
	"FUNCTIONS_WORKER_RUNTIME",
	"FUNCTIONS_WORKER_RUNTIME_VERSION",
	"FUNCTIONS_MAX_HTTP_CONCURRENCY",
	"FUNCTIONS_WORKER_PROCESS_COUNT",
	"FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
	"SCM_DO_BUILD_DURING_DEPLOYMENT",
	"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
	"WEBSITE_CONTENTOVERVNET",
	"WEBSITE_CONTENTSHARE",
	"WEBSITE_DNS_SERVER",
	"WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
	"WEBSITE_NODE_DEFAULT_VERSION",
	"WEBSITE_RUN_FROM_PACKAGE",
	"WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
	"WEBSITE_VNET_ROUTE_ALL",
}

// FlexProblems finds what the Flex Consumption apps in files set that the
// platform refuses or has deprecated: site properties (on the site, in its
// siteConfig, or in a sites/config 'web' child) and app settings (in
// siteConfig.appSettings or a sites/config 'appsettings' child). A site is a
// Flex Consumption app when it has properties.functionAppConfig, which only
// that plan takes; a sites/config child is checked when the files hold one.
func FlexProblems(files []*File) []string {
	rs, problems := AllResources(files)
	var flex bool
	var configs []Resource
	for _, r := range rs {
		f := r.File
		switch strings.ToLower(r.Type) {
		case "microsoft.web/sites":
			if Lookup(f, r.Body, "properties", "functionAppConfig") == nil {
				continue
			}
			flex = true
			at := fmt.Sprintf("%s:%d: Flex Consumption app %s", f.Path, r.Row, r.Symbol)
			problems = append(problems, refusedProperties(at, "properties", f, Lookup(f, r.Body, "properties"))...)
			problems = append(problems, refusedProperties(at, "properties.siteConfig", f, Lookup(f, r.Body, "properties", "siteConfig"))...)
			problems = append(problems, refusedSettings(at, settingNames(f, Lookup(f, r.Body, "properties", "siteConfig", "appSettings")))...)
		case "microsoft.web/sites/config":
			configs = append(configs, r)
		}
	}
	if !flex {
		return problems
	}
	for _, r := range configs {
		f := r.File
		at := fmt.Sprintf("%s:%d: config %s of a Flex Consumption app", f.Path, r.Row, r.Symbol)
		props := Lookup(f, r.Body, "properties")
		switch name := strings.Trim(textOf(f, Lookup(f, r.Body, "name")), "'"); name {
		case "web":
			problems = append(problems, refusedProperties(at, "properties", f, props)...)
		case "appsettings":
			var names []string
			if props != nil && props.Type == "object" {
				for _, p := range Properties(f, props) {
					names = append(names, p.Key)
				}
			}
			problems = append(problems, refusedSettings(at, names)...)
		}
	}
	return problems
}

func refusedProperties(at, path string, f *File, obj *Node) []string {
	if obj == nil || obj.Type != "object" {
		return nil
	}
	var out []string
	for _, p := range Properties(f, obj) {
		for name, source := range flexSiteProperties {
			if strings.EqualFold(p.Key, name) {
				out = append(out, fmt.Sprintf("%s sets %s.%s, which Flex Consumption refuses: %s", at, path, p.Key, source))
			}
		}
	}
	return out
}

func refusedSettings(at string, names []string) []string {
	var out []string
	for _, n := range names {
		for _, refused := range flexAppSettings {
			if strings.EqualFold(n, refused) {
				out = append(out, fmt.Sprintf("%s sets the app setting %s, which Flex Consumption does not use: %s", at, n, flexDeprecations))
			}
		}
	}
	return out
}
