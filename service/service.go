// Package service implements refstore's operations — authentication, media upload, the
// segment-asset calls and administration — over a refstore.MetaStore and a
// refstore.BlobStore. It owns the rights checks and the order of writes that makes every
// change crash-safe: bytes are durable before the metadata naming them commits, and
// metadata is removed before the bytes it named.
package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/keylock"
	"github.com/refstore/refstore/ratelimit"
	"github.com/refstore/refstore/webhook"
)

// Config holds the limits and lifetimes of the service.
type Config struct {
	TokenTTL      time.Duration // sliding expiry of sessions; default 30 min
	FileTokenTTL  time.Duration // lifetime of file tokens; default 24 h
	MaxUploadSize int64         // hard limit of one upload in bytes; default 5 GiB
	// DeleteGrace is how long bytes that lost their last reference stay readable before
	// they are deleted, for readers that found them just before. 0 deletes at once, which
	// suits the filesystem (an open file stays readable); S3 readers need a grace period.
	DeleteGrace time.Duration
	// OrphanGrace is how old bytes no metadata names must be before a sweep deletes them:
	// younger ones may belong to an upload still committing on another node.
	OrphanGrace time.Duration // default 1 h
	// ExclusiveMetadata says this process is the only one changing the metadata (the
	// embedded default): the rate limit then counts exactly in memory.
	ExclusiveMetadata bool
	// BlobCacheSize is how many bytes of small blobs (up to 256 KiB each) are kept in
	// memory; 0 keeps none.
	BlobCacheSize int64
	// AuditRetention is how long audit rows are kept; the sweeper removes older ones. 0
	// keeps them forever.
	AuditRetention time.Duration
	// RateLimit is how many requests each API key may make per RateWindow; 0: no limit
	// (accounts may set their own in the catalog).
	RateLimit  int64
	RateWindow time.Duration // default 1 h
	// MaxUploadsPerKey caps the uploads of one API key in progress at once on a node; 0:
	// no cap.
	MaxUploadsPerKey int
	// WebhookGuard decides which addresses webhook endpoints may point at; endpoints are
	// checked against it when they are created (the deliverer checks every connection).
	WebhookGuard webhook.Guard
	// WebhookRetention is how long delivered and failed deliveries stay listed; default
	// 30 days.
	WebhookRetention time.Duration
}

func (c *Config) setDefaults() {
	if c.TokenTTL <= 0 {
		c.TokenTTL = 30 * time.Minute
	}
	if c.FileTokenTTL <= 0 {
		c.FileTokenTTL = 24 * time.Hour
	}
	if c.MaxUploadSize <= 0 {
		c.MaxUploadSize = 5 << 30
	}
	if c.OrphanGrace <= 0 {
		c.OrphanGrace = time.Hour
	}
	if c.RateWindow <= 0 {
		c.RateWindow = time.Hour
	}
	if c.WebhookRetention <= 0 {
		c.WebhookRetention = 30 * 24 * time.Hour
	}
}

// Service is refstore's application logic.
type Service struct {
	meta   refstore.MetaStore
	blobs  refstore.BlobStore
	mirror refstore.Mirror // nil when the blob store keeps no browsable tree
	// What the stores can do besides their interfaces, found once (see Capabilities).
	metaCaps refstore.MetaCapabilities
	blobCaps refstore.BlobCapabilities
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	// views hand out the views requests read through: the metadata store's own when it
	// caches (metacache), otherwise plain reads of the store.
	views  refstore.MetaViews
	small  *blobCache // nil when cfg.BlobCacheSize is 0
	limits *ratelimit.Limiter
	// segmentLocks order the writes of a segment from their metadata commit to their
	// update of the reference-material tree (see lockSegment).
	segmentLocks keylock.Set
}

