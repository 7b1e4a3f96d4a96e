// Package metacache keeps in memory what requests read on their hot path — sessions,
// resolved scopes, segments and the assets of segments — so that a download asks the
// database nothing. It is a decorator: Store implements refstore.MetaStore over the real
// store, and every write method invalidates what it changes as it returns, so no caller
// has to remember to; reads through a request's view (Store.View) use the cache.
//
// The cache is used in two settings:
//
//   - Exclusive: this process alone changes the store (the embedded default). Every change
//     passes through Store, so the cache is always trusted.
//   - With a change feed: nodes share the store (PostgreSQL). Each node applies every
//     change of every node to its cache (feed.go), and a request trusts the cache only for
//     the stripes of the feed whose changes this node has applied up to the epochs the
//     store held when the request began. A change made on any node is therefore seen by
//     every node's next request.
//
// Without either, nothing is cached: views read the store.
package metacache

import (
	"context"
	"sync"
	"time"

	"github.com/refstore/refstore"
)

// Options say how the cache is kept coherent (see the package comment).
type Options struct {
	// Exclusive says this process is the only one that changes the store.
	Exclusive bool
	// Feed is the change feed of a store that nodes share.
	Feed refstore.ChangeFeed
}

// Store is a metadata store with a cache of what requests read.
type Store struct {
	inner refstore.MetaStore
	// The audit log, the limits' counters and webhooks are not cached: their methods pass
	// through.
	refstore.AuditStore
	refstore.LimitStore
	// Webhook endpoints and deliveries are not cached either.
	refstore.WebhookStore

	cache     *cache    // nil: nothing is cached
	follower  *follower // non-nil with a change feed
	mu        sync.Mutex
	onCatalog []func()
}

var (
	_ refstore.MetaStore       = (*Store)(nil)
	_ refstore.MetaViews       = (*Store)(nil)
	_ refstore.CatalogNotifier = (*Store)(nil)
)

// New decorates inner with a cache kept coherent as opts say.
func New(inner refstore.MetaStore, opts Options) *Store {
	s := &Store{inner: inner, AuditStore: inner, LimitStore: inner, WebhookStore: inner}
	switch {
	case opts.Exclusive:
		s.cache = newCache()
	case opts.Feed != nil:
		s.cache = newCache()
		s.follower = newFollower(opts.Feed)
	}
	return s
}

// OnCatalogChange registers fn, called after every change to the catalog, keys or
// sessions as a whole that this store sees: its own, and with a change feed the other
// nodes' (and whenever changes may have been missed).
func (s *Store) OnCatalogChange(fn func()) {
	s.mu.Lock()
	s.onCatalog = append(s.onCatalog, fn)
	s.mu.Unlock()
}

