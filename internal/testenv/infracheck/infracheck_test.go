package infracheck_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

const root = "../../.."

var (
	checkDir = filepath.Join(root, "infra", "check")
	// parser is this test binary's one run of parse.js: node and the grammar
	// take about half a second to start, once per parse before.
	parser = sync.OnceValues(func() (*infracheck.Parser, error) {
		if err := infracheck.EnsureNodeModules(checkDir); err != nil {
			return nil, err
		}
		parserStarted.Store(true)
		return infracheck.StartParser(checkDir)
	})
	parserStarted atomic.Bool
	// infraParsed is every Bicep file under infra/, parsed once, by absolute
	// path. The checks only read a File, so tests share these; a copy a
	// test changes is parsed on its own.
	infraParsed = sync.OnceValues(func() (map[string]*infracheck.File, error) {
		p, err := parser()
		if err != nil {
			return nil, err
		}
		files, err := infraBicepFiles()
		if err != nil {
			return nil, err
		}
		parsed, err := p.Parse(files...)
		if err != nil {
			return nil, err
		}
		byPath := map[string]*infracheck.File{}
		for _, f := range parsed {
			byPath[absPath(f.Path)] = f
		}
		return byPath, nil
	})
)

// stopParser ends parse.js once the tests are done (TestMain).
func stopParser() error {
	if !parserStarted.Load() {
		return nil
	}
	p, err := parser()
	if err != nil {
		return nil // reported by the tests that needed it
	}
	return p.Close()
}

func absPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}

// needNode is the parser; without node and npm the checks are skipped
// locally and fail in CI.
func needNode(t *testing.T) *infracheck.Parser {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is needed for the Bicep syntax check", tool)
			}
			t.Skipf("%s not installed: Bicep checks skipped", tool)
		}
	}
	p, err := parser()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func infraBicepFiles() ([]string, error) {
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "infra"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".bicep") {
			files = append(files, path)
		}
		return nil
	})
	if err == nil && len(files) == 0 {
		err = errors.New("none found")
	}
	return files, err
}

func bicepFiles(t *testing.T) []string {
	t.Helper()
	files, err := infraBicepFiles()
	if err != nil {
		t.Fatalf("no .bicep files under infra/ (%v)", err)
	}
	return files
}

// parse is files parsed: infra/'s own from infraParsed, any other (a
// changed copy) by the parser, all of those in one request.
func parse(t *testing.T, files ...string) []*infracheck.File {
	t.Helper()
	p := needNode(t)
	cached, err := infraParsed()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*infracheck.File, len(files))
	var others []string
	for i, f := range files {
		if out[i] = cached[absPath(f)]; out[i] == nil {
			others = append(others, f)
		}
	}
	if len(others) == 0 {
		return out
	}
	parsed, err := p.Parse(others...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if out[i] == nil {
			out[i], parsed = parsed[0], parsed[1:]
		}
	}
	return out
}

// brokenCopy writes a copy of infra file rel with old replaced by new.
func brokenCopy(t *testing.T, rel, old, new string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "infra", rel))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(rel))
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	return abs
}

func TestEveryBicepFileParses(t *testing.T) {
	t.Parallel()
	for _, f := range parse(t, bicepFiles(t)...) {
		for _, e := range f.Errors {
			t.Errorf("%s:%d:%d: %s", f.Path, e.Row, e.Column, e.Kind)
		}
	}
}

