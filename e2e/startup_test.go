package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logRecords are the JSON log lines of a node whose message starts with prefix.
func logRecords(t testing.TB, n *node, prefix string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(n.logs(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, rec)
		}
	}
	return out
}

// waitLog waits until the node has logged a line starting with prefix (the start-up
// messages follow "listening").
func waitLog(t testing.TB, n *node, prefix string) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if recs := logRecords(t, n, prefix); len(recs) > 0 || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStartupAdminTokenAndCatalogHint: a first start says where the generated admin token
// is (the file, never the token) and, the catalog being empty, the command that loads the
// sample catalog; that command, run as logged from the repository's root, works; once the
// catalog holds an account the hint is gone.
func TestStartupAdminTokenAndCatalogHint(t *testing.T) {
	data := t.TempDir()
	n := startNode(t, nodeOptions{Data: data, Env: []string{"REFSTORE_ADMIN_TOKEN="}})
	recs := waitLog(t, n, "the admin API's token is in a file")
	tokenFile := filepath.Join(data, "admin.token")
	if len(recs) != 1 || recs[0]["file"] != tokenFile {
		t.Fatalf("admin token message %v, want file=%s\n%s", recs, tokenFile, n.logs())
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	hints := waitLog(t, n, "the catalog is empty")
	if len(hints) != 1 {
		t.Fatalf("no empty-catalog hint:\n%s", n.logs())
	}
	command, _ := hints[0]["command"].(string)
	if !strings.Contains(command, "$(cat "+tokenFile+")") || !strings.Contains(command, n.url+"/admin/v1/catalog") ||
		strings.Contains(command, `"`) {
		t.Fatalf("hint command %q: want the token file, the server's URL and no double quotes", command)
	}
	if strings.Contains(n.logs(), strings.TrimSpace(string(token))) {
		t.Fatal("the admin token's value is in the log")
	}
	// The hint is meant to be pasted: run it as it stands, from the repository's root.
	run := exec.Command("bash", "-euo", "pipefail", "-c", command)
	run.Dir = ".."
	if out, err := run.CombinedOutput(); err != nil || !bytes.Contains(out, []byte(`"accounts"`)) {
		t.Fatalf("the hint's command failed: %v\n%s", err, out)
	}
	h := http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(token))}}
	doURL(t, "GET", n.url+"/admin/v1/accounts/acme", h, nil).expect(t, 200)

	n.stop()
	m := startNode(t, nodeOptions{Data: data, Env: []string{"REFSTORE_ADMIN_TOKEN="}})
	waitLog(t, m, "build")
	if recs := waitLog(t, m, "the admin API's token is in a file"); len(recs) != 1 {
		t.Fatalf("restart: no admin token message\n%s", m.logs())
	}
	if hints := logRecords(t, m, "the catalog is empty"); len(hints) != 0 {
		t.Fatalf("a catalog with an account still gets the hint: %v", hints)
	}
}

// TestStartupAdminTokenFromEnvironment: with REFSTORE_ADMIN_TOKEN the start-up says so, and
// the value appears nowhere.
func TestStartupAdminTokenFromEnvironment(t *testing.T) {
	n := startNode(t, nodeOptions{})
	if recs := waitLog(t, n, "the admin API's token is REFSTORE_ADMIN_TOKEN"); len(recs) != 1 {
		t.Fatalf("no message about the environment's token:\n%s", n.logs())
	}
	hints := waitLog(t, n, "the catalog is empty")
	if len(hints) != 1 || !strings.Contains(hints[0]["command"].(string), "--oauth2-bearer $REFSTORE_ADMIN_TOKEN ") {
		t.Fatalf("hint %v", hints)
	}
	if strings.Contains(n.logs(), adminToken) {
		t.Fatal("the admin token's value is in the log")
	}
	if recs := logRecords(t, n, "build"); len(recs) != 1 || recs[0]["version"] == "" {
		t.Fatalf("no build line: %v", recs)
	}
}

