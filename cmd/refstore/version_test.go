package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/refstore/refstore/internal/buildinfo"
)

// TestVersionCommand: `refstore version` prints the version and the toolchain; --json
// gives the same as one object.
func TestVersionCommand(t *testing.T) {
	cmd := versionCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.HasPrefix(text, "refstore ") || !strings.Contains(text, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) {
		t.Fatalf("version:\n%s", text)
	}
	out.Reset()
	cmd = versionCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var info buildinfo.Info
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if info != buildinfo.Read() || info.Version == "" {
		t.Fatalf("--json %+v, want %+v", info, buildinfo.Read())
	}
}

// TestVersionText: every fact gets its line.
func TestVersionText(t *testing.T) {
	var out bytes.Buffer
	printVersion(&out, buildinfo.Info{Version: "devel", Revision: "abc123", Modified: true, CommitTime: "2026-12-03T10:00:00Z",
		BuildTime: "2026-12-03T11:00:00Z", GoVersion: "go1.26.8", OS: "linux", Arch: "amd64"})
	want := "refstore devel\n  commit:     abc123 (modified)\n  committed:  2026-12-03T10:00:00Z\n" +
		"  built:      2026-12-03T11:00:00Z\n  go:         go1.26.8 linux/amd64\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// TestHealthcheckStatus: 200 is healthy; any other answer, or none, is not, with the reason.
func TestHealthcheckStatus(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := healthcheck(ctx, srv.URL+"/healthz", false); err != nil {
		t.Fatal(err)
	}
	status = http.StatusServiceUnavailable
	if err := healthcheck(ctx, srv.URL+"/healthz", false); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a 503 is unhealthy: %v", err)
	}
	url := srv.URL + "/healthz"
	srv.Close()
	if err := healthcheck(ctx, url, false); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("a closed port is unhealthy: %v", err)
	}
}

// TestHealthcheckTLS: a TLS server is asked without verifying its certificate.
func TestHealthcheckTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if err := healthcheck(context.Background(), srv.URL+"/healthz", true); err != nil {
		t.Fatal(err)
	}
	if err := healthcheck(context.Background(), srv.URL+"/healthz", false); err == nil {
		t.Fatal("a self-signed certificate verified")
	}
}

// TestHealthcheckURL: the default URL is the server's own address, asked on loopback.
func TestHealthcheckURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		":8080":          "http://127.0.0.1:8080/healthz",
		"[::]:8080":      "http://[::1]:8080/healthz",
		"10.0.0.5:81":    "http://10.0.0.5:81/healthz",
	} {
		if got, _ := healthURL(addr, false); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
	if got, insecure := healthURL(":8443", true); got != "https://127.0.0.1:8443/healthz" || !insecure {
		t.Errorf("tls: %s %v", got, insecure)
	}
}
