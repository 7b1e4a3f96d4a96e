package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/refstore/refstore"
	refhttp "github.com/refstore/refstore/http"
	"github.com/refstore/refstore/metacache"
	"github.com/refstore/refstore/service"
	"github.com/refstore/refstore/sqlstore"
	"github.com/refstore/refstore/webhook"
)

type serveConfig struct {
	addr          string
	stores        storeURLs
	publicURL     string
	maxUpload     byteSize
	tokenTTL      time.Duration
	fileTokenTTL  time.Duration
	sweepInterval time.Duration
	shutdownGrace time.Duration
	deleteGrace   time.Duration
	orphanGrace   time.Duration
	orphanSweep   time.Duration
	auditKeep     time.Duration
	presign       time.Duration
	blobCache     byteSize
	rateLimit     int64
	rateWindow    time.Duration
	uploadsPerKey int
	headerTimeout time.Duration
	idleTimeout   time.Duration
	bodyTimeout   time.Duration
	corsOrigins   string
	debugAddr     string
	tlsCert       string
	tlsKey        string
	accessLog     bool
	logFormat     string
	logLevel      string
	webhooks      webhookFlags
}

// webhookFlags configure the delivery of webhooks.
type webhookFlags struct {
	allowNetworks string
	workers       int
	timeout       time.Duration
	firstRetry    time.Duration
	retention     time.Duration
}

