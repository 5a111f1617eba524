package infracheck_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

func TestInfraSetsNothingFlexConsumptionRefuses(t *testing.T) {
	t.Parallel()
	for _, p := range infracheck.FlexProblems(parse(t, bicepFiles(t)...)) {
		t.Error(p)
	}
}

const webConfig = `
resource web 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: app
  name: 'web'
  properties: {
    use32BitWorkerProcess: false
  }
}
`

const appSettingsConfig = `
resource settings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: app
  name: 'appsettings'
  properties: {
    FUNCTIONS_EXTENSION_VERSION: '~4'
  }
}
`

func TestTheFlexCheckFailsOnWhatThePlatformRefuses(t *testing.T) {
	t.Parallel()
	const tls = "      minTlsVersion: '1.2'\n"
	const setting = "name: 'COSMOS_CONTAINER'"
	const end = "output name string"
	tests := []struct{ name, old, new, want string }{
		{"ftpsState in siteConfig", tls, tls + "      ftpsState: 'Disabled'\n", "sets properties.siteConfig.ftpsState"},
		{"the property in ARM's own casing", tls, tls + "      FtpsState: 'Disabled'\n", "sets properties.siteConfig.FtpsState"},
		{"linuxFxVersion in siteConfig", tls, tls + "      linuxFxVersion: 'custom'\n", "sets properties.siteConfig.linuxFxVersion"},
		{"functionAppScaleLimit in siteConfig", tls, tls + "      functionAppScaleLimit: 40\n", "sets properties.siteConfig.functionAppScaleLimit"},
		{"alwaysOn on the site", "    httpsOnly: true\n", "    httpsOnly: true\n    alwaysOn: false\n", "sets properties.alwaysOn"},
		{"a refused property in a sites/config web child", end, webConfig + end, "config web of a Flex Consumption app sets properties.use32BitWorkerProcess"},
		{"FUNCTIONS_WORKER_RUNTIME", setting, "name: 'FUNCTIONS_WORKER_RUNTIME'", "the app setting FUNCTIONS_WORKER_RUNTIME"},
		{"WEBSITE_RUN_FROM_PACKAGE", setting, "name: 'WEBSITE_RUN_FROM_PACKAGE'", "the app setting WEBSITE_RUN_FROM_PACKAGE"},
		{"a refused setting in a sites/config appsettings child", end, appSettingsConfig + end, "the app setting FUNCTIONS_EXTENSION_VERSION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := infracheck.FlexProblems(parse(t, brokenCopy(t, "modules/functionapp.bicep", tt.old, tt.new)))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

func TestTheFlexCheckLeavesOtherPlansAlone(t *testing.T) {
	t.Parallel()
	// Without functionAppConfig the site is not a Flex Consumption app, and
	// alwaysOn is a setting like any other.
	src := "resource app 'Microsoft.Web/sites@2024-11-01' = {\n  name: 'x'\n  location: 'westeurope'\n  properties: {\n    siteConfig: {\n      alwaysOn: true\n    }\n  }\n}\n"
	if problems := infracheck.FlexProblems(parse(t, writeBicep(t, src))); len(problems) > 0 {
		t.Errorf("problems %q for a site that is not on Flex Consumption", problems)
	}
}
