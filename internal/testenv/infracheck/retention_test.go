package infracheck_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

var (
	cosmosBicep    = filepath.Join(root, "infra", "modules", "cosmos.bicep")
	mainParameters = filepath.Join(root, "infra", "main.parameters.json")
)

func retentionProblems(t *testing.T, main, cosmos, params string) []string {
	t.Helper()
	data, err := os.ReadFile(params)
	if err != nil {
		t.Fatal(err)
	}
	files := parse(t, main, cosmos)
	return infracheck.RetentionProblems(files[0], files[1], data)
}

func TestTheRetentionParameterReachesTheContainersTTLInSecondsAndDefaultsToForever(t *testing.T) {
	t.Parallel()
	for _, p := range retentionProblems(t, mainBicep, cosmosBicep, mainParameters) {
		t.Error(p)
	}
}

func TestTheRetentionCheckFailsWhenTheWiringBreaks(t *testing.T) {
	t.Parallel()
	const ttl = "defaultTtl: retentionDays == 0 ? -1 : retentionDays * 86400"
	tests := []struct{ name, file, old, new, want string }{
		{"days taken as seconds", "modules/cosmos.bicep", ttl, "defaultTtl: retentionDays == 0 ? -1 : retentionDays", "is 1 for retentionDays=1, want 86400"},
		{"0 as a TTL of zero", "modules/cosmos.bicep", ttl, "defaultTtl: retentionDays * 86400", "is 0 for retentionDays=0, want -1"},
		{"no defaultTtl", "modules/cosmos.bicep", ttl + "\n", "", "no defaultTtl"},
		{"a retention by default", "main.bicep", "param retentionDays int = 0", "param retentionDays int = 30", "want int = 0"},
		{"a maximum past Cosmos DB's largest TTL", "main.bicep", "@maxValue(24855)\nparam retentionDays", "@maxValue(36500)\nparam retentionDays", "@maxValue 36500"},
		{"not passed to the module", "main.bicep", "    retentionDays: retentionDays\n", "", "not passed retentionDays"},
		{"not settable with azd env set", "main.parameters.json", "${ACRSINK_RETENTION_DAYS=0}", "0", "want ${ACRSINK_RETENTION_DAYS=...}"},
		{"azd's default a retention", "main.parameters.json", "${ACRSINK_RETENTION_DAYS=0}", "${ACRSINK_RETENTION_DAYS=90}", `defaults to "90"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			main, cosmos, params := mainBicep, cosmosBicep, mainParameters
			broken := brokenCopy(t, tt.file, tt.old, tt.new)
			switch tt.file {
			case "main.bicep":
				main = broken
			case "main.parameters.json":
				params = broken
			default:
				cosmos = broken
			}
			problems := retentionProblems(t, main, cosmos, params)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}