func serveCommand() *cobra.Command {
	var c serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the service (embedded default: SQLite metadata and files in ./refstore-data)",
		Args:  cobra.NoArgs,
	}
	f := envFlags{fs: cmd.Flags()}
	f.Addr(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.storeFlags(&c.stores)
	f.String(&c.publicURL, "public-url", "", "base of the download URLs in asset JSON (default: from each request)")
	f.Size(&c.maxUpload, "max-upload-size", 5<<30, "hard limit of one upload")
	f.Duration(&c.tokenTTL, "token-ttl", 30*time.Minute, "sessions expire after this long without use")
	f.Duration(&c.fileTokenTTL, "file-token-ttl", 24*time.Hour, "file tokens expire this long after upload")
	f.Duration(&c.sweepInterval, "sweep-interval", time.Minute, "how often expired sessions and uploads are removed")
	f.Duration(&c.shutdownGrace, "shutdown-grace", 30*time.Second, "how long in-flight requests may finish on shutdown")
	f.DurationAuto(&c.deleteGrace, "delete-grace", "0 on files, 15m on S3", "how long unreferenced bytes stay readable before deletion")
	f.Duration(&c.orphanGrace, "orphan-grace", time.Hour, "bytes no metadata names are deleted by the orphan sweep once this old")
	f.Duration(&c.orphanSweep, "orphan-sweep-interval", time.Hour, "how often bytes without metadata are looked for")
	f.Duration(&c.auditKeep, "audit-retention", 90*24*time.Hour, "how long audit log rows are kept (0: forever)")
	f.Duration(&c.presign, "presign-downloads", 0, "S3 only: redirect downloads to presigned URLs valid this long (0: stream through the node)")
	f.Size(&c.blobCache, "blob-cache-size", 32<<20, "memory for the bytes of small blobs (up to 256 KiB each), served without a file open or S3 GET")
	f.Int64(&c.rateLimit, "rate-limit", 0, "requests per API key and --rate-limit-window (0: no limit; accounts may set their own)")
	f.Duration(&c.rateWindow, "rate-limit-window", time.Hour, "window of --rate-limit")
	f.Int(&c.uploadsPerKey, "max-uploads-per-key", 8, "uploads of one API key in progress at once on a node (0: no cap)")
	f.Duration(&c.headerTimeout, "read-header-timeout", 10*time.Second, "how long a client may take to send a request's headers")
	f.Duration(&c.idleTimeout, "idle-timeout", 2*time.Minute, "how long a kept-alive connection may wait for its next request")
	f.Duration(&c.bodyTimeout, "body-read-timeout", refhttp.DefaultBodyReadTimeout, "how long a request body may send nothing before the request fails with 408 (0: no limit)")
	f.String(&c.corsOrigins, "cors-origins", "", "comma-separated origins (https://editor.example.com, or *) whose pages may call the /api routes (default: none)")
	f.Bool(&c.accessLog, "access-log", false, "log every request (failed ones are logged either way)")
	f.String(&c.tlsCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS with HTTP/2 (reloaded on SIGHUP)")
	f.String(&c.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	f.Addr(&c.debugAddr, "debug-addr", "", "address of a separate listener serving /debug/pprof/ (keep it private; default off)")
	f.String(&c.webhooks.allowNetworks, "webhook-allow-networks", "", "comma-separated internal networks (10.0.0.0/8, 127.0.0.1) webhook endpoints may point at (default: public addresses only)")
	f.Int(&c.webhooks.workers, "webhook-workers", 4, "webhook deliveries a node sends at once")
	f.Duration(&c.webhooks.timeout, "webhook-timeout", 10*time.Second, "how long one webhook delivery may take before it counts as failed")
	f.Duration(&c.webhooks.firstRetry, "webhook-first-retry", 5*time.Second, "wait after a delivery's first failure; each further failure doubles it, up to 1h, for a day")
	f.Duration(&c.webhooks.retention, "webhook-retention", 30*24*time.Hour, "how long delivered and failed webhook deliveries stay listed")
	f.String(&c.logFormat, "log-format", "text", "log format: text or json")
	f.String(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.err != nil {
			return f.err
		}
		if err := c.checkLimits(); err != nil {
			return err
		}
		return serve(cmd.Context(), c)
	}
	return cmd
}

// checkLimits refuses limits that make no sense.
func (c *serveConfig) checkLimits() error {
	switch {
	case c.rateLimit < 0:
		return fmt.Errorf("--rate-limit %d: give a number of requests, or 0 for no limit", c.rateLimit)
	case c.rateWindow < time.Second:
		return fmt.Errorf("--rate-limit-window %s: give at least 1s", c.rateWindow)
	case c.headerTimeout <= 0 || c.idleTimeout <= 0:
		return fmt.Errorf("--read-header-timeout and --idle-timeout must be positive")
	case c.bodyTimeout < 0:
		return fmt.Errorf("--body-read-timeout %s: give a duration, or 0 for no limit", c.bodyTimeout)
	case c.webhooks.workers < 1 || c.webhooks.timeout <= 0 || c.webhooks.firstRetry <= 0 || c.webhooks.retention <= 0:
		return fmt.Errorf("--webhook-workers, --webhook-timeout, --webhook-first-retry and --webhook-retention must be positive")
	case c.uploadsPerKey < 0:
		return fmt.Errorf("--max-uploads-per-key %d: give a number of uploads, or 0 for no cap", c.uploadsPerKey)
	}
	return nil
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(flushingHandler{slog.NewTextHandler(logOutput, opts), logOutput}), nil
	case "json":
		return slog.New(flushingHandler{slog.NewJSONHandler(logOutput, opts), logOutput}), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func serve(ctx context.Context, c serveConfig) error {
	tuneGC()
	if c.auditKeep < 0 {
		return fmt.Errorf("--audit-retention %v: must not be negative (0 keeps the audit log forever)", c.auditKeep)
	}
	log, err := newLogger(c.logFormat, c.logLevel)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := openStores(ctx, c.stores)
	if err != nil {
		return err
	}
	defer st.Close()
	logTightened(st, log)
	// The cache of what requests read: alone on the metadata (the embedded default) it sees
	// every change; on a shared store the change feed keeps it coherent.
	metaCaps := refstore.MetaCapabilitiesOf(st.meta)
	meta := metacache.New(st.meta, metacache.Options{Exclusive: c.stores.embedded(), Feed: metaCaps.Feed})
	allowed, err := webhook.ParseNetworks(c.webhooks.allowNetworks)
	if err != nil {
		return fmt.Errorf("--webhook-allow-networks: %w", err)
	}
	guard := webhook.Guard{Allow: allowed}
	svc := service.New(meta, st.blobs, service.Config{TokenTTL: c.tokenTTL, FileTokenTTL: c.fileTokenTTL,
		MaxUploadSize: int64(c.maxUpload), DeleteGrace: st.deleteGrace(c.deleteGrace), OrphanGrace: c.orphanGrace,
		ExclusiveMetadata: c.stores.embedded(), BlobCacheSize: blobCacheSize(c),
		AuditRetention: c.auditKeep, RateLimit: c.rateLimit, RateWindow: c.rateWindow,
		MaxUploadsPerKey: c.uploadsPerKey, WebhookGuard: guard, WebhookRetention: c.webhooks.retention}, log)
	// The deliverer of webhooks: woken by this node's commits, polling for the others'.
	deliverer := webhook.New(meta, webhook.Config{Guard: guard, Workers: c.webhooks.workers, Timeout: c.webhooks.timeout,
		FirstRetry: c.webhooks.firstRetry}, log)
	if metaCaps.Events != nil {
		metaCaps.Events.OnEvents(deliverer.Notify)
	}
	log.Info("capabilities", "stores", capabilities(metaCaps, st, c))
	if err := recoverUnclean(ctx, svc, st, c.orphanGrace, log); err != nil {
		return err
	}
	adminToken, err := adminToken(c.stores.data, !c.stores.embedded(), log)
	if err != nil {
		return err
	}
	corsOrigins, err := refhttp.ParseCORSOrigins(strings.Split(c.corsOrigins, ","))
	if err != nil {
		return fmt.Errorf("--cors-origins: %w", err)
	}
	handler := refhttp.NewServer(svc, refhttp.Config{PublicURL: c.publicURL, AdminToken: adminToken, PresignTTL: c.presign,
		AccessLog: c.accessLog, BodyReadTimeout: c.bodyTimeout,
		CORSOrigins: corsOrigins}, log)
	// inflight counts the handlers still running, so that the stores close after the last.
	var inflight sync.WaitGroup
	srv := refhttp.NewHTTPServer(c.addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Done()
		handler.ServeHTTP(w, r)
	}), log)
	srv.ReadHeaderTimeout, srv.IdleTimeout = c.headerTimeout, c.idleTimeout
	tlsCtx, stopTLS := context.WithCancel(ctx)
	defer stopTLS()
	if srv.TLSConfig, err = tlsConfig(tlsCtx, c.tlsCert, c.tlsKey, log); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return listenError("--addr", c.addr, err)
	}
	if c.debugAddr != "" {
		if err := serveDebug(c.debugAddr, log); err != nil {
			return err
		}
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil, "metadata", redactURL(c.stores.metadataURL()), "blobs", c.stores.blobsURL())
	announce(ctx, log, svc, c.stores.data, ln.Addr().String(), srv.TLSConfig != nil)

	sweepCtx, stopSweeper := context.WithCancel(ctx)
	defer stopSweeper()
	var background sync.WaitGroup
	background.Go(func() { svc.RunSweepers(sweepCtx, c.sweepInterval, c.orphanSweep) })
	background.Go(func() { meta.Run(sweepCtx) })
	background.Go(func() { svc.RunLimits(sweepCtx) })
	background.Go(func() { deliverer.Run(sweepCtx) })

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	serveErr := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			serveErr <- srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-serveErr:
		return err
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String(), "grace", c.shutdownGrace)
	}
	// Shutdown closes the listener at once (new connections are refused), closes idle
	// connections and waits for the requests in flight, up to the grace period.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.shutdownGrace)
	defer cancel()
	go func() {
		// A second signal stops at once, as a crash would: the next start recovers.
		sig := <-sigs
		log.Warn("second signal: stopping now, cutting off the requests in flight", "signal", sig.String())
		logOutput.Flush()
		os.Exit(1)
	}()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("grace period over: cutting off the requests in flight", "err", err)
		srv.Close()
	}
	stopSweeper()
	background.Wait()
	// Handlers cut off notice it at their next read or write; wait for them a little so
	// that none uses the stores after they close.
	if !waitTimeout(&inflight, 10*time.Second) {
		log.Warn("requests still running after the grace period; closing the stores under them")
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("closing the stores: %w", err)
	}
	log.Info("stopped")
	return nil
}

