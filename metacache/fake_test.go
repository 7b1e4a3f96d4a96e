package metacache

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/refstore/refstore"
)

// fakeStore is an in-memory metadata store with the methods the cache's tests use, and a
// change feed like the PostgreSQL store's: every change moves its stripe's epoch at its
// commit and is then announced to every follower. Hooks let a test stall a read after it
// has read, so that a change can commit between a load's read and its store in the cache.
// The real store would not let a test place a change there; the store suite (sqlstore)
// checks the real stores' behaviour, this one only the cache's.
type fakeStore struct {
	refstore.MetaStore // nil: a method the tests do not use panics

	mu       sync.Mutex
	sessions map[string]refstore.Session
	keys     map[string]string // key hash → key id
	access   map[accessKey]refstore.Access
	segments map[segmentKey]refstore.SegmentRef
	assets   map[segmentKey][]refstore.Asset
	epochs   [refstore.ChangeStripes]int64
	touches  int
	reads    int // reads of sessions and assets

	// stall, when set, is called by the reads of sessions and assets after they read.
	stall func(what string)

	feed *fakeFeed
}

func newFakeStore() *fakeStore {
	return &fakeStore{sessions: map[string]refstore.Session{}, keys: map[string]string{},
		access: map[accessKey]refstore.Access{}, segments: map[segmentKey]refstore.SegmentRef{},
		assets: map[segmentKey][]refstore.Asset{}, feed: &fakeFeed{}}
}

func (f *fakeStore) afterRead(what string) {
	f.mu.Lock()
	f.reads++
	stall := f.stall
	f.mu.Unlock()
	if stall != nil {
		stall(what)
	}
}

// commit applies change under the lock, moves the epoch of c's stripe and announces c.
func (f *fakeStore) commit(c refstore.Change, change func()) {
	f.mu.Lock()
	change()
	f.epochs[c.Stripe]++
	c.Epoch = f.epochs[c.Stripe]
	f.mu.Unlock()
	f.feed.announce(c)
}

func (f *fakeStore) Session(_ context.Context, hash string) (refstore.Session, error) {
	f.mu.Lock()
	s, ok := f.sessions[hash]
	f.mu.Unlock()
	f.afterRead("session " + hash)
	if !ok {
		return s, refstore.Errorf(refstore.CodeUnauthorized, "Token invalid or expired.")
	}
	return s, nil
}

func (f *fakeStore) CreateSession(_ context.Context, s refstore.Session, _ *refstore.AuditEvent) error {
	f.mu.Lock()
	f.sessions[s.Hash] = s
	f.mu.Unlock()
	return nil
}

func (f *fakeStore) TouchSession(_ context.Context, hash string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.touches++
	s, ok := f.sessions[hash]
	if !ok {
		return refstore.Errorf(refstore.CodeUnauthorized, "Token invalid or expired.")
	}
	if at.After(s.LastUsed) {
		s.LastUsed = at
		f.sessions[hash] = s
	}
	return nil
}

func (f *fakeStore) DeleteSession(_ context.Context, hash string, _ *refstore.AuditEvent) error {
	f.commit(refstore.Change{Kind: refstore.ChangeSession, Stripe: refstore.CatalogStripe, Session: hash},
		func() { delete(f.sessions, hash) })
	return nil
}

func (f *fakeStore) DeleteSessionsIdleSince(_ context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for h, s := range f.sessions {
		if s.LastUsed.Before(before) {
			delete(f.sessions, h)
			n++
		}
	}
	return n, nil
}

// RevokeAPIKey ends the sessions opened with the key (id is its hash here).
func (f *fakeStore) RevokeAPIKey(_ context.Context, _ string, _ int64, id string, _ *refstore.AuditEvent) error {
	f.commit(refstore.Change{Kind: refstore.ChangeCatalog, Stripe: refstore.CatalogStripe}, func() {
		maps.DeleteFunc(f.sessions, func(_ string, s refstore.Session) bool { return s.KeyHash == id })
	})
	return nil
}

// RemoveEntry removes users (their sessions with them) and segments (their assets).
func (f *fakeStore) RemoveEntry(_ context.Context, e refstore.Entry, _ *refstore.AuditEvent) ([]refstore.BlobRef, error) {
	f.commit(refstore.Change{Kind: refstore.ChangeCatalog, Stripe: refstore.CatalogStripe}, func() {
		switch e.Kind {
		case refstore.EntryUser:
			maps.DeleteFunc(f.sessions, func(_ string, s refstore.Session) bool {
				return s.Account == e.Account && s.UserID == e.ID
			})
			maps.DeleteFunc(f.access, func(k accessKey, _ refstore.Access) bool { return k.account == e.Account && k.user == e.ID })
		case refstore.EntrySegment:
			delete(f.segments, segmentKey{e.Account, e.ID})
			delete(f.assets, segmentKey{e.Account, e.ID})
		}
	})
	return nil, nil
}

