// Package ratelimit keeps the limits that protect the service from its callers: requests
// per API key and window (counted across nodes through the metadata store), uploads of one
// API key in progress at once on a node, and the serialisation of an account's quota
// checks with their commits.
package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/keylock"
)

// Store is what the limits need of the metadata store.
type Store interface {
	refstore.LimitStore
	// ContentBlob tells whether an account already holds some bytes (they count once).
	ContentBlob(ctx context.Context, c refstore.ContentID) (key string, size int64, ok bool, err error)
}

// Config sets the limits.
type Config struct {
	// RateLimit is how many requests each API key may make per Window; 0: no limit
	// (accounts may set their own in the catalog).
	RateLimit int64
	Window    time.Duration // default 1 h
	// MaxUploadsPerKey caps the uploads of one API key in progress at once on a node; 0:
	// no cap.
	MaxUploadsPerKey int
	// Shared says other nodes count requests in the same store (a shared metadata store):
	// a key past half its limit is then counted in the store request by request. Alone,
	// a node counts exactly in memory.
	Shared bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Rate limiting counts requests per API key (sessions opened with the same key share the
// count) in fixed windows aligned on the window length (whole hours by default). Each node
// counts in memory and adds what it counted to the store's counters every flushInterval or
// every flushBatch requests, learning the totals of the whole cluster in return. A node
// reads a key's total at the key's first request in a window; on a shared store, a key past
// half its limit is counted in the store request by request, together with what the node
// had not flushed. Nodes can still each pass up to half the limit unseen by the others
// before that: in a burst that reaches n nodes within a flush interval, a key can
// overshoot by up to (n-1)×limit/2; in steady traffic by what the others count in a second.
// A single node (the embedded default) counts exactly.
const (
	flushInterval = time.Second
	flushBatch    = 32
	// limitsMaxAge is how old the accounts' limits read from the catalog may get: catalog
	// changes made on another node arrive through the change feed, or after this long.
	limitsMaxAge = 10 * time.Second
	// uploadRetry is what a caller over the cap on concurrent uploads is told to wait.
	uploadRetry = 2 * time.Second
)

// Limiter is the state of rate limiting, of the cap on concurrent uploads, of the
// accounts' limits from the catalog and of the quota locks.
type Limiter struct {
	store Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	mu       sync.Mutex
	start    time.Time        // start of the current window
	known    map[string]int64 // totals the store returned in this window, by key hash
	inflight map[string]int64 // counts being flushed to the store
	sending  map[string]int64 // counts being added to the store by Admit, past half a limit
	pending  map[string]int64 // counted here since the last flush
	npending int
	flush    chan struct{}
	warned   atomic.Int64 // when a failed counter update was last logged (unix ns)

	accounts atomic.Pointer[accountLimits]
	stale    atomic.Bool
	loading  sync.Mutex

	uploadsMu sync.Mutex
	uploads   map[string]int // uploads in progress, by key hash

	// quotaLocks serialise, per account, the quota check of an upload with its commit, so
	// that uploads racing on one node cannot pass the check together.
	quotaLocks keylock.Set
}

type accountLimits struct {
	byAccount map[string]refstore.AccountLimit
	loaded    time.Time
}

// New returns a limiter counting in store.
func New(store Store, cfg Config, log *slog.Logger) *Limiter {
	if cfg.Window <= 0 {
		cfg.Window = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{store: store, cfg: cfg, log: log, now: cfg.Now, known: map[string]int64{},
		sending: map[string]int64{}, pending: map[string]int64{}, flush: make(chan struct{}, 1), uploads: map[string]int{}}
}

// CatalogChanged says the catalog changed: the accounts' limits are read again.
func (l *Limiter) CatalogChanged() { l.stale.Store(true) }

// accountLimit returns the limits an account's catalog entry sets, reading them again when
// they changed or grew old. While one request reads them, others use the previous ones.
func (l *Limiter) accountLimit(ctx context.Context, account string) (refstore.AccountLimit, error) {
	cur := l.accounts.Load()
	if cur == nil || l.stale.Load() || l.now().Sub(cur.loaded) > limitsMaxAge {
		if cur == nil {
			l.loading.Lock() // nothing to use meanwhile
		} else if !l.loading.TryLock() {
			return cur.byAccount[account], nil
		}
		defer l.loading.Unlock()
		if latest := l.accounts.Load(); latest != cur && !l.stale.Load() {
			cur = latest // another request just read them
		} else {
			l.stale.Store(false)
			m, err := l.store.AccountLimits(ctx)
			if err != nil {
				l.stale.Store(true)
				if cur == nil {
					return refstore.AccountLimit{}, err
				}
				l.log.Warn("reading the accounts' limits failed; using the previous ones", "err", err)
				return cur.byAccount[account], nil
			}
			cur = &accountLimits{byAccount: m, loaded: l.now()}
			l.accounts.Store(cur)
		}
	}
	return cur.byAccount[account], nil
}

// rateLimit is the number of requests per window an account's keys may make; 0: no limit.
func (l *Limiter) rateLimit(ctx context.Context, account string) (int64, error) {
	a, err := l.accountLimit(ctx, account)
	switch {
	case err != nil:
		return 0, err
	case a.RateLimit < 0:
		return 0, nil
	case a.RateLimit > 0:
		return a.RateLimit, nil
	}
	return l.cfg.RateLimit, nil
}

// Admit counts an authenticated request against the rate limit of its API key, and
// refuses it (ThrottledError, 429) when the key has used up its window. Refused requests
// are not counted, except on a shared store past half the limit, where a request is
// counted before it is checked (the key is then over its limit anyway).
func (l *Limiter) Admit(ctx context.Context, p refstore.Principal) error {
	limit, err := l.rateLimit(ctx, p.Account)
	if err != nil || limit <= 0 {
		return err
	}
	key := keyOf(p)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now, l.cfg.Window)
	window := l.start // this request's window: now's, or a later one another request began
	if _, seen := l.known[key]; !seen {
		// The key's first request in this window here: its count so far (before a
		// restart, or on other nodes) is in the store. When the store fails, the count
		// starts here, and the next flush brings the store's total.
		if _, ok := l.addNow(ctx, key, 0); !ok {
			if _, seen := l.known[key]; !seen {
				l.known[key] = 0 // not asked again in this window
			}
		}
	}
	count := l.count(key)
	if count < limit && l.cfg.Shared && 2*(count+1) >= limit {
		// Past half its limit, a key is counted in the shared store at once (with what
		// this node had not flushed yet), so that nodes cannot pass the limit together.
		// What is on its way stays in the count the key's other requests here see.
		moved := l.pending[key]
		delete(l.pending, key)
		l.npending -= int(moved)
		l.sending[key] += moved + 1
		total, ok := l.addNow(ctx, key, moved+1)
		if !l.start.Equal(window) {
			return nil // the window ended meanwhile: this request belonged to the last one
		}
		if l.sending[key] -= moved + 1; l.sending[key] == 0 {
			delete(l.sending, key)
		}
		if ok {
			// The store's total includes this request, and what every node added before
			// it; what this node counted but has not added yet comes on top.
			if total+l.inflight[key]+l.pending[key] > limit {
				return l.throttled(now, limit)
			}
			return nil
		}
		l.pending[key] += moved
		l.npending += int(moved)
		count = l.count(key)
	}
	if count >= limit {
		return l.throttled(now, limit)
	}
	l.pending[key]++
	if l.npending++; l.npending >= flushBatch {
		select {
		case l.flush <- struct{}{}:
		default:
		}
	}
	return nil
}

func (l *Limiter) throttled(now time.Time, limit int64) error {
	return refstore.Throttled(l.start.Add(l.cfg.Window).Sub(now),
		"Requests throttled. Maximum allowed %d per %s.", limit, formatWindow(l.cfg.Window))
}

// count is what a key has used of its window, as far as this node knows.
func (l *Limiter) count(key string) int64 {
	return l.known[key] + l.inflight[key] + l.sending[key] + l.pending[key]
}

// addNow adds n requests of a key to the store at once and returns its total, releasing
// l.mu meanwhile. It reports whether the total was taken.
func (l *Limiter) addNow(ctx context.Context, key string, n int64) (int64, bool) {
	start := l.start
	l.mu.Unlock()
	totals, err := l.store.AddRequests(ctx, start, map[string]int64{key: n})
	l.mu.Lock()
	if err != nil {
		if now := time.Now().UnixNano(); now-l.warned.Load() > int64(10*time.Second) {
			l.warned.Store(now)
			l.log.Warn("updating a request counter failed; counting in memory", "err", err)
		}
		return 0, false
	}
	if !l.start.Equal(start) {
		return 0, false // the window ended meanwhile
	}
	l.known[key] = max(l.known[key], totals[key])
	return totals[key], true
}

// roll starts a new window when now is past the current one. What was not yet flushed
// belongs to the window that ended, and is dropped. Windows only move forward: a request
// that read the clock before a boundary and takes the lock after another began the next
// window counts in that one (bringing the older window back would drop what is pending in
// the newer one).
func (l *Limiter) roll(now time.Time, window time.Duration) {
	if start := now.Truncate(window); start.After(l.start) {
		l.start = start
		l.known, l.inflight, l.pending, l.npending = map[string]int64{}, nil, map[string]int64{}, 0
		l.sending = map[string]int64{}
	}
}

// formatWindow writes a window as Wordbee does (a .NET TimeSpan): 01:00:00, 1.00:00:00.
func formatWindow(d time.Duration) string {
	days, d := d/(24*time.Hour), d%(24*time.Hour)
	s := fmt.Sprintf("%02d:%02d:%02d", d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second)
	if days > 0 {
		s = fmt.Sprintf("%d.%s", days, s)
	}
	return s
}

// Flush adds the requests counted here to the store's counters, and takes the
// cluster-wide totals the store returns.
func (l *Limiter) Flush(ctx context.Context) error {
	l.mu.Lock()
	if l.npending == 0 {
		l.mu.Unlock()
		return nil
	}
	batch, start := l.pending, l.start
	l.inflight, l.pending, l.npending = batch, map[string]int64{}, 0
	l.mu.Unlock()

	totals, err := l.store.AddRequests(ctx, start, batch)

	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.start.Equal(start) {
		return err // the window ended meanwhile
	}
	l.inflight = nil
	if err != nil {
		for k, n := range batch { // counted again at the next flush
			l.pending[k] += n
			l.npending += int(n)
		}
		return err
	}
	for k, t := range totals {
		l.known[k] = max(l.known[k], t)
	}
	return nil
}

// Run flushes the request counters every flushInterval, or sooner when many requests
// were counted, until ctx ends; then once more.
func (l *Limiter) Run(ctx context.Context) {
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := l.Flush(fctx); err != nil {
				l.log.Warn("flushing request counters failed", "err", err)
			}
			return
		case <-t.C:
		case <-l.flush:
		}
		if err := l.Flush(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("flushing request counters failed; retrying", "err", err)
		}
	}
}