// waitTimeout waits for wg, at most d; it reports whether wg finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// deleteGrace is how long bytes that lost their last reference stay readable: the flag's
// value when it is set (>= 0), otherwise 0 on files (an open file stays readable) and 15
// minutes on S3.
func (st *stores) deleteGrace(flag time.Duration) time.Duration {
	switch {
	case flag >= 0:
		return flag
	case st.s3:
		return 15 * time.Minute
	}
	return 0
}

// recoverUnclean repairs, before anything else uses the stores, what a process that used
// the data directory and did not shut down cleanly left behind.
func recoverUnclean(ctx context.Context, svc *service.Service, st *stores, orphanGrace time.Duration, log *slog.Logger) error {
	if st.files == nil || !st.files.Unclean() {
		return nil
	}
	// Alone on the directory, everything unnamed is a leftover and the tree can be
	// rebuilt; shared with live nodes, only what is older than the orphan grace is.
	alone := !st.files.Shared()
	before := time.Now()
	if !alone {
		before = before.Add(-orphanGrace)
	}
	log.Warn("a process using the data directory did not shut down cleanly; recovering", "alone", alone)
	rep, err := svc.Recover(ctx, before, alone)
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	log.Info("recovered", "orphan_blobs", rep.OrphanBlobs, "unreferenced_blobs", rep.Unreferenced,
		"links_placed", rep.Mirror.Placed, "files_removed", rep.Mirror.Removed, "blobs_missing", rep.Mirror.Missing,
		"took", rep.Duration)
	return nil
}

