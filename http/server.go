// Package http serves refstore's API: the Wordbee-compatible /api routes, the admin API,
// health and metrics. Handlers parse and validate input, call the operations of the
// Service interface declared here (package service implements it) and write the response
// in the shapes of package wire; errors map to a status in one place (errors.go).
package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/buildinfo"
	"github.com/refstore/refstore/ui"
	"github.com/refstore/refstore/wire"
)

// Config configures the HTTP layer.
type Config struct {
	// PublicURL is the base of the download URLs in asset JSON (https://assets.example.com).
	// When empty, it is taken from each request.
	PublicURL string
	// AdminToken authenticates the admin API. When empty the admin API is disabled.
	AdminToken string
	// AccessLog logs every request (method, route, status, bytes, duration, request id).
	// Requests that fail with a 5xx are logged either way.
	AccessLog bool
	// PresignTTL, when positive, makes downloads of blobs that can be fetched directly (S3)
	// redirect to a URL valid this long instead of streaming through the node.
	PresignTTL time.Duration
	// BodyReadTimeout is how long a request body may send nothing before the request fails
	// with 408; 0: no limit.
	BodyReadTimeout time.Duration
	// CORSOrigins are the origins (see ParseCORSOrigins) whose pages may call the /api
	// routes; none when empty.
	CORSOrigins []string
}

// API is what the /api routes and the health checks call: refstore's operations, as
// package service implements them.
type API interface {
	Ready(ctx context.Context) error
	MaxUploadSize() int64
	Login(ctx context.Context, account, key string) (string, error)
	Logout(ctx context.Context, token, account string) error
	// Authenticate checks a call's token; the principal carries the view of the
	// metadata the request reads through.
	Authenticate(ctx context.Context, token, account string) (refstore.Principal, error)
	// Admit counts the call against the rate limit of the caller's API key.
	Admit(ctx context.Context, p refstore.Principal) error
	Upload(ctx context.Context, p refstore.Principal, name string, body io.Reader, maxSize int64) (*refstore.Upload, string, error)
	OpenUpload(ctx context.Context, p refstore.Principal, token string) (*refstore.Upload, refstore.Content, error)
	Attach(ctx context.Context, p refstore.Principal, sc refstore.Scope, segmentID int64, req refstore.AttachRequest) (*refstore.Asset, error)
	OpenAsset(ctx context.Context, p refstore.Principal, sc refstore.Scope, segmentID int64, addr refstore.Address) (*refstore.Asset, refstore.Content, error)
	OpenAssetByID(ctx context.Context, p refstore.Principal, id int64) (*refstore.Asset, refstore.Content, error)
	List(ctx context.Context, p refstore.Principal, sc refstore.Scope, segmentIDs []int64) ([]refstore.Asset, error)
	Delete(ctx context.Context, p refstore.Principal, sc refstore.Scope, segmentID int64, addr *refstore.Address) (int, error)
	// ScopeRights returns the caller's access to a project or job scope (read right needed).
	ScopeRights(ctx context.Context, p refstore.Principal, sc refstore.Scope) (refstore.Access, error)
	// Persons, FlexDocuments and FlexDocument read the catalog for the routes connectors
	// call to set up a connection.
	Persons(ctx context.Context, p refstore.Principal, req refstore.ListRequest) (int, []refstore.Person, error)
	FlexDocuments(ctx context.Context, p refstore.Principal, req refstore.ListRequest) (int, []refstore.FlexDocument, error)
	FlexDocument(ctx context.Context, p refstore.Principal, sc refstore.Scope) (refstore.DocumentInfo, error)
	// AuthenticateKey authenticates a call by an API key (memories.ai's Authorization).
	AuthenticateKey(ctx context.Context, key string) (refstore.Principal, error)
}