func (f *fakeStore) UpsertCatalog(_ context.Context, _ *refstore.Catalog, _ []refstore.APIKey, _ *refstore.AuditEvent) error {
	f.commit(refstore.Change{Kind: refstore.ChangeCatalog, Stripe: refstore.CatalogStripe}, func() {})
	return nil
}

func (f *fakeStore) Access(_ context.Context, p refstore.Principal, sc refstore.Scope) (refstore.Access, error) {
	f.mu.Lock()
	a, ok := f.access[accessKey{p.Account, p.UserID, sc}]
	f.mu.Unlock()
	f.afterRead("access")
	if !ok {
		return a, refstore.Errorf(refstore.CodeScopeNotFound, "no scope")
	}
	return a, nil
}

func (f *fakeStore) Segments(_ context.Context, account string, ids []int64) ([]refstore.SegmentRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []refstore.SegmentRef
	for _, id := range ids {
		if r, ok := f.segments[segmentKey{account, id}]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeStore) SegmentAssets(_ context.Context, account string, ids []int64) ([]refstore.Asset, error) {
	f.mu.Lock()
	out := []refstore.Asset{}
	for _, id := range ids {
		out = append(out, f.assets[segmentKey{account, id}]...)
	}
	f.mu.Unlock()
	f.afterRead("assets")
	return out, nil
}

func (f *fakeStore) Asset(_ context.Context, account string, seg int64, addr refstore.Address) (*refstore.Asset, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.assets[segmentKey{account, seg}] {
		if a.Address.Equal(addr) {
			return &a, nil
		}
	}
	return nil, refstore.Errorf(refstore.CodeAssetNotFound, "The requested file does not exist.")
}

func (f *fakeStore) Attach(_ context.Context, p refstore.AttachParams) (*refstore.Asset, *refstore.Asset, error) {
	a := &refstore.Asset{ID: p.NewID, Account: p.Account, SegmentID: p.Segment.ID, Address: p.Address}
	f.commit(refstore.Change{Kind: refstore.ChangeSegment, Stripe: refstore.SegmentStripe(p.Segment.ID),
		Account: p.Account, Segment: p.Segment.ID}, func() {
		k := segmentKey{p.Account, p.Segment.ID}
		list := slices.DeleteFunc(slices.Clone(f.assets[k]), func(x refstore.Asset) bool { return x.Address.Equal(p.Address) })
		f.assets[k] = append(list, *a)
	})
	return a, nil, nil
}

func (f *fakeStore) DeleteAssets(_ context.Context, account string, seg int64, addr *refstore.Address, _ *refstore.AuditEvent) ([]refstore.Asset, error) {
	var gone []refstore.Asset
	f.commit(refstore.Change{Kind: refstore.ChangeSegment, Stripe: refstore.SegmentStripe(seg), Account: account, Segment: seg}, func() {
		k := segmentKey{account, seg}
		f.assets[k] = slices.DeleteFunc(slices.Clone(f.assets[k]), func(x refstore.Asset) bool {
			if addr == nil || x.Address.Equal(*addr) {
				gone = append(gone, x)
				return true
			}
			return false
		})
	})
	return gone, nil
}

// Epochs and Changes make the fake a refstore.ChangeFeed too.
func (f *fakeStore) Epochs(context.Context) ([refstore.ChangeStripes]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.epochs, nil
}

func (f *fakeStore) Changes(ctx context.Context, fn func(refstore.Change)) { f.feed.follow(ctx, fn) }

// fakeFeed delivers announced changes to every follower, in order, each on its own
// goroutine (as each node has its own connection). hold, while set, keeps announcements
// from being delivered: the changes have committed, their notifications are on their way.
type fakeFeed struct {
	mu        sync.Mutex
	followers []chan refstore.Change
	held      []refstore.Change
	hold      bool
}

func (f *fakeFeed) follow(ctx context.Context, fn func(refstore.Change)) {
	ch := make(chan refstore.Change, 1024)
	f.mu.Lock()
	f.followers = append(f.followers, ch)
	f.mu.Unlock()
	fn(refstore.Change{Kind: refstore.ChangeReset})
	for {
		select {
		case c := <-ch:
			fn(c)
		case <-ctx.Done():
			return
		}
	}
}

func (f *fakeFeed) announce(c refstore.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold {
		f.held = append(f.held, c)
		return
	}
	for _, ch := range f.followers {
		ch <- c
	}
}

// release delivers what was held and stops holding.
func (f *fakeFeed) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = false
	for _, c := range f.held {
		for _, ch := range f.followers {
			ch <- c
		}
	}
	f.held = nil
}

func (f *fakeFeed) setHold(on bool) {
	f.mu.Lock()
	f.hold = on
	f.mu.Unlock()
}

func (f *fakeFeed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.followers)
}

// session makes a session of user 1 of acme opened with key "k1".
func session(hash string, at time.Time) refstore.Session {
	return refstore.Session{Hash: hash, Account: "acme", UserID: 1, KeyHash: "k1", Created: at, LastUsed: at}
}

func hash(i int) string { return fmt.Sprintf("%064x", i) }
