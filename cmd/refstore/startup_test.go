package main

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestStartupListenErrors: each way listening fails says what to do.
func TestStartupListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	_, err = net.Listen("tcp", addr)
	port := busy.Addr().(*net.TCPAddr).Port
	if got := listenError("--addr", addr, err).Error(); got != "address "+addr+" is already in use: stop the other process or pass --addr "+
		net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)) {
		t.Errorf("busy: %s", got)
	}
	// 192.0.2.1 (TEST-NET-1) is an address no machine has: binding it fails at once.
	_, err = net.Listen("tcp", "192.0.2.1:0")
	if got := listenError("--addr", "192.0.2.1:0", err).Error(); !strings.Contains(got, "this machine has no such address: use 127.0.0.1") {
		t.Errorf("not an address of this machine: %s", got)
	}
	denied := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)}
	if got := listenError("--addr", ":80", denied).Error(); !strings.Contains(got, "ports below 1024 need root or CAP_NET_BIND_SERVICE") {
		t.Errorf("privileged port: %s", got)
	}
	if got := nextPort(":8080"); got != ":8081" {
		t.Errorf("nextPort(:8080) = %s", got)
	}
}

// TestStartupHintCommand: the hint's command names the token file (quoted when it needs
// it) or the variable, the server's loopback URL, and holds no double quote.
func TestStartupHintCommand(t *testing.T) {
	for addr, want := range map[string]string{"0.0.0.0:9000": "http://127.0.0.1:9000", "[::]:9000": "http://[::1]:9000",
		"127.0.0.1:8080": "http://127.0.0.1:8080", "10.1.2.3:80": "http://10.1.2.3:80"} {
		if got := baseURL(addr, false); got != want {
			t.Errorf("baseURL(%s) = %s, want %s", addr, got, want)
		}
	}
	if got := baseURL("127.0.0.1:8443", true); got != "https://127.0.0.1:8443" {
		t.Errorf("tls: %s", got)
	}
	cmd := loadCatalogCommand("http://127.0.0.1:8080", "$(cat "+shellQuote("/var/lib/my data/admin.token")+")")
	if !strings.Contains(cmd, "--oauth2-bearer $(cat '/var/lib/my data/admin.token') ") || strings.Contains(cmd, `"`) {
		t.Errorf("command %s", cmd)
	}
	if got := shellQuote("/plain/path-1.token"); got != "/plain/path-1.token" {
		t.Errorf("a plain path was quoted: %s", got)
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Errorf("quote: %s", got)
	}
}