// catalogChanged drops what the cache derived from the catalog and tells the listeners.
func (s *Store) catalogChanged() {
	if s.cache != nil {
		s.cache.catalogChanged()
	}
	s.mu.Lock()
	fns := s.onCatalog
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func (s *Store) sessionChanged(hash string) {
	if s.cache != nil {
		s.cache.sessionChanged(hash)
	}
}

func (s *Store) segmentChanged(account string, segment int64) {
	if s.cache != nil {
		s.cache.segmentChanged(account, segment)
	}
}

// The writes. Each invalidates what it changes once the inner store has returned, whether
// it succeeded or not (a failed commit may still have committed), with defer so that a
// panic does not skip it either.

func (s *Store) UpsertCatalog(ctx context.Context, c *refstore.Catalog, keys []refstore.APIKey, audit *refstore.AuditEvent) error {
	defer s.catalogChanged()
	return s.inner.UpsertCatalog(ctx, c, keys, audit)
}

func (s *Store) RemoveEntry(ctx context.Context, e refstore.Entry, audit *refstore.AuditEvent) ([]refstore.BlobRef, error) {
	defer s.catalogChanged()
	return s.inner.RemoveEntry(ctx, e, audit)
}

// AddAPIKey changes nothing cached: a key only opens sessions, and those are loaded when
// first used.
func (s *Store) AddAPIKey(ctx context.Context, k refstore.APIKey, audit *refstore.AuditEvent) error {
	return s.inner.AddAPIKey(ctx, k, audit)
}

// RevokeAPIKey ends the key's sessions: every cached session goes (the cache does not
// index them by key).
func (s *Store) RevokeAPIKey(ctx context.Context, account string, userID int64, id string, audit *refstore.AuditEvent) error {
	defer s.catalogChanged()
	return s.inner.RevokeAPIKey(ctx, account, userID, id, audit)
}

func (s *Store) CreateSession(ctx context.Context, ss refstore.Session, audit *refstore.AuditEvent) error {
	defer s.sessionChanged(ss.Hash)
	return s.inner.CreateSession(ctx, ss, audit)
}

func (s *Store) DeleteSession(ctx context.Context, hash string, audit *refstore.AuditEvent) error {
	defer s.sessionChanged(hash)
	return s.inner.DeleteSession(ctx, hash, audit)
}

// TouchSession records a use in the store, and in the cached session when there is one;
// when the store no longer has the session, the cached one goes. (Requests record their
// uses through their view's SessionUsed, which calls this at most every interval.)
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	err := s.inner.TouchSession(ctx, hash, at)
	switch refstore.ErrorCode(err) {
	case "":
		if s.cache != nil {
			if e, ok := get(s.cache, s.cache.sessions, hash); ok {
				advance(&e.lastUsed, at.UnixNano())
				advance(&e.recorded, at.UnixNano())
			}
		}
	case refstore.CodeUnauthorized:
		s.sessionChanged(hash)
	}
	return err
}

func (s *Store) DeleteSessionsIdleSince(ctx context.Context, before time.Time) (int64, error) {
	if s.cache != nil {
		defer s.cache.sessionsSwept(before.UnixNano())
	}
	return s.inner.DeleteSessionsIdleSince(ctx, before)
}

func (s *Store) Attach(ctx context.Context, p refstore.AttachParams) (asset, previous *refstore.Asset, err error) {
	defer s.segmentChanged(p.Account, p.Segment.ID)
	return s.inner.Attach(ctx, p)
}

func (s *Store) DeleteAssets(ctx context.Context, account string, segmentID int64, a *refstore.Address, audit *refstore.AuditEvent) ([]refstore.Asset, error) {
	defer s.segmentChanged(account, segmentID)
	return s.inner.DeleteAssets(ctx, account, segmentID, a, audit)
}

func (s *Store) ImportAsset(ctx context.Context, a *refstore.Asset, audit *refstore.AuditEvent) (asset, previous *refstore.Asset, err error) {
	defer s.segmentChanged(a.Account, a.SegmentID)
	return s.inner.ImportAsset(ctx, a, audit)
}

// Uploads and the blob index are not cached, and CollectGarbage only removes blobs that
// no asset references: these writes pass through.

func (s *Store) CreateUpload(ctx context.Context, u *refstore.Upload, audit *refstore.AuditEvent) (string, error) {
	return s.inner.CreateUpload(ctx, u, audit)
}

func (s *Store) DeleteExpiredUploads(ctx context.Context, now time.Time) ([]refstore.ContentID, error) {
	return s.inner.DeleteExpiredUploads(ctx, now)
}

func (s *Store) CollectGarbage(ctx context.Context, candidates []refstore.ContentID, now time.Time, grace time.Duration) ([]refstore.BlobRef, error) {
	return s.inner.CollectGarbage(ctx, candidates, now, grace)
}

// The reads of the MetaStore interface go to the store: requests read through their view
// (View) to use the cache.

func (s *Store) AccountCatalog(ctx context.Context, account string) (*refstore.CatalogAccount, error) {
	return s.inner.AccountCatalog(ctx, account)
}

