package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/refstore/refstore/internal/config"
)

// clearEnv unsets every REFSTORE_* variable for the test, so that a developer's settings
// do not leak into the flags' defaults.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, envPrefix) {
			t.Setenv(name, "") // restores the value after the test
			os.Unsetenv(name)
		}
	}
}

// parsedServe is `refstore serve ARGS` parsed and given its --config, without running.
func parsedServe(t *testing.T, args ...string) (*cobra.Command, error) {
	t.Helper()
	cmd := withConfig(serveCommand())
	if err := cmd.ParseFlags(args); err != nil {
		return cmd, err
	}
	return cmd, cmd.PreRunE(cmd, nil)
}

// exampleConfig is deploy/refstore.yaml, the commented example of every setting.
const exampleConfig = "../../deploy/refstore.yaml"

// TestConfigExampleHasEverySetting: deploy/refstore.yaml names every flag of serve, so the
// example cannot drift from the flags.
func TestConfigExampleHasEverySetting(t *testing.T) {
	clearEnv(t)
	settings, err := config.Read(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	for _, s := range settings {
		inFile[s.Key] = true
	}
	serveCommand().Flags().VisitAll(func(f *pflag.Flag) {
		if !inFile[f.Name] {
			t.Errorf("serve --%s is not in %s", f.Name, exampleConfig)
		}
	})
}

// TestConfigExampleParses loads the example into serve's flags: every value is accepted
// and is the default, except the two the example sets for the systemd unit.
func TestConfigExampleParses(t *testing.T) {
	clearEnv(t)
	cmd, err := parsedServe(t, "--config", exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	defaults := serveCommand().Flags()
	want := map[string]string{"data": "/var/lib/refstore", "log-format": "json"}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "config" {
			return
		}
		got, def := f.Value.String(), defaults.Lookup(f.Name).Value.String()
		if w, ok := want[f.Name]; ok {
			if got != w {
				t.Errorf("%s = %q, want %q", f.Name, got, w)
			}
			return
		}
		if got != def {
			t.Errorf("%s = %q in the example, but the default is %q: the example says the values are the defaults", f.Name, got, def)
		}
	})
}

// TestConfigServePrecedence: serve takes a setting from the command line over REFSTORE_*,
// from REFSTORE_* over the file, from the file over the default; REFSTORE_CONFIG names the
// file.
func TestConfigServePrecedence(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "refstore.yaml")
	os.WriteFile(path, []byte("addr: 127.0.0.1:9001\ntoken-ttl: 5m\nmax-upload-size: 1GiB\nrate-limit: 50\n"), 0o600)
	t.Setenv("REFSTORE_CONFIG", path)
	t.Setenv("REFSTORE_TOKEN_TTL", "7m")
	cmd, err := parsedServe(t, "--max-upload-size", "2GiB")
	if err != nil {
		t.Fatal(err)
	}
	fs := cmd.Flags()
	for name, want := range map[string]string{
		"addr":            "127.0.0.1:9001", // file
		"token-ttl":       "7m",             // environment over file
		"max-upload-size": "2GiB",           // flag over file
		"rate-limit":      "50",             // file
		"file-token-ttl":  "24h",            // default
	} {
		if got := fs.Lookup(name).Value.String(); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// TestConfigServeErrors: serve stops on an unknown key or a bad value, naming the file,
// the line, the key and the value.
func TestConfigServeErrors(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{"addr: 127.0.0.1:8080\nmax-upload-siz: 1GiB\n", `:2: unknown setting "max-upload-siz" (did you mean "max-upload-size"?)`},
		{"max-upload-size: 5XB\n", `:1: max-upload-size: "5XB" is not a size`},
		{"token-ttl: 30 minutes\n", `:1: token-ttl: "30 minutes" is not a duration`},
		{"addr: 8080\n", `:1: addr: "8080": --addr 8080 has no host: use :8080 (every interface) or 127.0.0.1:8080`},
		{"max-uploads-per-key: many\n", `:1: max-uploads-per-key: "many": must be an integer`},
	} {
		path := filepath.Join(dir, "refstore.yaml")
		os.WriteFile(path, []byte(tc.text), 0o600)
		_, err := parsedServe(t, "--config", path)
		if err == nil || !strings.Contains(err.Error(), path+tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, path+tc.want)
		}
	}
}