// Prune removes the counters of windows that ended (the sweeper calls it).
func (l *Limiter) Prune(ctx context.Context) error {
	return l.store.PruneRequests(ctx, l.now().Truncate(l.cfg.Window).Add(-l.cfg.Window))
}

// BeginUpload counts an upload of an API key against the cap on concurrent uploads (per
// node), and returns what ends it.
func (l *Limiter) BeginUpload(p refstore.Principal) (end func(), err error) {
	max := l.cfg.MaxUploadsPerKey
	if max <= 0 {
		return func() {}, nil
	}
	key := keyOf(p)
	l.uploadsMu.Lock()
	defer l.uploadsMu.Unlock()
	if l.uploads[key] >= max {
		return nil, refstore.Throttled(uploadRetry, "Too many uploads at once: at most %d per API key.", max)
	}
	l.uploads[key]++
	return func() {
		l.uploadsMu.Lock()
		defer l.uploadsMu.Unlock()
		if l.uploads[key]--; l.uploads[key] <= 0 {
			delete(l.uploads, key)
		}
	}, nil
}

// LockQuota serialises the quota checks and commits of an account's uploads on this node;
// it does nothing for accounts without a quota.
func (l *Limiter) LockQuota(ctx context.Context, account string) (quota int64, unlock func(), err error) {
	a, err := l.accountLimit(ctx, account)
	if err != nil || a.QuotaBytes <= 0 {
		return 0, func() {}, err
	}
	return a.QuotaBytes, l.quotaLocks.LockString(account), nil
}

// CheckQuota refuses new bytes that would take an account over its quota. Bytes the
// account already holds add nothing (they are stored once); so do bytes it let go of less
// than the delete grace ago, which are still stored and come back to life.
func (l *Limiter) CheckQuota(ctx context.Context, account, sha string, size int64) error {
	if _, _, held, err := l.store.ContentBlob(ctx, refstore.ContentID{Account: account, SHA256: sha}); err != nil || held {
		return err
	}
	u, err := l.store.AccountUsage(ctx, account)
	if err != nil {
		return err
	}
	if u.QuotaBytes > 0 && u.Bytes+size > u.QuotaBytes {
		return refstore.Errorf(refstore.CodeQuotaExceeded,
			"Storage quota exceeded: the file (%d bytes) would take account %s over its quota of %d bytes (%d bytes used).",
			size, account, u.QuotaBytes, u.Bytes)
	}
	return nil
}

// keyOf is what a caller's requests are counted under: its API key, or its session when
// the key is unknown.
func keyOf(p refstore.Principal) string {
	if p.KeyHash != "" {
		return p.KeyHash
	}
	return p.SessionHash
}
