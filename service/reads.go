package service

import (
	"context"

	"github.com/refstore/refstore"
)

// The reads of the request path, through the cache when the request may use it (see
// cache.go and coherence.go).

// access resolves a scope for a caller.
func (s *Service) access(ctx context.Context, p refstore.Principal, sc refstore.Scope) (refstore.Access, error) {
	c := s.cached(ctx, refstore.CatalogStripe)
	if c == nil {
		return s.meta.Access(ctx, p, sc)
	}
	k := accessKey{p.Account, p.UserID, sc}
	if a, ok := c.getAccess(k); ok {
		return a, nil
	}
	gen := c.catalogGen.Load()
	a, err := s.meta.Access(ctx, p, sc)
	if err == nil {
		c.putAccess(k, a, gen)
	}
	return a, err
}

// segments places segments in their documents and projects; unknown ids are left out.
func (s *Service) segments(ctx context.Context, account string, ids []int64) ([]refstore.SegmentRef, error) {
	c := s.cached(ctx, refstore.CatalogStripe)
	if c == nil {
		if len(ids) == 1 {
			ref, err := s.meta.Segment(ctx, account, ids[0])
			if refstore.ErrorCode(err) == refstore.CodeSegmentNotFound {
				return nil, nil
			}
			return []refstore.SegmentRef{ref}, err
		}
		return s.meta.Segments(ctx, account, ids)
	}
	refs := make([]refstore.SegmentRef, 0, len(ids))
	var missing []int64
	for _, id := range ids {
		if r, ok := c.getSegment(segmentKey{account, id}); ok {
			refs = append(refs, r)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return refs, nil
	}
	gen := c.catalogGen.Load()
	loaded, err := s.meta.Segments(ctx, account, missing)
	if err != nil {
		return nil, err
	}
	for _, r := range loaded {
		c.putSegment(segmentKey{account, r.ID}, r, gen)
	}
	return append(refs, loaded...), nil
}

// segmentAssets lists the assets of segments in the API's order. The segments the cache
// does not hold are loaded in one query, not one each: a list of 1000 segments is one
// round trip.
func (s *Service) segmentAssets(ctx context.Context, account string, ids []int64) ([]refstore.Asset, error) {
	if s.cache == nil {
		return s.meta.SegmentAssets(ctx, account, ids)
	}
	type miss struct {
		c   *cache
		gen [2]uint64
	}
	found := make(map[int64]*segmentAssets, len(ids))
	var missing []int64
	misses := map[int64]miss{}
	for _, id := range ids {
		c := s.cached(ctx, refstore.SegmentStripe(id))
		if c != nil {
			if sa := c.getAssets(segmentKey{account, id}); sa != nil {
				found[id] = sa
				continue
			}
		}
		if _, dup := misses[id]; dup {
			continue
		}
		m := miss{c: c}
		if c != nil {
			m.gen = c.assetsGen(id)
		}
		misses[id] = m
		missing = append(missing, id)
	}
	if len(missing) > 0 {
		list, err := s.meta.SegmentAssets(ctx, account, missing)
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
			m := misses[id]
			if m.c == nil {
				found[id] = newSegmentAssets(bySegment[id])
			} else {
				found[id] = m.c.putAssets(segmentKey{account, id}, bySegment[id], m.gen)
			}
		}
	}
	out := []refstore.Asset{}
	for _, id := range ids {
		out = append(out, found[id].list...)
	}
	return out, nil
}

// asset finds the asset at an address of a segment.
func (s *Service) asset(ctx context.Context, account string, segment int64, addr refstore.Address) (*refstore.Asset, error) {
	if s.cache == nil {
		return s.meta.Asset(ctx, account, segment, addr)
	}
	sa, err := s.assetsOf(ctx, account, segment)
	if err != nil {
		return nil, err
	}
	a, ok := sa.byAddr[addrKey(addr)]
	if !ok {
		return nil, refstore.Errorf(refstore.CodeAssetNotFound, "The requested file does not exist.")
	}
	return a, nil
}

// assetsOf returns the assets of a segment, from the cache when the request may use it
// (loading them into it on a miss). What it returns is shared: callers must not change it.
func (s *Service) assetsOf(ctx context.Context, account string, segment int64) (*segmentAssets, error) {
	c := s.cached(ctx, refstore.SegmentStripe(segment))
	if c != nil {
		if sa := c.getAssets(segmentKey{account, segment}); sa != nil {
			return sa, nil
		}
	}
	var gen [2]uint64
	if c != nil {
		gen = c.assetsGen(segment)
	}
	list, err := s.meta.SegmentAssets(ctx, account, []int64{segment})
	if err != nil {
		return nil, err
	}
	if c == nil {
		return newSegmentAssets(list), nil
	}
	return c.putAssets(segmentKey{account, segment}, list, gen), nil
}