// TestConfigHealthcheckSharesServeFile: healthcheck reads its --addr from serve's file and
// accepts serve's other keys.
func TestConfigHealthcheckSharesServeFile(t *testing.T) {
	clearEnv(t)
	cmd := withConfig(healthcheckCommand(), serveFlagNames()...)
	if err := cmd.ParseFlags([]string{"--config", exampleConfig}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.PreRunE(cmd, nil); err != nil {
		t.Fatal(err)
	}
	if got := cmd.Flags().Lookup("addr").Value.String(); got != "127.0.0.1:8080" {
		t.Fatalf("addr %q", got)
	}
}

// TestHelpHumanUnits: serve --help shows sizes and durations as people write them, and the
// words of a default that depends on the backend, never 5368709120, 30m0s or -1ns.
func TestHelpHumanUnits(t *testing.T) {
	clearEnv(t)
	cmd := withConfig(serveCommand())
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, want := range []string{
		"--max-upload-size size", "(default 5GiB)", "(default 32MiB)",
		"--token-ttl duration", "(default 30m)", "(default 24h)", "(default 90d)", "(default 1m)",
		"(default 0 on files, 15m on S3)", "--addr host:port", "(default 127.0.0.1:8080)",
		"--config string", "(REFSTORE_CONFIG)",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
	for _, bad := range []string{"5368709120", "33554432", "-1ns", "0m0s", "h0m", "2160h"} {
		if strings.Contains(help, bad) {
			t.Errorf("serve --help shows %q", bad)
		}
	}
	// Plain counts are the only bare numbers: max-uploads-per-key's 8, webhook-workers' 4.
	if m := regexp.MustCompile(`default \d+\)`).FindAllString(help, -1); !slices.Equal(m, []string{"default 8)", "default 4)"}) {
		t.Errorf("bare numbers as defaults: %q (only the plain counts may be)", m)
	}
}

// TestHelpFsckHumanUnits: fsck's durations too.
func TestHelpFsckHumanUnits(t *testing.T) {
	cmd := fsckCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	cmd.Execute()
	for _, want := range []string{"(default 1h)", "(default 10m)", "(default 0 on files, 15m on S3)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("fsck --help lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "-1ns") || strings.Contains(out.String(), "0m0s") {
		t.Errorf("fsck --help:\n%s", out.String())
	}
}

// TestConfigValuesRoundTrip: what a value prints, it takes back.
func TestConfigValuesRoundTrip(t *testing.T) {
	for _, s := range []string{"5GiB", "32MiB", "100MB", "1KB", "1001", "3KiB"} {
		var b byteSize
		if err := b.Set(s); err != nil || b.String() != s {
			t.Errorf("size %q: %q, %v", s, b.String(), err)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{30 * time.Minute, "30m"}, {24 * time.Hour, "24h"}, {90 * time.Minute, "1h30m"}, {90 * 24 * time.Hour, "90d"},
		{10 * time.Second, "10s"}, {1500 * time.Millisecond, "1.5s"}, {0, "0"}, {25 * time.Hour, "25h"}} {
		var d time.Duration
		v := newDuration(&d, tc.d, "")
		if v.String() != tc.want {
			t.Errorf("%v prints %q, want %q", tc.d, v.String(), tc.want)
		}
		if err := v.Set(tc.want); err != nil || d != tc.d {
			t.Errorf("%q parses to %v, %v", tc.want, d, err)
		}
	}
	var d time.Duration
	v := newDuration(&d, -1, "0 on files")
	if v.String() != "" {
		t.Errorf("auto prints %q", v.String())
	}
	if err := v.Set("5m"); err != nil || d != 5*time.Minute {
		t.Fatal(d, err)
	}
	if err := v.Set("auto"); err != nil || d != -1 {
		t.Fatal(d, err)
	}
	if err := v.Set("-5m"); err == nil {
		t.Error("a negative duration was taken")
	}
	if err := newDuration(&d, 0, "").Set("auto"); err == nil {
		t.Error("auto was taken by a duration without one")
	}
}

// TestConfigAddrChecks: the address is checked as it is given.
func TestConfigAddrChecks(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8080", ":8080", "[::1]:0", "localhost:80", "0.0.0.0:65535"} {
		if err := checkListenAddr("--addr", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		"8080":            "--addr 8080 has no host: use :8080 (every interface) or 127.0.0.1:8080 (this machine only)",
		"localhost":       `--addr "localhost": want host:port`,
		"127.0.0.1:http":  `the port "http" is not a number`,
		"127.0.0.1:70000": `the port "70000" is not a number from 0 to 65535`,
	} {
		if err := checkListenAddr("--addr", in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// TestConfigSharedByOtherCommands: fsck, export, import and backup read serve's file for
// the settings they share with it, and ignore the others; a broken file stops fsck with
// its "could not run" status 2.
func TestConfigSharedByOtherCommands(t *testing.T) {
	clearEnv(t)
	shared := serveFlagNames()
	for _, cmd := range []*cobra.Command{withConfig(fsckCommand(), shared...), withConfig(exportCommand(), shared...),
		withConfig(importCommand(), shared...), withConfig(backupCommand(), shared...)} {
		if err := cmd.ParseFlags([]string{"--config", exampleConfig}); err != nil {
			t.Fatal(err)
		}
		if err := cmd.PreRunE(cmd, nil); err != nil {
			t.Fatalf("%s: %v", cmd.Name(), err)
		}
		if got := cmd.Flags().Lookup("data").Value.String(); got != "/var/lib/refstore" {
			t.Errorf("%s --data %q: want the file's /var/lib/refstore", cmd.Name(), got)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("dta: /x\n"), 0o600)
	cmd := exitCode(2, withConfig(fsckCommand(), shared...))
	cmd.ParseFlags([]string{"--config", bad})
	err := cmd.PreRunE(cmd, nil)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), `unknown setting "dta" (did you mean "data"?)`) {
		t.Fatalf("fsck with a broken file: %v", err)
	}
}
