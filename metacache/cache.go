package metacache

import (
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/refstore/refstore"
)

// cache holds what views read: sessions, resolved scopes, segments and the assets of
// segments.
//
// Loads that race with a change must not store what they read before it. Every change
// moves a generation — the catalog's, or that of the shard of the session or segment it
// touches — after its commit, and drops what it touched; a load notes the generations
// before it reads the store and stores its result only if they have not moved since. So a
// load either stored its result before the change's drop (which removes it), or sees the
// moved generation and stores nothing, or began after the change moved it and read what
// the change committed.
type cache struct {
	mu       sync.RWMutex
	sessions map[string]*sessionEntry // by token hash
	access   map[accessKey]refstore.Access
	segments map[segmentKey]refstore.SegmentRef
	assets   map[segmentKey]*segmentAssets

	// catalog moves with every change of the catalog, keys or sessions as a whole: every
	// entry depends on it.
	catalog atomic.Uint64
	// sessionShards move with a change of one session, by its hash; segmentShards with a
	// change of one segment's assets, by its id. A shard is shared by the keys that hash
	// to it: a change to one refuses the loads of the others in flight (they read again
	// later), never the other way round.
	sessionShards [64]atomic.Uint64
	segmentShards [256]atomic.Uint64
}

// Bounds of the cache: past them a map is emptied and refilled by use.
const (
	maxCachedSessions = 100_000
	maxCachedAccess   = 100_000
	maxCachedSegments = 200_000
	maxCachedAssets   = 50_000 // segments whose assets are cached
)

type accessKey struct {
	account string
	user    int64
	scope   refstore.Scope
}

type segmentKey struct {
	account string
	segment int64
}

// sessionEntry is a cached session. Its last uses move forward as this node sees uses
// (see view.SessionUsed); the rest never changes.
type sessionEntry struct {
	session  refstore.Session
	lastUsed atomic.Int64 // unix nanoseconds of the last use this node saw
	recorded atomic.Int64 // the last use the store was told of
}

func newSessionEntry(s refstore.Session) *sessionEntry {
	e := &sessionEntry{session: s}
	e.lastUsed.Store(s.LastUsed.UnixNano())
	e.recorded.Store(s.LastUsed.UnixNano())
	return e
}

// get returns the session with the last use this node saw.
func (e *sessionEntry) get() refstore.Session {
	s := e.session
	s.LastUsed = timeOf(e.lastUsed.Load())
	return s
}

// advance moves v forward to at; false when it was already there or later.
func advance(v *atomic.Int64, at int64) bool {
	for {
		cur := v.Load()
		if cur >= at {
			return false
		}
		if v.CompareAndSwap(cur, at) {
			return true
		}
	}
}

// segmentAssets are the assets of one segment, by address.
type segmentAssets struct {
	list   []refstore.Asset
	byAddr map[string]*refstore.Asset
}

func addrKey(a refstore.Address) string {
	return a.Locale + "\x00" + strings.Join(a.Folders, "/") + "\x00" + a.Name
}

func newSegmentAssets(list []refstore.Asset) *segmentAssets {
	sa := &segmentAssets{list: list, byAddr: make(map[string]*refstore.Asset, len(list))}
	for i := range list {
		sa.byAddr[addrKey(list[i].Address)] = &list[i]
	}
	return sa
}

func newCache() *cache {
	return &cache{
		sessions: map[string]*sessionEntry{},
		access:   map[accessKey]refstore.Access{},
		segments: map[segmentKey]refstore.SegmentRef{},
		assets:   map[segmentKey]*segmentAssets{},
	}
}

// generation is what a load notes before it reads the store: the catalog's generation and
// that of the shard of what it loads (0 when only the catalog counts).
type generation struct{ catalog, shard uint64 }

func (c *cache) sessionShard(hash string) *atomic.Uint64 {
	h := fnv.New32a()
	h.Write([]byte(hash))
	return &c.sessionShards[h.Sum32()%uint32(len(c.sessionShards))]
}

func (c *cache) segmentShard(segment int64) *atomic.Uint64 {
	return &c.segmentShards[uint64(segment)%uint64(len(c.segmentShards))]
}

// now returns the current generation of a shard (nil: the catalog's alone).
func (c *cache) now(shard *atomic.Uint64) generation {
	g := generation{catalog: c.catalog.Load()}
	if shard != nil {
		g.shard = shard.Load()
	}
	return g
}

// put stores v under k in m, unless the generation the load started under has moved: a
// change committed meanwhile, and v may predate it. Past max entries, m is emptied first.
func put[K comparable, V any](c *cache, m map[K]V, max int, k K, v V, was generation, shard *atomic.Uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now(shard) != was {
		return
	}
	if len(m) >= max {
		clear(m)
	}
	m[k] = v
}

// get reads m under the read lock.
func get[K comparable, V any](c *cache, m map[K]V, k K) (V, bool) {
	c.mu.RLock()
	v, ok := m[k]
	c.mu.RUnlock()
	return v, ok
}

// catalogChanged drops everything: every entry derives from the catalog (a removed
// project takes its assets along, a revoked key or removed user its sessions).
func (c *cache) catalogChanged() {
	c.catalog.Add(1)
	c.mu.Lock()
	clear(c.sessions)
	clear(c.access)
	clear(c.segments)
	clear(c.assets)
	c.mu.Unlock()
}

// sessionChanged drops one session (created, ended, or found gone).
func (c *cache) sessionChanged(hash string) {
	c.sessionShard(hash).Add(1)
	c.mu.Lock()
	delete(c.sessions, hash)
	c.mu.Unlock()
}

// sessionsSwept drops the sessions whose recorded use is older than the cut-off of a sweep
// (the store removed them, unless other nodes recorded later uses: those are loaded
// again), and refuses every session load in flight (what it read may be one of them).
func (c *cache) sessionsSwept(before int64) {
	for i := range c.sessionShards {
		c.sessionShards[i].Add(1)
	}
	c.mu.Lock()
	for h, e := range c.sessions {
		if e.recorded.Load() < before {
			delete(c.sessions, h)
		}
	}
	c.mu.Unlock()
}

// segmentChanged drops a segment's assets.
func (c *cache) segmentChanged(account string, segment int64) {
	c.segmentShard(segment).Add(1)
	c.mu.Lock()
	delete(c.assets, segmentKey{account, segment})
	c.mu.Unlock()
}
