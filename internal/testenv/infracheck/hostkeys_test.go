package infracheck_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeAz stands in for the Azure CLI: it keeps the app's function keys in a
// file ("name value" per line) and logs every call, so the rotation rules
// of infra/scripts/host-keys.sh can be checked without Azure.
const fakeAz = `#!/bin/sh
echo "$*" >> "$FAKE_AZ_LOG"
name=""; value=""; verb=""
while [ $# -gt 0 ]; do
  case "$1" in
    list|set|delete) verb=$1 ;;
    --key-name) name=$2; shift ;;
    --key-value) value=$2; shift ;;
  esac
  shift
done
case "$verb" in
  list)
    [ -z "${FAKE_AZ_FAIL_LIST:-}" ] || { echo "ERROR: Operation returned an invalid status 'Bad Request'" >&2; exit 1; }
    cut -d' ' -f1 "$FAKE_AZ_STORE" ;;
  set) echo "$name $value" >> "$FAKE_AZ_STORE" ;;
  delete) grep -v "^$name " "$FAKE_AZ_STORE" > "$FAKE_AZ_STORE.new" || true; mv "$FAKE_AZ_STORE.new" "$FAKE_AZ_STORE" ;;
esac
`

// cksumName is the host key name the script gives key (acrsink-<cksum>).
func cksumName(t *testing.T, key string) string {
	t.Helper()
	cmd := exec.Command("cksum")
	cmd.Stdin = strings.NewReader(key)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return "acrsink-" + strings.Fields(string(out))[0]
}

type hostKeysRun struct {
	store []string // the host keys after the run, "name value"
	calls []string // az calls, in order
	out   string
	err   error
}

func runHostKeys(t *testing.T, keys string, store []string, failList bool, args ...string) hostKeysRun {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sh is needed to test infra/scripts/host-keys.sh")
		}
		t.Skip("no sh")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(fakeAz), 0o755); err != nil {
		t.Fatal(err)
	}
	storeFile, logFile := filepath.Join(dir, "store"), filepath.Join(dir, "log")
	data := strings.Join(store, "\n")
	if data != "" {
		data += "\n"
	}
	if err := os.WriteFile(storeFile, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, append([]string{filepath.Join(root, "infra", "scripts", "host-keys.sh")}, args...)...)
	cmd.Env = []string{
		"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"AZURE_RESOURCE_GROUP=rg", "AZURE_FUNCTION_APP_NAME=app",
		"ACRSINK_FUNCTION_KEYS=" + keys,
		"FAKE_AZ_STORE=" + storeFile, "FAKE_AZ_LOG=" + logFile,
	}
	if failList {
		cmd.Env = append(cmd.Env, "FAKE_AZ_FAIL_LIST=1")
	}
	out, runErr := cmd.CombinedOutput()
	after, _ := os.ReadFile(storeFile)
	log, _ := os.ReadFile(logFile)
	r := hostKeysRun{out: string(out), err: runErr}
	r.store = strings.Fields(strings.ReplaceAll(string(after), " ", "="))
	r.calls = strings.Split(strings.TrimSpace(string(log)), "\n")
	slices.Sort(r.store)
	return r
}

func TestHostKeysFollowTheAcceptedKeysThroughARotation(t *testing.T) {
	t.Parallel()
	old, next := "oldkey0123456789", "newkey9876543210"
	o, n := cksumName(t, old), cksumName(t, next)
	tests := []struct {
		name  string
		keys  string
		store []string
		want  []string
	}{
		{"a first deploy adds the key", old, nil, []string{o + "=" + old}},
		{"a second run changes nothing", old, []string{o + " " + old}, []string{o + "=" + old}},
		{"rotation step 1 (old,new) adds the new key and keeps the old", old + "," + next, []string{o + " " + old, "default d"}, []string{o + "=" + old, n + "=" + next, "default=d"}},
		{"rotation step 2 (new,old) changes nothing on the host", next + "," + old, []string{o + " " + old, n + " " + next}, []string{o + "=" + old, n + "=" + next}},
		{"rotation step 3 (new) removes the old key only", next, []string{o + " " + old, n + " " + next, "default d", "someone-else s"}, []string{n + "=" + next, "default=d", "someone-else=s"}},
		{"spaces around keys do not matter", " " + old + " , " + next, nil, []string{o + "=" + old, n + "=" + next}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runHostKeys(t, tt.keys, tt.store, false)
			if r.err != nil {
				t.Fatalf("%v\n%s", r.err, r.out)
			}
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(r.store, want) {
				t.Errorf("host keys %q, want %q", r.store, want)
			}
			lastSet, firstDelete := -1, len(r.calls)
			for i, c := range r.calls {
				if strings.Contains(c, "keys set") {
					lastSet = i
				}
				if strings.Contains(c, "keys delete") && i < firstDelete {
					firstDelete = i
				}
			}
			if lastSet > firstDelete {
				t.Errorf("a key was removed before one was added: %q", r.calls)
			}
		})
	}
}

func TestHostKeysRefuseWhatWouldLockTheWebhookOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		keys     string
		failList bool
		args     []string
		wantErr  bool
	}{
		{"no key at all fails and deletes nothing", " , ", false, nil, true},
		{"a host that cannot list keys fails after a deploy", "k1", true, nil, true},
		{"a host that cannot list keys yet is fine right after provisioning", "k1", true, []string{"--best-effort"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := []string{"acrsink-1 k0", "default d"}
			r := runHostKeys(t, tt.keys, store, tt.failList, tt.args...)
			if (r.err != nil) != tt.wantErr {
				t.Errorf("error %v, want error %v\n%s", r.err, tt.wantErr, r.out)
			}
			if want := []string{"acrsink-1=k0", "default=d"}; !slices.Equal(r.store, want) {
				t.Errorf("host keys %q, want them untouched %q", r.store, want)
			}
		})
	}
}
