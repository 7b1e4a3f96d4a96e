package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/refstore/refstore/internal/buildinfo"
)

// accountLister is what announce asks of the service: whether any account exists.
type accountLister interface {
	Accounts(ctx context.Context) ([]string, error)
}

// announce logs, once the server listens, what a person who just started it needs next:
// the build, where the admin token is (its file, never its value), and, while the catalog
// holds no account, the command that loads one.
func announce(ctx context.Context, log *slog.Logger, svc accountLister, data, addr string, tls bool) {
	info := buildinfo.Read()
	log.Info("build", "version", info.Short(), "go", info.GoVersion)
	bearer := "$REFSTORE_ADMIN_TOKEN"
	if os.Getenv("REFSTORE_ADMIN_TOKEN") != "" {
		log.Info("the admin API's token is REFSTORE_ADMIN_TOKEN, from the environment")
	} else {
		file := adminTokenFile(data)
		log.Info("the admin API's token is in a file", "file", file)
		bearer = "$(cat " + shellQuote(file) + ")"
	}
	if ctx == nil {
		ctx = context.Background()
	}
	// A hint is not worth holding up the start: a slow metadata store skips it.
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	accounts, err := svc.Accounts(ctx)
	if err != nil || len(accounts) > 0 {
		return
	}
	log.Info("the catalog is empty: load accounts, users and projects through the admin API "+
		"(README, quick start); from the repository's root, the sample catalog:",
		"command", loadCatalogCommand(baseURL(addr, tls), bearer))
}

// adminTokenFile is where serve keeps a generated admin token, as an absolute path so that
// it can be used from any directory.
func adminTokenFile(data string) string {
	p := filepath.Join(data, "admin.token")
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// loadCatalogCommand is a curl command that loads testdata/samples/catalog.json. It holds
// no double quotes, which a log line would escape: it can be copied from text and JSON
// logs alike.
func loadCatalogCommand(base, bearer string) string {
	return "curl --fail-with-body -sS -X PUT " + base + "/admin/v1/catalog --oauth2-bearer " + bearer +
		" -H 'Content-Type: application/json' --data-binary @testdata/samples/catalog.json"
}

// baseURL is the URL a client on this machine reaches a listener on addr at.
func baseURL(addr string, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// shellQuote quotes s for a POSIX shell with single quotes, when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// listenError turns a failure to listen into what to do about it: a busy port, a port
// that needs privileges, an address the machine does not have.
func listenError(flag, addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("address %s is already in use: stop the other process or pass %s %s", addr, flag, nextPort(addr))
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s %s: ports below 1024 need root or CAP_NET_BIND_SERVICE: use a port from 1024 on (8080) behind a proxy, "+
			"or grant the capability (AmbientCapabilities=CAP_NET_BIND_SERVICE in a systemd unit)", flag, addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("%s %s: this machine has no such address: use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)", flag, addr)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("%s %s: the host name does not resolve (%v): give an IP address, like 127.0.0.1:8080", flag, addr, dnsErr)
	}
	return fmt.Errorf("%s %s: %w", flag, addr, err)
}

// nextPort is addr with the port after its own: the suggestion for a busy port.
func nextPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n >= 65535 {
		return net.JoinHostPort(host, "8081")
	}
	return net.JoinHostPort(host, strconv.Itoa(n+1))
}
