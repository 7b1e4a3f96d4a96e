package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckCommand asks a running server whether it is alive: the HEALTHCHECK of a
// container image that has no curl (FROM scratch, distroless). Exit 0 when the URL answers
// 200, 1 otherwise.
func healthcheckCommand() *cobra.Command {
	var (
		addr, url, tlsCert string
		timeout            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [--url http://127.0.0.1:8080/healthz]",
		Short: "Exit 0 when the server answers its health check with 200, 1 otherwise (for container HEALTHCHECKs)",
		Long: `GETs the server's /healthz (or --url) and exits 0 on a 200, 1 on anything else, saying why
on stderr. Without --url the address is the server's own setting: --addr, REFSTORE_ADDR or
the configuration file, with 0.0.0.0 and [::] asked on the loopback address; when the server
serves TLS (--tls-cert or REFSTORE_TLS_CERT) it is asked over https without verifying its
certificate, since the check is whether this server answers, not who it is.`,
		Args: cobra.NoArgs,
	}
	f := envFlags{fs: cmd.Flags()}
	f.Addr(&addr, "addr", "127.0.0.1:8080", "the server's --addr, which the default --url is built from")
	f.String(&tlsCert, "tls-cert", "", "the server's --tls-cert: when set, the default --url is https")
	cmd.Flags().StringVar(&url, "url", "", "the URL to GET (default http://{addr}/healthz)")
	cmd.Flags().Var(newDuration(&timeout, 5*time.Second, ""), "timeout", "how long the answer may take")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.err != nil {
			return &exitError{1, f.err}
		}
		insecure := false
		if url == "" {
			url, insecure = healthURL(addr, tlsCert != "")
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		if err := healthcheck(ctx, url, insecure); err != nil {
			return &exitError{1, fmt.Errorf("unhealthy: %w", err)}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "healthy: %s answered 200\n", url)
		return nil
	}
	return cmd
}

// healthURL is the /healthz URL of a server listening on addr, asked from the same host.
func healthURL(addr string, tls bool) (url string, insecure bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "127.0.0.1", "8080"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz", tls
}

func healthcheck(ctx context.Context, url string, insecure bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, body)
	}
	return nil
}
