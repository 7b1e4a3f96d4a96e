package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// certReloader holds the server's certificate and key, read from two PEM files. It reads
// them again on SIGHUP, so that a renewed certificate takes effect without a restart;
// connections already open keep the certificate they were made with.
type certReloader struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

func (c *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s / --tls-key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&cert)
	return nil
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// tlsConfig returns the TLS configuration of --tls-cert and --tls-key, or nil when neither
// is set (plain HTTP). TLS 1.2 is the minimum; http.Server.ServeTLS adds HTTP/2 ("h2")
// and HTTP/1.1 to the ALPN protocols. Until ctx ends, SIGHUP reloads the files; a reload
// that fails keeps the certificate in use and logs why.
func tlsConfig(ctx context.Context, certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	if err := r.load(); err != nil {
		return nil, err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := r.load(); err != nil {
					log.Error("SIGHUP: reloading the TLS certificate failed; keeping the current one", "err", err)
				} else {
					log.Info("SIGHUP: reloaded the TLS certificate", "cert", certFile)
				}
			}
		}
	}()
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.getCertificate}, nil
}