// The checks of infra/'s own files read one shared parse (infraParsed): it
// must be of those files as they are, and a changed copy, asked for with
// them in any order, must be parsed itself.
func TestTheSharedParseIsOfTheFilesOnDiskAndACopyIsParsedItself(t *testing.T) {
	t.Parallel()
	files := bicepFiles(t)
	shared := parse(t, files...)
	fresh, err := needNode(t).Parse(files...)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range shared {
		if f.Path != files[i] || f.Text(f.Root) != fresh[i].Text(fresh[i].Root) ||
			!reflect.DeepEqual(f.Root, fresh[i].Root) || !reflect.DeepEqual(f.Errors, fresh[i].Errors) {
			t.Errorf("the shared parse of %s is not a parse of %s", f.Path, files[i])
		}
	}
	broken := brokenCopy(t, "main.bicep", "targetScope = 'resourceGroup'", "targetScope = = 'resourceGroup'")
	got := parse(t, mainBicep, broken, webhookBicep)
	if got[0] != parse(t, mainBicep)[0] || got[2] != parse(t, webhookBicep)[0] {
		t.Error("infra/'s files asked for with a copy were not the shared parse")
	}
	if got[1].Path != broken || len(got[1].Errors) == 0 {
		t.Errorf("the broken copy of main.bicep came back as %s with errors %v", got[1].Path, got[1].Errors)
	}
}

func TestTheSyntaxCheckFailsOnABrokenFile(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, file, old, new string }{
		{"an unclosed object", "modules/storage.bicep", "  sku: {\n    name: 'Standard_LRS'\n  }", "  sku: {\n    name: 'Standard_LRS'\n"},
		{"a missing = in a resource", "modules/webhook.bicep", "@2025-04-01' existing = {", "@2025-04-01' existing {"},
		{"a stray token", "main.bicep", "targetScope = 'resourceGroup'", "targetScope = = 'resourceGroup'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := parse(t, brokenCopy(t, tt.file, tt.old, tt.new))[0]
			if len(f.Errors) == 0 {
				t.Error("no syntax error found")
			}
		})
	}
}

func schemas(t *testing.T) *infracheck.Schemas {
	t.Helper()
	dir := os.Getenv("ACRSINK_ARM_SCHEMAS")
	if dir == "" {
		dir = filepath.Join(checkDir, "arm-schemas")
	}
	s, err := infracheck.LoadSchemas(dir)
	if err != nil {
		t.Fatalf("ARM schemas (infra/check/arm-schemas, or $ACRSINK_ARM_SCHEMAS): %v", err)
	}
	return s
}

// unschematized are resource types with no published schema, checked by
// hand.
var unschematized = map[string]string{
	"microsoft.web/sites/host/functionkeys": "no published schema (REFERENCE.md §5)",
	// Not in the schema subset copied into infra/check/arm-schemas (nor in
	// shared/); property names follow the REST API reference
	// (learn.microsoft.com/rest/api/monitor/scheduled-query-rules and
	// action-groups). TestTheAlertWatchesWhatTheCodeLogs checks the query.
	"microsoft.insights/scheduledqueryrules": "schema not in the copied subset",
	"microsoft.insights/actiongroups":        "schema not in the copied subset",
}