// Admin is what the admin API calls.
type Admin interface {
	UpsertCatalog(ctx context.Context, c *refstore.Catalog) error
	Accounts(ctx context.Context) ([]string, error)
	AccountCatalog(ctx context.Context, account string) (*refstore.CatalogAccount, error)
	AccountUsage(ctx context.Context, account string) (refstore.Usage, error)
	RemoveEntry(ctx context.Context, e refstore.Entry) error
	IssueKey(ctx context.Context, account string, user int64) (refstore.APIKey, string, error)
	APIKeys(ctx context.Context, account string, user int64) ([]refstore.APIKey, error)
	RevokeKey(ctx context.Context, account string, user int64, id string) error
	AuditLog(ctx context.Context, f refstore.AuditFilter) ([]refstore.AuditEvent, error)
	Sweep(ctx context.Context) (refstore.SweepReport, error)
	CreateWebhook(ctx context.Context, account, url string, events []string, description string) (refstore.WebhookEndpoint, error)
	Webhooks(ctx context.Context, account string) ([]refstore.WebhookEndpoint, error)
	DeleteWebhook(ctx context.Context, account, id string) error
	Deliveries(ctx context.Context, f refstore.DeliveryFilter) ([]refstore.Delivery, error)
	ReplayDelivery(ctx context.Context, account, id string) error
}

// Service is what NewServer serves.
type Service interface {
	API
	Admin
}

// Server is refstore's HTTP handler.
type Server struct {
	svc     Service
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	headers headerCache
	cors    *cors // nil without CORSOrigins
	handler http.Handler
}

// NewServer builds the handler with all routes.
func NewServer(svc Service, cfg Config, log *slog.Logger) *Server {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{svc: svc, cfg: cfg, log: log, metrics: newMetrics(), cors: newCORS(cfg.CORSOrigins)}
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = s.observe(s.limitRequests(mux))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes(mux *http.ServeMux) {
	api := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, s.apiHandler(h))
	}
	api("POST /api/auth/token", s.login)
	api("DELETE /api/auth/token", s.logout)
	api("PUT /api/auth/token/invalidate", s.logout)

	api("POST /api/media/upload", s.authed(s.upload))
	api("GET /api/media/get/{token}", s.authed(s.mediaGet))

	api("POST /api/resources/assets/{segmentid}", s.authed(s.attach))
	api("GET /api/resources/assets/{segmentid}", s.authed(s.download))
	api("DELETE /api/resources/assets/{segmentid}", s.authed(s.delete))
	api("GET /api/resources/assets/{segmentid}/list", s.authed(s.listOne))
	api("GET /api/resources/assets/list", s.authed(s.listMany))

	flex := "/api/apps/wbflex/documents/{id}/assets/"
	api("POST "+flex+"{segmentid}", s.authed(s.attach))
	api("GET "+flex+"{segmentid}", s.authed(s.download))
	api("DELETE "+flex+"{segmentid}", s.authed(s.delete))
	api("GET "+flex+"{segmentid}/list", s.authed(s.listOne))
	api("GET "+flex+"list", s.authed(s.listMany))

	mux.Handle("GET /api/assets/{assetId}/download", s.downloadByIDHandler())
	api("GET /api/browse/scopes/{scope}", s.authed(s.scopeRights))

	// What connectors call to set up a connection (connectors.go), and memories.ai's
	// download (memories.go).
	api("POST /api/persons/list", s.authed(s.personsList))
	api("POST /api/apps/wbflex/list", s.authed(s.flexList))
	api("GET /api/apps/wbflex/documents/{id}", s.authed(s.flexDocument))
	mux.Handle("GET /serve/api/v2/{asset_id}/download", s.memoriesDownloadHandler())
	mux.Handle("/serve/api/v2/", s.noMemoriesRoute(mux))
	mux.Handle("/serve/api/v2", s.noMemoriesRoute(mux)) // answered, not redirected to the prefix

	admin := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, s.apiHandler(s.adminOnly(h)))
	}
	admin("PUT /admin/v1/catalog", s.putCatalog)
	admin("GET /admin/v1/accounts", s.listAccounts)
	admin("GET /admin/v1/accounts/{account}", s.getAccount)
	admin("GET /admin/v1/accounts/{account}/usage", s.accountUsage)
	admin("DELETE /admin/v1/accounts/{account}", s.removeEntry)
	admin("DELETE /admin/v1/accounts/{account}/{kind}/{id}", s.removeEntry)
	admin("DELETE /admin/v1/accounts/{account}/users/{userId}/grants/{target}", s.removeGrant)
	admin("POST /admin/v1/accounts/{account}/users/{userId}/keys", s.issueKey)
	admin("GET /admin/v1/accounts/{account}/users/{userId}/keys", s.listKeys)
	admin("DELETE /admin/v1/accounts/{account}/users/{userId}/keys/{keyId}", s.revokeKey)
	admin("GET /admin/v1/audit", s.auditLog)
	admin("POST /admin/v1/accounts/{account}/webhooks", s.createWebhook)
	admin("GET /admin/v1/accounts/{account}/webhooks", s.listWebhooks)
	admin("DELETE /admin/v1/accounts/{account}/webhooks/{id}", s.deleteWebhook)
	admin("GET /admin/v1/accounts/{account}/webhooks/deliveries", s.listDeliveries)
	admin("POST /admin/v1/accounts/{account}/webhooks/deliveries/{id}/replay", s.replayDelivery)
	admin("POST /admin/v1/sweep", s.sweep)

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())

	webUI := ui.NewHandler() // the web UI (docs/ui.md): the page at / and its files
	mux.Handle("GET /{$}", webUI)
	mux.Handle("GET /ui/", webUI)

	mux.Handle("/", s.apiHandler(func(w http.ResponseWriter, r *http.Request) error {
		return noRoute(w, mux, r)
	}))
}