// runServeFails runs `refstore serve ARGS`, which must exit 1 within a few seconds; it
// returns the error output.
func runServeFails(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve", "--data", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), "REFSTORE_ADMIN_TOKEN="+adminToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("serve %v: exit %v, want status 1\n%s", args, err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve %v did not stop:\n%s", args, stderr.String())
	}
	return stderr.String()
}

// TestStartupBusyPort: a port in use gets a hint, not Go's "bind: address already in use".
func TestStartupBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	stderr := runServeFails(t, "--addr", ln.Addr().String())
	want := fmt.Sprintf("refstore: address 127.0.0.1:%d is already in use: stop the other process or pass --addr 127.0.0.1:%d\n",
		port, port+1)
	if !strings.HasSuffix(stderr, want) {
		t.Fatalf("stderr:\n%s\nwant it to end with:\n%s", stderr, want)
	}
	if strings.Contains(stderr, "bind:") {
		t.Fatalf("the bare Go error shows: %s", stderr)
	}
}

// TestStartupAddrWithoutHost: `--addr 8080` is told to write :8080 or 127.0.0.1:8080, from
// the flag and from the environment, before anything is opened.
func TestStartupAddrWithoutHost(t *testing.T) {
	want := "refstore: --addr 8080 has no host: use :8080 (every interface) or 127.0.0.1:8080 (this machine only)\n"
	if got := runServeFails(t, "--addr", "8080"); got != want {
		t.Fatalf("stderr %q, want %q", got, want)
	}
	cmd := exec.Command(binPath, "serve", "--data", filepath.Join(t.TempDir(), "never"))
	cmd.Env = append(os.Environ(), "REFSTORE_ADDR=8080")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `REFSTORE_ADDR="8080": --addr 8080 has no host: use :8080`) {
		t.Fatalf("REFSTORE_ADDR=8080: %v\n%s", err, out)
	}
	if _, err := os.Stat(cmd.Args[3]); !os.IsNotExist(err) {
		t.Fatalf("the data directory was created before the address was checked: %v", err)
	}
}

// TestStartupConfigFile: a real server takes its settings from --config, and stops on a
// mistake in the file naming file, line and key.
func TestStartupConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "refstore.yaml")
	os.WriteFile(cfg, []byte("max-upload-size: 1KiB\naccess-log: true\n"), 0o600)
	n := startNode(t, nodeOptions{Args: []string{"--config", cfg}})
	c := &cluster{nodes: []*node{n}}
	s := newTenant(t, c).as("pm")
	s.uploadResp("small.txt", "", bytes.Repeat([]byte("x"), 1024)).expect(t, 200)
	s.uploadResp("big.txt", "", bytes.Repeat([]byte("x"), 1025)).expectError(t, 413, "too_large")
	if len(waitLog(t, n, "request")) == 0 {
		t.Fatalf("access-log: true from the file did not log requests:\n%s", n.logs())
	}

	os.WriteFile(cfg, []byte("max-upload-size: 1KiB\nacces-log: true\n"), 0o600)
	stderr := runServeFails(t, "--config", cfg)
	if want := cfg + `:2: unknown setting "acces-log" (did you mean "access-log"?)`; !strings.Contains(stderr, want) {
		t.Fatalf("stderr %q, want %q", stderr, want)
	}
}

// TestHealthcheckCommand: `refstore healthcheck` exits 0 against a live server, 1 against
// a closed port.
func TestHealthcheckCommand(t *testing.T) {
	n := startNode(t, nodeOptions{})
	out, err := exec.Command(binPath, "healthcheck", "--url", n.url+"/healthz").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "healthy: "+n.url+"/healthz answered 200") {
		t.Fatalf("healthcheck of a live server: %v\n%s", err, out)
	}
	addr := strings.TrimPrefix(n.url, "http://")
	cmd := exec.Command(binPath, "healthcheck")
	cmd.Env = append(os.Environ(), "REFSTORE_ADDR="+addr)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck with REFSTORE_ADDR: %v\n%s", err, out)
	}
	n.stop()
	out, err = exec.Command(binPath, "healthcheck", "--url", n.url+"/healthz").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "unhealthy") {
		t.Fatalf("healthcheck of a stopped server: %v\n%s", err, out)
	}
}
