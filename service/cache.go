package service

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refstore/refstore"
)

// cache keeps what the download path reads — sessions, resolved scopes, segments, the
// assets of segments — so that a download asks the database nothing. It is used only when
// this process owns the metadata alone (the embedded default): every change then passes
// through this process, which drops what the change touches before it answers, so the
// cache is never stale. With a shared database (several nodes) there is no such cache.
//
// Loads that race with a change must not store what they read before it: every change
// bumps a generation (one for the catalog, one per segment stripe), and a load stores its
// result only if the generation it started under is still current.
type cache struct {
	mu       sync.RWMutex
	sessions map[[32]byte]*cachedSession // by the SHA-256 of the token
	access   map[accessKey]refstore.Access
	segments map[segmentKey]refstore.SegmentRef
	assets   map[segmentKey]*segmentAssets

	catalogGen atomic.Uint64
	segmentGen [256]atomic.Uint64
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

type cachedSession struct {
	principal refstore.Principal
	lastUsed  atomic.Int64 // unix nanoseconds of the last use
	persisted atomic.Int64 // the last use the store knows of
}

// segmentAssets are the assets of one segment, by address.
type segmentAssets struct {
	list   []refstore.Asset
	byAddr map[string]*refstore.Asset
}

func addrKey(a refstore.Address) string {
	return a.Locale + "\x00" + strings.Join(a.Folders, "/") + "\x00" + a.Name
}

func newCache() *cache {
	return &cache{
		sessions: map[[32]byte]*cachedSession{},
		access:   map[accessKey]refstore.Access{},
		segments: map[segmentKey]refstore.SegmentRef{},
		assets:   map[segmentKey]*segmentAssets{},
	}
}

func (c *cache) stripe(segment int64) *atomic.Uint64 {
	return &c.segmentGen[uint64(segment)%uint64(len(c.segmentGen))]
}

// catalogChanged drops everything derived from the catalog, keys and sessions: a removed
// project takes its assets along, a revoked key its sessions.
func (c *cache) catalogChanged() {
	c.catalogGen.Add(1)
	c.mu.Lock()
	clear(c.sessions)
	clear(c.access)
	clear(c.segments)
	clear(c.assets)
	c.mu.Unlock()
}

// segmentChanged drops a segment's assets after a change to them commits.
func (c *cache) segmentChanged(account string, segment int64) {
	c.stripe(segment).Add(1)
	c.mu.Lock()
	delete(c.assets, segmentKey{account, segment})
	c.mu.Unlock()
}

func (c *cache) session(hash [32]byte) *cachedSession {
	c.mu.RLock()
	s := c.sessions[hash]
	c.mu.RUnlock()
	return s
}

func (c *cache) putSession(hash [32]byte, s *cachedSession, gen uint64) {
	c.mu.Lock()
	if c.catalogGen.Load() == gen {
		if len(c.sessions) >= maxCachedSessions {
			clear(c.sessions)
		}
		c.sessions[hash] = s
	}
	c.mu.Unlock()
}

func (c *cache) dropSession(hash [32]byte) {
	c.mu.Lock()
	delete(c.sessions, hash)
	c.mu.Unlock()
}

func (c *cache) getAccess(k accessKey) (refstore.Access, bool) {
	c.mu.RLock()
	a, ok := c.access[k]
	c.mu.RUnlock()
	return a, ok
}

func (c *cache) putAccess(k accessKey, a refstore.Access, gen uint64) {
	c.mu.Lock()
	if c.catalogGen.Load() == gen {
		if len(c.access) >= maxCachedAccess {
			clear(c.access)
		}
		c.access[k] = a
	}
	c.mu.Unlock()
}

func (c *cache) getSegment(k segmentKey) (refstore.SegmentRef, bool) {
	c.mu.RLock()
	r, ok := c.segments[k]
	c.mu.RUnlock()
	return r, ok
}

func (c *cache) putSegment(k segmentKey, r refstore.SegmentRef, gen uint64) {
	c.mu.Lock()
	if c.catalogGen.Load() == gen {
		if len(c.segments) >= maxCachedSegments {
			clear(c.segments)
		}
		c.segments[k] = r
	}
	c.mu.Unlock()
}

func (c *cache) getAssets(k segmentKey) *segmentAssets {
	c.mu.RLock()
	a := c.assets[k]
	c.mu.RUnlock()
	return a
}

// assetsGen is the generation a load of a segment's assets starts under.
func (c *cache) assetsGen(segment int64) [2]uint64 {
	return [2]uint64{c.catalogGen.Load(), c.stripe(segment).Load()}
}

func newSegmentAssets(list []refstore.Asset) *segmentAssets {
	sa := &segmentAssets{list: list, byAddr: make(map[string]*refstore.Asset, len(list))}
	for i := range list {
		sa.byAddr[addrKey(list[i].Address)] = &list[i]
	}
	return sa
}

func (c *cache) putAssets(k segmentKey, list []refstore.Asset, gen [2]uint64) *segmentAssets {
	sa := newSegmentAssets(list)
	c.mu.Lock()
	if c.assetsGen(k.segment) == gen {
		if len(c.assets) >= maxCachedAssets {
			clear(c.assets)
		}
		c.assets[k] = sa
	}
	c.mu.Unlock()
	return sa
}

// touch records a use of a cached session and reports whether the store should be told
// (the last use it knows of is older than interval).
func (s *cachedSession) touch(now time.Time, interval time.Duration) bool {
	n := now.UnixNano()
	s.lastUsed.Store(n)
	p := s.persisted.Load()
	return n-p > int64(interval) && s.persisted.CompareAndSwap(p, n)
}
