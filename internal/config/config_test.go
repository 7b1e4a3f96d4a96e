package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// flags is a small flag set like a command's: a string, an int, a duration, a bool.
type flags struct {
	fs      *pflag.FlagSet
	addr    string
	limit   int
	ttl     time.Duration
	verbose bool
	origins string
}

func newFlags() *flags {
	f := &flags{fs: pflag.NewFlagSet("test", pflag.ContinueOnError)}
	f.fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "")
	f.fs.IntVar(&f.limit, "rate-limit", 0, "")
	f.fs.DurationVar(&f.ttl, "token-ttl", 30*time.Minute, "")
	f.fs.BoolVar(&f.verbose, "access-log", false, "")
	f.fs.StringVar(&f.origins, "cors-origins", "", "")
	var config string
	f.fs.StringVar(&config, "config", "", "")
	return f
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "refstore.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var opts = Options{EnvPrefix: "CFGTEST_", Reserved: []string{"config", "help"}}

// TestConfigPrecedence: a flag on the command line beats the environment, which beats the
// file, which beats the default.
func TestConfigPrecedence(t *testing.T) {
	f := newFlags()
	path := writeFile(t, "addr: 0.0.0.0:9000\nrate-limit: 100\ntoken-ttl: 5m\naccess-log: true\n")
	if err := f.fs.Parse([]string{"--addr", "127.0.0.1:7000"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CFGTEST_RATE_LIMIT", "7") // the flag's default came from it: the file must not override
	f.limit = 7
	if err := Apply(f.fs, path, opts); err != nil {
		t.Fatal(err)
	}
	if f.addr != "127.0.0.1:7000" {
		t.Errorf("addr %q: the command line must win over the file", f.addr)
	}
	if f.limit != 7 {
		t.Errorf("rate-limit %d: the environment must win over the file", f.limit)
	}
	if f.ttl != 5*time.Minute || !f.verbose {
		t.Errorf("token-ttl %v, access-log %v: the file must win over the defaults", f.ttl, f.verbose)
	}
	if f.origins != "" {
		t.Errorf("cors-origins %q: a key the file does not hold keeps its default", f.origins)
	}
}

// TestConfigErrors: every mistake names the file, the line and the key, and says what is
// wrong with the value.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown key, close to one", "addr: :8080\nadr: :9090\n", `:2: unknown setting "adr" (did you mean "addr"?)`},
		{"unknown key", "colour: blue\n", `:1: unknown setting "colour": the keys are the flag names`},
		{"bad integer", "rate-limit: lots\n", `:1: rate-limit: "lots": must be an integer`},
		{"bad duration", "\n\ntoken-ttl: soon\n", `:3: token-ttl: "soon"`},
		{"bad bool", "access-log: maybe\n", `:1: access-log: "maybe"`},
		{"set twice", "addr: a:1\nrate-limit: 1\naddr: b:2\n", `:3: addr: set twice (first on line 1)`},
		{"no value", "token-ttl:\n", `:1: token-ttl: has no value`},
		{"a mapping", "addr:\n  host: x\n", `:2: addr: takes one value, not a mapping`},
		{"reserved", "config: other.yaml\n", `:1: config: cannot be set in a configuration file`},
		{"not a mapping", "- addr\n- rate-limit\n", `:1: want a mapping of settings`},
		{"not YAML", "addr: [unclosed\n", `: not valid YAML`},
		{"two documents", "addr: a:1\n---\naddr: b:2\n", `: holds more than one YAML document`},
		{"list with a comma", "cors-origins: [\"a,b\"]\n", `:1: cors-origins: list item "a,b" holds a comma`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.text)
			err := Apply(newFlags().fs, path, opts)
			if err == nil {
				t.Fatalf("no error for %q", tc.text)
			}
			if !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want it to start with the file %s and hold %q", err, path, tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error", err)
			}
		})
	}
}

// TestConfigMissingFile names the file.
func TestConfigMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.yaml")
	err := Apply(newFlags().fs, p, opts)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v: want one naming %s", err, p)
	}
}

// TestConfigEmptyFile: a file that is empty or only comments sets nothing.
func TestConfigEmptyFile(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		f := newFlags()
		if err := Apply(f.fs, writeFile(t, text), opts); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if f.addr != "127.0.0.1:8080" || f.ttl != 30*time.Minute {
			t.Fatalf("%q changed the defaults", text)
		}
	}
}

// TestConfigListsAndAliases: a list becomes the comma-separated form; an alias is followed.
func TestConfigListsAndAliases(t *testing.T) {
	f := newFlags()
	path := writeFile(t, "cors-origins:\n  - https://a.example\n  - https://b.example\nrate-limit: &n 12\n")
	if err := Apply(f.fs, path, opts); err != nil {
		t.Fatal(err)
	}
	if f.origins != "https://a.example,https://b.example" || f.limit != 12 {
		t.Fatalf("cors-origins %q, rate-limit %d", f.origins, f.limit)
	}
	f = newFlags()
	if err := Apply(f.fs, writeFile(t, "cors-origins: []\n"), opts); err != nil || f.origins != "" {
		t.Fatalf("an empty list: %q, %v", f.origins, err)
	}
}

// TestConfigIgnoredKeys: a command sharing the file accepts another command's keys.
func TestConfigIgnoredKeys(t *testing.T) {
	f := newFlags()
	path := writeFile(t, "addr: 127.0.0.1:9\nmax-upload-size: 5GiB\n")
	o := opts
	o.Ignored = []string{"max-upload-size"}
	if err := Apply(f.fs, path, o); err != nil {
		t.Fatal(err)
	}
	if f.addr != "127.0.0.1:9" {
		t.Fatalf("addr %q", f.addr)
	}
	if err := Apply(newFlags().fs, path, opts); err == nil || !strings.Contains(err.Error(), `"max-upload-size"`) {
		t.Fatalf("without Ignored the key must be unknown: %v", err)
	}
}

func TestConfigEnvName(t *testing.T) {
	if got := EnvName("REFSTORE_", "max-upload-size"); got != "REFSTORE_MAX_UPLOAD_SIZE" {
		t.Fatal(got)
	}
}