func checkAll(t *testing.T, s *infracheck.Schemas, files ...string) []string {
	t.Helper()
	var problems []string
	for _, f := range parse(t, files...) {
		rs, err := infracheck.Resources(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, r := range rs {
			if _, ok := unschematized[strings.ToLower(r.Type)]; ok {
				continue
			}
			for _, p := range s.Check(r) {
				problems = append(problems, p.String())
			}
		}
	}
	return problems
}

func TestEveryResourceTypeVersionAndPropertyIsInTheARMSchemas(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	files := bicepFiles(t)
	for _, p := range checkAll(t, s, files...) {
		t.Error(p)
	}
	n := 0
	for _, f := range parse(t, files...) {
		rs, _ := infracheck.Resources(f)
		n += len(rs)
	}
	if n < 10 {
		t.Errorf("only %d resources found: the check is not reading the files", n)
	}
}

func TestTheSchemaCheckFailsOnABrokenResource(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	tests := []struct{ name, file, old, new, want string }{
		{"a misspelled top-level property", "modules/storage.bicep", "allowSharedKeyAccess: false", "allowSharedKeyAcess: false", `"allowSharedKeyAcess"`},
		{"a misspelled nested property", "modules/functionapp.bicep", "maximumInstanceCount: 40", "maxInstanceCount: 40", `"maxInstanceCount"`},
		{"a misspelled property inside an array item", "modules/cosmos.bicep", "failoverPriority: 0", "failoverPriorty: 0", `"failoverPriorty"`},
		{"a misspelled key in a for loop's body", "modules/storage-access.bicep", "principalType: 'ServicePrincipal'", "principalKind: 'ServicePrincipal'", `"principalKind"`},
		{"an API version with no schema", "modules/monitoring.bicep", "workspaces@2023-09-01", "workspaces@2099-01-01", "no schema for Microsoft.OperationalInsights/workspaces@2099-01-01"},
		{"a misspelled type", "modules/webhook.bicep", "registries/webhooks@", "registries/webhook@", "unknown type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := checkAll(t, s, brokenCopy(t, tt.file, tt.old, tt.new))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

// platformSettings are app settings infra sets for the host, not the
// handler.
var platformSettings = map[string]string{
	"AzureWebJobsStorage__accountName":          "the host's storage, reached with the managed identity",
	"AzureWebJobsStorage__credential":           "tells the host to use the managed identity",
	"APPLICATIONINSIGHTS_CONNECTION_STRING":     "the host ships logs to Application Insights",
	"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "the host sends telemetry with the app's identity: the component takes no key",
	// The host's switch for one function (learn.microsoft.com,
	// disable-function); ReconcileSwitchProblems checks its value.
	"AzureWebJobs.reconcile.Disabled": "the host runs the reconcile timer only when there is a webhook to reconcile",
}

// settingsProblems compares the app settings set in Azure with the
// handler's settings list.
func settingsProblems(set []string) []string {
	var problems []string
	seen := map[string]bool{}
	for _, name := range set {
		seen[name] = true
	}
	for _, s := range config.Settings {
		switch {
		case s.Where == config.Azure && !seen[s.Name]:
			problems = append(problems, s.Name+" is read by the handler but never set in Azure")
		case s.Where != config.Azure && seen[s.Name]:
			problems = append(problems, s.Name+" is set in Azure but is a "+s.Where+" setting")
		}
	}
	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Name] = true
	}
	for _, name := range set {
		if !known[name] && platformSettings[name] == "" {
			problems = append(problems, name+" is set in Azure but nothing reads it")
		}
	}
	sort.Strings(problems)
	return problems
}

func appSettings(t *testing.T, files ...string) []string {
	t.Helper()
	var set []string
	for _, f := range parse(t, files...) {
		set = append(set, infracheck.AppSettings(f)...)
	}
	return set
}

func TestTheAppSettingsInfraSetsAreTheOnesTheHandlerReads(t *testing.T) {
	t.Parallel()
	for _, p := range settingsProblems(appSettings(t, bicepFiles(t)...)) {
		t.Error(p)
	}
}

func TestTheSettingsCheckFailsOnAMismatch(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, old, new, want string }{
		{"a setting the handler reads is missing", "name: 'COSMOS_DATABASE'", "name: 'COSMOS_DB'", "COSMOS_DATABASE is read by the handler but never set"},
		{"a setting nothing reads", "name: 'COSMOS_CONTAINER'", "name: 'COSMOS_COLLECTION'", "COSMOS_COLLECTION is set in Azure but nothing reads it"},
		{"a name the check cannot read", "name: 'COSMOS_DATABASE'", "name: databaseSettingName", "databaseSettingName is set in Azure but nothing reads it"},
		{"a local-only setting set in Azure", "name: 'COSMOS_ENDPOINT'", "name: 'COSMOS_CONNECTION_STRING'", "COSMOS_CONNECTION_STRING is set in Azure but is a local setting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := settingsProblems(appSettings(t, brokenCopy(t, "modules/functionapp.bicep", tt.old, tt.new)))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}

func parameterProblems(t *testing.T, paramsFile, bicep string) []string {
	t.Helper()
	data, err := os.ReadFile(paramsFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Parameters map[string]json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return []string{"main.parameters.json: " + err.Error()}
	}
	declared := infracheck.Params(parse(t, bicep)[0])
	var problems []string
	for name := range doc.Parameters {
		if !slices.Contains(declared, name) {
			problems = append(problems, "main.parameters.json names "+name+", which main.bicep does not declare")
		}
	}
	return problems
}

func TestMainParametersNameOnlyDeclaredParameters(t *testing.T) {
	for _, p := range parameterProblems(t, filepath.Join(root, "infra", "main.parameters.json"), filepath.Join(root, "infra", "main.bicep")) {
		t.Error(p)
	}
}

func TestTheParametersCheckFailsOnAnUndeclaredName(t *testing.T) {
	t.Parallel()
	broken := brokenCopy(t, "main.parameters.json", `"webhookScope"`, `"webhookScoep"`)
	problems := parameterProblems(t, broken, filepath.Join(root, "infra", "main.bicep"))
	if len(problems) != 1 || !strings.Contains(problems[0], "webhookScoep") {
		t.Errorf("problems %q, want one naming webhookScoep", problems)
	}
}

// azureYAMLProblems checks azure.yaml (and the scripts its hooks run)
// against main.bicep and the packager: azd hands hooks the deployment's
// outputs as environment variables, so every $AZURE_... they use must be an
// output; and dist must be the zip the package hook writes, because azd
// deploys a .zip as it is but zips a folder without Unix modes, which would
// drop the handler's exec bit.
func azureYAMLProblems(t *testing.T, yaml string) []string {
	t.Helper()
	main, err := os.ReadFile(filepath.Join(root, "infra", "main.bicep"))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{yaml}
	scripts, _ := filepath.Glob(filepath.Join(root, "infra", "scripts", "*.sh"))
	for _, s := range scripts {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(data))
	}
	var problems []string
	for _, text := range texts {
		for _, word := range strings.FieldsFunc(text, func(r rune) bool {
			return !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			if strings.HasPrefix(word, "AZURE_") && !slices.Contains(azdSetsItself, word) &&
				!strings.Contains(string(main), "output "+word+" ") {
				problems = append(problems, "uses $"+word+", which main.bicep does not output")
			}
		}
	}
	for _, want := range []string{"language: custom", "host: function", "go run ./cmd/acrsink package -o dist/acrsink.zip", "dist: dist/acrsink.zip"} {
		if !strings.Contains(yaml, want) {
			problems = append(problems, "azure.yaml lacks "+want)
		}
	}
	return slices.Compact(problems)
}

// azdSetsItself are the AZURE_ variables azd provides without an output.
var azdSetsItself = []string{"AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID", "AZURE_PRINCIPAL_ID"}

func TestAzureYAMLUsesOnlyOutputsMainBicepHasAndDeploysTheZip(t *testing.T) {
	t.Parallel()
	yaml, err := os.ReadFile(filepath.Join(root, "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range azureYAMLProblems(t, string(yaml)) {
		t.Error(p)
	}
}

func TestTheAzureYAMLCheckFailsOnABrokenFile(t *testing.T) {
	t.Parallel()
	yaml, err := os.ReadFile(filepath.Join(root, "azure.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new, want string }{
		{"a folder as dist", "dist: dist/acrsink.zip", "dist: dist/app", "lacks dist: dist/acrsink.zip"},
		{"an output main.bicep does not have", "preprovision:", "preprovision: # $AZURE_FUNCTION_APP_ID", "AZURE_FUNCTION_APP_ID"},
		{"the wrong language", "language: custom", "language: go", "lacks language: custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(string(yaml), tt.old) {
				t.Fatalf("azure.yaml has no %q", tt.old)
			}
			problems := azureYAMLProblems(t, strings.Replace(string(yaml), tt.old, tt.new, 1))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}

// moduleProblems checks every module call in main against the module's
// parameters: no unknown name, no required parameter left out.
func moduleProblems(t *testing.T, main string) []string {
	t.Helper()
	var problems []string
	mf := parse(t, main)[0]
	for _, m := range infracheck.Modules(mf) {
		path := filepath.Join(filepath.Dir(main), m.Path)
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(root, "infra", m.Path)
		}
		decls := infracheck.ParamDecls(parse(t, path)[0])
		known := map[string]bool{}
		for _, d := range decls {
			known[d.Name] = true
			if _, passed := m.Args[d.Name]; !d.HasDefault && !passed {
				problems = append(problems, "module "+m.Symbol+" leaves out the required parameter "+d.Name)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(m.Args)) {
			if !known[p] {
				problems = append(problems, "module "+m.Symbol+" passes "+p+", which "+m.Path+" does not declare")
			}
		}
	}
	return problems
}

func TestEveryModuleCallMatchesTheModulesParameters(t *testing.T) {
	t.Parallel()
	problems := moduleProblems(t, filepath.Join(root, "infra", "main.bicep"))
	for _, p := range problems {
		t.Error(p)
	}
	if n := len(infracheck.Modules(parse(t, filepath.Join(root, "infra", "main.bicep"))[0])); n < 6 {
		t.Errorf("only %d modules found: the check is not reading main.bicep", n)
	}
}

func TestTheModuleCheckFailsOnAWrongParameter(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, old, new, want string }{
		{"a misspelled parameter", "    containerName: containerName\n    functionKeys", "    containerNme: containerName\n    functionKeys", "passes containerNme"},
		{"a required parameter left out", "    cosmosEndpoint: cosmos.outputs.endpoint\n", "", "leaves out the required parameter cosmosEndpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := moduleProblems(t, brokenCopy(t, "main.bicep", tt.old, tt.new))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}

// writeBicep writes src to a temporary .bicep file.
func writeBicep(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.bicep")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const nested = `resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: 'myregistry'
  resource webhook 'webhooks' = {
    name: 'acrsink'
    location: registry.location
    properties: {
      serviceUri: 'https://example.net/images/push'
      status: 'enabled'
    }
  }
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'acrsink'
  location: 'westeurope'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  resource blobs 'blobServices@2023-05-01' = {
    name: 'default'
    resource deployment 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
      name: 'deployment'
      properties: {
        publicAccess: 'None'
      }
    }
  }
}
`

func TestNestedAndExistingResourcesAreFoundWithTheirFullTypes(t *testing.T) {
	t.Parallel()
	f := parse(t, writeBicep(t, nested))[0]
	rs, err := infracheck.Resources(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s %s@%s existing=%v", r.Symbol, r.Type, r.APIVersion, r.Existing))
	}
	want := []string{
		"registry Microsoft.ContainerRegistry/registries@2025-04-01 existing=true",
		"webhook Microsoft.ContainerRegistry/registries/webhooks@2025-04-01 existing=false",
		"account Microsoft.Storage/storageAccounts@2023-05-01 existing=false",
		"blobs Microsoft.Storage/storageAccounts/blobServices@2023-05-01 existing=false",
		"deployment Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01 existing=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("resources\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if problems := checkAll(t, schemas(t), writeBicep(t, nested)); len(problems) > 0 {
		t.Errorf("problems in a correct file: %q", problems)
	}
}

func TestTheSchemaCheckFailsInsideANestedResource(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, old, new, want string }{
		{"a misspelled property of a nested child", "serviceUri:", "serviceUrl:", `"serviceUrl"`},
		{"a misspelled property two levels down", "publicAccess:", "publicAcess:", `"publicAcess"`},
		{"a nested child type that does not exist", "'webhooks'", "'webhoks'", "Microsoft.ContainerRegistry/registries/webhoks@2025-04-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := checkAll(t, schemas(t), writeBicep(t, strings.Replace(nested, tt.old, tt.new, 1)))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}
