package metacache

import (
	"context"
	"time"

	"github.com/refstore/refstore"
)

// View starts a request. Exclusive, the cache is trusted whole; with a change feed the
// view reads the stripes' epochs (one small query) and trusts the cache for the stripes
// this node has caught up with (see feed.go); without a cache, it reads the store.
func (s *Store) View(ctx context.Context) refstore.MetaView {
	switch {
	case s.cache == nil:
		return refstore.StoreViews(s.inner).View(ctx)
	case s.follower == nil:
		return &view{s: s, trusted: allStripes}
	}
	return &view{s: s, trusted: s.follower.trusted(ctx)}
}

// view is a request's view: the stripes whose cache entries it may use.
type view struct {
	s       *Store
	trusted uint64 // a bit per stripe of the change feed
}

// allStripes has a bit for every stripe.
const allStripes = ^uint64(0) >> (64 - refstore.ChangeStripes)

// cache returns the cache when the view may use it for a stripe, nil when it must read
// the store (and not store what it read: its epoch may be ahead of what this node applied).
func (v *view) cache(stripe int) *cache {
	if v.trusted&(1<<stripe) == 0 {
		return nil
	}
	return v.s.cache
}

func (v *view) Session(ctx context.Context, hash string) (refstore.Session, error) {
	c := v.cache(refstore.CatalogStripe)
	if c == nil {
		return v.s.inner.Session(ctx, hash)
	}
	if e, ok := get(c, c.sessions, hash); ok {
		return e.get(), nil
	}
	shard := c.sessionShard(hash)
	was := c.now(shard)
	sess, err := v.s.inner.Session(ctx, hash)
	if err == nil {
		put(c, c.sessions, maxCachedSessions, hash, newSessionEntry(sess), was, shard)
	}
	return sess, err
}

// SessionUsed records the use in the cached session at once, and in the store when the
// use it last recorded is older than interval. The record moves before the store is told,
// so that the requests that follow do not tell it again meanwhile; a failed write is not
// retried before the next interval either (a full disk must not turn every read into a
// failing write).
func (v *view) SessionUsed(ctx context.Context, sess refstore.Session, at time.Time, interval time.Duration) error {
	c := v.cache(refstore.CatalogStripe)
	var e *sessionEntry
	if c != nil {
		e, _ = get(c, c.sessions, sess.Hash)
	}
	if e == nil {
		// Not cached (or not trusted): as without a cache, through the store's method so
		// that a session found gone is dropped from the cache too.
		if at.Sub(sess.LastUsed) <= interval {
			return nil
		}
		return v.s.TouchSession(ctx, sess.Hash, at)
	}
	n := at.UnixNano()
	advance(&e.lastUsed, n)
	rec := e.recorded.Load()
	if n-rec <= int64(interval) || !e.recorded.CompareAndSwap(rec, n) {
		return nil
	}
	err := v.s.inner.TouchSession(ctx, sess.Hash, at)
	if refstore.ErrorCode(err) == refstore.CodeUnauthorized {
		v.s.sessionChanged(sess.Hash)
	}
	return err
}

func (v *view) Access(ctx context.Context, p refstore.Principal, sc refstore.Scope) (refstore.Access, error) {
	c := v.cache(refstore.CatalogStripe)
	if c == nil {
		return v.s.inner.Access(ctx, p, sc)
	}
	k := accessKey{p.Account, p.UserID, sc}
	if a, ok := get(c, c.access, k); ok {
		return a, nil
	}
	was := c.now(nil)
	a, err := v.s.inner.Access(ctx, p, sc)
	if err == nil {
		put(c, c.access, maxCachedAccess, k, a, was, nil)
	}
	return a, err
}

// Segments looks every id up in the cache and loads the missing ones in one query.
func (v *view) Segments(ctx context.Context, account string, ids []int64) ([]refstore.SegmentRef, error) {
	c := v.cache(refstore.CatalogStripe)
	if c == nil {
		return refstore.StoreViews(v.s.inner).View(ctx).Segments(ctx, account, ids)
	}
	refs := make([]refstore.SegmentRef, 0, len(ids))
	var missing []int64
	for _, id := range ids {
		if r, ok := get(c, c.segments, segmentKey{account, id}); ok {
			refs = append(refs, r)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return refs, nil
	}
	was := c.now(nil)
	loaded, err := v.s.inner.Segments(ctx, account, missing)
	if err != nil {
		return nil, err
	}
	for _, r := range loaded {
		put(c, c.segments, maxCachedSegments, segmentKey{account, r.ID}, r, was, nil)
	}
	return append(refs, loaded...), nil
}

// SegmentAssets serves the segments the cache holds and loads the others in one query, not
// one each: a list of 1000 segments is one round trip.
func (v *view) SegmentAssets(ctx context.Context, account string, ids []int64) ([]refstore.Asset, error) {
	type miss struct {
		c   *cache
		was generation
	}
	found := make(map[int64]*segmentAssets, len(ids))
	var missing []int64
	misses := map[int64]miss{}
	for _, id := range ids {
		c := v.cache(refstore.SegmentStripe(id))
		if c != nil {
			if sa, ok := get(c, c.assets, segmentKey{account, id}); ok {
				found[id] = sa
				continue
			}
		}
		if _, dup := misses[id]; dup {
			continue
		}
		m := miss{c: c}
		if c != nil {
			m.was = c.now(c.segmentShard(id))
		}
		misses[id] = m
		missing = append(missing, id)
	}
	if len(missing) > 0 {
		list, err := v.s.inner.SegmentAssets(ctx, account, missing)
		if err != nil {
			return nil, err
		}
		// The store returns them grouped by segment, in the order of missing.
		bySegment := make(map[int64][]refstore.Asset, len(missing))
		for i := 0; i < len(list); {
			j := i + 1
			for j < len(list) && list[j].SegmentID == list[i].SegmentID {
				j++
			}
			bySegment[list[i].SegmentID] = list[i:j:j]
			i = j
		}
		for _, id := range missing {
			sa := newSegmentAssets(bySegment[id])
			if m := misses[id]; m.c != nil {
				put(m.c, m.c.assets, maxCachedAssets, segmentKey{account, id}, sa, m.was, m.c.segmentShard(id))
			}
			found[id] = sa
		}
	}
	out := []refstore.Asset{}
	for _, id := range ids {
		out = append(out, found[id].list...)
	}
	return out, nil
}

// Asset looks the address up among the segment's assets, which it caches whole.
func (v *view) Asset(ctx context.Context, account string, segment int64, addr refstore.Address) (*refstore.Asset, error) {
	c := v.cache(refstore.SegmentStripe(segment))
	if c == nil {
		return v.s.inner.Asset(ctx, account, segment, addr)
	}
	k := segmentKey{account, segment}
	sa, ok := get(c, c.assets, k)
	if !ok {
		shard := c.segmentShard(segment)
		was := c.now(shard)
		list, err := v.s.inner.SegmentAssets(ctx, account, []int64{segment})
		if err != nil {
			return nil, err
		}
		sa = newSegmentAssets(list)
		put(c, c.assets, maxCachedAssets, k, sa, was, shard)
	}
	a, ok := sa.byAddr[addrKey(addr)]
	if !ok {
		return nil, refstore.Errorf(refstore.CodeAssetNotFound, "The requested file does not exist.")
	}
	return a, nil
}