func (s *Store) Accounts(ctx context.Context) ([]string, error) { return s.inner.Accounts(ctx) }

func (s *Store) Access(ctx context.Context, p refstore.Principal, sc refstore.Scope) (refstore.Access, error) {
	return s.inner.Access(ctx, p, sc)
}

func (s *Store) Segment(ctx context.Context, account string, id int64) (refstore.SegmentRef, error) {
	return s.inner.Segment(ctx, account, id)
}

func (s *Store) Segments(ctx context.Context, account string, ids []int64) ([]refstore.SegmentRef, error) {
	return s.inner.Segments(ctx, account, ids)
}

func (s *Store) DocumentRights(ctx context.Context, p refstore.Principal, documentID int64) (refstore.Rights, error) {
	return s.inner.DocumentRights(ctx, p, documentID)
}

func (s *Store) UserByKey(ctx context.Context, account, keyHash string) (int64, error) {
	return s.inner.UserByKey(ctx, account, keyHash)
}

func (s *Store) KeyOwner(ctx context.Context, keyHash string) (string, int64, error) {
	return s.inner.KeyOwner(ctx, keyHash)
}

func (s *Store) Users(ctx context.Context, account string) ([]refstore.CatalogUser, error) {
	return s.inner.Users(ctx, account)
}

func (s *Store) Document(ctx context.Context, account string, id int64) (refstore.DocumentInfo, error) {
	return s.inner.Document(ctx, account, id)
}

func (s *Store) ReadableDocuments(ctx context.Context, p refstore.Principal) ([]refstore.DocumentInfo, error) {
	return s.inner.ReadableDocuments(ctx, p)
}

func (s *Store) SegmentCounts(ctx context.Context, account string, documentIDs []int64) (map[int64]int64, error) {
	return s.inner.SegmentCounts(ctx, account, documentIDs)
}

func (s *Store) APIKeys(ctx context.Context, account string, userID int64) ([]refstore.APIKey, error) {
	return s.inner.APIKeys(ctx, account, userID)
}

func (s *Store) AccountAPIKeys(ctx context.Context, account string) ([]refstore.APIKey, error) {
	return s.inner.AccountAPIKeys(ctx, account)
}

func (s *Store) Session(ctx context.Context, hash string) (refstore.Session, error) {
	return s.inner.Session(ctx, hash)
}

func (s *Store) Upload(ctx context.Context, account string, userID int64, hash string, now time.Time) (*refstore.Upload, error) {
	return s.inner.Upload(ctx, account, userID, hash, now)
}

func (s *Store) Asset(ctx context.Context, account string, segmentID int64, a refstore.Address) (*refstore.Asset, error) {
	return s.inner.Asset(ctx, account, segmentID, a)
}

func (s *Store) AssetByID(ctx context.Context, account string, id int64) (*refstore.Asset, error) {
	return s.inner.AssetByID(ctx, account, id)
}

func (s *Store) SegmentAssets(ctx context.Context, account string, segmentIDs []int64) ([]refstore.Asset, error) {
	return s.inner.SegmentAssets(ctx, account, segmentIDs)
}

func (s *Store) AssetSegments(ctx context.Context, fn func(account string, segmentID int64) error) error {
	return s.inner.AssetSegments(ctx, fn)
}

func (s *Store) ContentBlob(ctx context.Context, c refstore.ContentID) (string, int64, bool, error) {
	return s.inner.ContentBlob(ctx, c)
}

func (s *Store) BlobKnown(ctx context.Context, ref refstore.BlobRef) (bool, error) {
	return s.inner.BlobKnown(ctx, ref)
}

func (s *Store) Ping(ctx context.Context) error { return s.inner.Ping(ctx) }

func (s *Store) Close() error { return s.inner.Close() }

func timeOf(unixNano int64) time.Time { return time.Unix(0, unixNano).UTC() }