// catchAll are the patterns that answer paths no route serves (everything, and the
// memories.ai API in its envelope): a probe that lands on them has found no route.
var catchAll = []string{"/", "/serve/api/v2/", "/serve/api/v2"}

// apiHandler adapts a handler that returns an error.
func (s *Server) apiHandler(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// noRoute answers 405 with Allow when the path exists for other methods, 404 otherwise.
func noRoute(w http.ResponseWriter, mux *http.ServeMux, r *http.Request) error {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && !slices.Contains(catchAll, pattern) {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return refstore.Errorf(CodeMethodNotAllowed, "%s is not allowed here; use %s.", r.Method, strings.Join(allow, ", "))
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		// A connector calls Wordbee routes refstore does not serve (orders, projects,
		// trm…): it must read a reason, never a page or an empty body.
		return refstore.Errorf(refstore.CodeNotFound,
			"The route %s %s is not supported by refstore (it serves the segment-asset part of the Wordbee API).",
			r.Method, refstore.Excerpt(r.URL.Path, 200))
	}
	return refstore.Errorf(refstore.CodeNotFound, "No route for %s %s.", r.Method, refstore.Excerpt(r.URL.Path, 200))
}

// adminOnly checks the admin bearer token in constant time. The digests are compared,
// not the tokens: ConstantTimeCompare returns at once on a length mismatch, which would
// tell the token's length.
func (s *Server) adminOnly(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if s.cfg.AdminToken == "" || !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return refstore.Errorf(refstore.CodeUnauthorized, "The admin API needs Authorization: Bearer <admin token>.")
		}
		return h(w, r)
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, wire.Status{Status: "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, wire.Status{Status: "unavailable", Reason: refstore.AsError(err).Message})
		return
	}
	writeJSON(w, http.StatusOK, wire.Status{Status: "ready"})
}

// metrics are labelled by route pattern and status only: no tenant data.
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	responseBytes *prometheus.CounterVec
	inFlight      prometheus.Gauge
	children      sync.Map // routeStatus → *routeMetrics
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "refstore_http_requests_total",
			Help: "HTTP requests by route pattern and status."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "refstore_http_request_duration_seconds",
			Help: "HTTP request duration by route pattern.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)},
			[]string{"route"}),
		responseBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "refstore_http_response_bytes_total",
			Help: "Bytes written in HTTP responses by route pattern."}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "refstore_http_requests_in_flight",
			Help: "HTTP requests being served."}),
	}
	m.reg.MustRegister(buildinfo.Read().Collector())
	m.reg.MustRegister(m.requests, m.duration, m.responseBytes, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// routeMetrics are the metric children of one route and status, resolved once: looking
// them up by label values costs a hash and an allocation per request.
type routeMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
	bytes    prometheus.Counter
}

type routeStatus struct {
	route  string
	status int
}

func (m *metrics) forRoute(route string, status int) *routeMetrics {
	k := routeStatus{route, status}
	if rm, ok := m.children.Load(k); ok {
		return rm.(*routeMetrics)
	}
	rm := &routeMetrics{requests: m.requests.WithLabelValues(route, strconv.Itoa(status)),
		duration: m.duration.WithLabelValues(route), bytes: m.responseBytes.WithLabelValues(route)}
	m.children.Store(k, rm)
	return rm
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// NewHTTPServer returns an http.Server with the timeouts and limits a public service
// needs: slow clients cannot hold connections open forever, headers are bounded.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