// capabilities says, once at start, what the stores can do besides their interfaces and
// how the metadata is cached: "cache=exclusive change-feed=no check=yes mirror=yes …".
func capabilities(metaCaps refstore.MetaCapabilities, st *stores, c serveConfig) string {
	cache := "no"
	switch {
	case c.stores.embedded():
		cache = "exclusive"
	case metaCaps.Feed != nil:
		cache = "change-feed"
	}
	presign := "no"
	if c.presign > 0 && st.s3 {
		presign = "yes"
	}
	return "cache=" + cache + " " + metaCaps.String() + " " +
		refstore.BlobCapabilitiesOf(st.blobs).String() + " presign=" + presign
}

// logTightened says what opening the data directory did to the modes an older refstore
// left readable by other users (once; see filestore.Store.Tightened).
func logTightened(st *stores, log *slog.Logger) {
	if st.files == nil {
		return
	}
	n, err := st.files.Tightened()
	if n > 0 {
		log.Warn("made the data directory private: folders are now 0700 and files 0600 (an older refstore left them readable by every local user)",
			"entries_changed", n)
	}
	if err != nil {
		log.Error("the data directory is still partly readable by other users", "err", err)
	}
}

// blobCacheSize is the memory for small blobs: none when downloads redirect to presigned
// URLs, since the bytes then never pass through the node.
func blobCacheSize(c serveConfig) int64 {
	if c.presign > 0 {
		return 0
	}
	return int64(c.blobCache)
}

// tuneGC lets the heap grow to three times what is live (Go's default is twice) under a
// soft limit of 128 MiB: small downloads allocate a little per request, and collecting
// half as often is worth a tenth of the request rate. GOGC and GOMEMLIMIT override it.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(128 << 20)
	}
}

// adminToken returns REFSTORE_ADMIN_TOKEN, or the token in {data}/admin.token, creating
// one (mode 0600) on first start.
func adminToken(data string, cluster bool, log *slog.Logger) (string, error) {
	if t := os.Getenv("REFSTORE_ADMIN_TOKEN"); t != "" {
		return t, nil
	}
	if cluster {
		log.Warn("REFSTORE_ADMIN_TOKEN is not set: this node uses its own admin token from its data directory; " +
			"set the same REFSTORE_ADMIN_TOKEN on every node")
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", err
	}
	root, err := os.OpenRoot(data)
	if err != nil {
		return "", err
	}
	defer root.Close()
	b, err := root.ReadFile("admin.token")
	if err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	t := "rsa_" + hex.EncodeToString(raw)
	if err := root.WriteFile("admin.token", []byte(t+"\n"), 0o600); err != nil {
		return "", err
	}
	log.Info("generated an admin token", "file", filepath.Join(data, "admin.token"))
	return t, nil
}

var _ http.Handler = (*refhttp.Server)(nil)

// redactURL hides a password in a URL before it is logged.
func redactURL(raw string) string { return sqlstore.RedactURL(raw) }