// New builds a service. When meta hands out views (metacache), requests read through them;
// when it tells of catalog changes, the accounts' limits follow them. When blobs also
// implements refstore.Mirror, the reference-material tree is kept up to date.
func New(meta refstore.MetaStore, blobs refstore.BlobStore, cfg Config, log *slog.Logger) *Service {
	cfg.setDefaults()
	s := &Service{meta: meta, blobs: blobs, cfg: cfg, log: log, now: time.Now,
		metaCaps: refstore.MetaCapabilitiesOf(meta), blobCaps: refstore.BlobCapabilitiesOf(blobs)}
	s.mirror = s.blobCaps.Mirror
	s.limits = ratelimit.New(meta, ratelimit.Config{RateLimit: cfg.RateLimit, Window: cfg.RateWindow,
		MaxUploadsPerKey: cfg.MaxUploadsPerKey, Shared: !cfg.ExclusiveMetadata, Now: func() time.Time { return s.now() }}, log)
	s.views = refstore.StoreViews(meta)
	if s.metaCaps.Views != nil {
		s.views = s.metaCaps.Views
	}
	if s.metaCaps.Notifier != nil {
		s.metaCaps.Notifier.OnCatalogChange(s.limits.CatalogChanged)
	}
	if cfg.BlobCacheSize > 0 {
		s.small = newBlobCache(cfg.BlobCacheSize)
	}
	return s
}

// lockSegment serialises this process's writes of one segment from their metadata commit
// through their update of the reference-material tree, so that the tree applies them in
// commit order: otherwise two overwrites (or an overwrite and a delete) of one address that
// commit in one order can reach the tree in the other and leave it holding what the
// metadata no longer says. Only the filesystem store keeps a tree. On the embedded default
// one process uses it; nodes that share a data directory (PostgreSQL with files) each
// order their own writes, and what reaches the tree out of order across nodes is repaired
// by a node that holds the directory alone, or by fsck --repair (docs/deploy.md): the
// metadata stays the truth.
func (s *Service) lockSegment(segmentID int64) (unlock func()) {
	if s.mirror == nil {
		return func() {}
	}
	return s.segmentLocks.Lock(segmentID)
}

// Capabilities returns what the stores can do besides their interfaces, as found when
// the service was built (logged at start).
func (s *Service) Capabilities() (refstore.MetaCapabilities, refstore.BlobCapabilities) {
	return s.metaCaps, s.blobCaps
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// MaxUploadSize is the hard limit of one upload in bytes.
func (s *Service) MaxUploadSize() int64 { return s.cfg.MaxUploadSize }

// Ready reports whether both stores are usable.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.meta.Ping(ctx); err != nil {
		return &refstore.Error{Code: refstore.CodeUnavailable, Message: "The metadata store is unavailable.", Err: err}
	}
	if err := s.blobs.Ping(ctx); err != nil {
		return &refstore.Error{Code: refstore.CodeUnavailable, Message: "The blob store is unavailable.", Err: err}
	}
	return nil
}

// view is the view a caller's request reads through: the one taken at its start, or a new
// one for callers made without (tools, tests).
func (s *Service) view(ctx context.Context, p refstore.Principal) refstore.MetaView {
	if p.View != nil {
		return p.View
	}
	return s.views.View(ctx)
}

// hashSecret is how tokens, file tokens and API keys are stored: they are long random
// strings, so a plain SHA-256 is enough to make a stolen database useless.
func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// newAssetID draws a random id in [10^17, 2^63): unique without coordination between
// nodes, and as long as the ids Wordbee shows (re_657739295220518912).
func newAssetID() int64 {
	const lo = int64(1e17)
	v := int64(binary.BigEndian.Uint64(randomBytes(8)) >> 1)
	return lo + v%(1<<63-1-lo)
}

// Admit counts an authenticated request against the rate limit of its API key, and
// refuses it (429) when the key has used up its window (see ratelimit).
func (s *Service) Admit(ctx context.Context, p refstore.Principal) error {
	return s.limits.Admit(ctx, p)
}

// RunLimits flushes the request counters of the rate limit until ctx ends.
func (s *Service) RunLimits(ctx context.Context) { s.limits.Run(ctx) }

// AccountUsage returns what an account stores and its quota.
func (s *Service) AccountUsage(ctx context.Context, account string) (refstore.Usage, error) {
	return s.meta.AccountUsage(ctx, account)
}
