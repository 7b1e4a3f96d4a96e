package service

import (
	"context"

	"github.com/refstore/refstore"
)

// The reads of the request path, through the cache when there is one (see cache.go).

// access resolves a scope for a caller.
func (s *Service) access(ctx context.Context, p refstore.Principal, sc refstore.Scope) (refstore.Access, error) {
	if s.cache == nil {
		return s.meta.Access(ctx, p, sc)
	}
	k := accessKey{p.Account, p.UserID, sc}
	if a, ok := s.cache.getAccess(k); ok {
		return a, nil
	}
	gen := s.cache.catalogGen.Load()
	a, err := s.meta.Access(ctx, p, sc)
	if err == nil {
		s.cache.putAccess(k, a, gen)
	}
	return a, err
}

// segments places segments in their documents and projects; unknown ids are left out.
func (s *Service) segments(ctx context.Context, account string, ids []int64) ([]refstore.SegmentRef, error) {
	if s.cache == nil {
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
		if r, ok := s.cache.getSegment(segmentKey{account, id}); ok {
			refs = append(refs, r)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return refs, nil
	}
	gen := s.cache.catalogGen.Load()
	loaded, err := s.meta.Segments(ctx, account, missing)
	if err != nil {
		return nil, err
	}
	for _, r := range loaded {
		s.cache.putSegment(segmentKey{account, r.ID}, r, gen)
	}
	return append(refs, loaded...), nil
}

// segmentAssets lists the assets of segments in the API's order.
func (s *Service) segmentAssets(ctx context.Context, account string, ids []int64) ([]refstore.Asset, error) {
	if s.cache == nil {
		return s.meta.SegmentAssets(ctx, account, ids)
	}
	out := []refstore.Asset{}
	for _, id := range ids {
		sa, err := s.cachedSegment(ctx, account, id)
		if err != nil {
			return nil, err
		}
		out = append(out, sa.list...)
	}
	return out, nil
}

// asset finds the asset at an address of a segment.
func (s *Service) asset(ctx context.Context, account string, segment int64, addr refstore.Address) (*refstore.Asset, error) {
	if s.cache == nil {
		return s.meta.Asset(ctx, account, segment, addr)
	}
	sa, err := s.cachedSegment(ctx, account, segment)
	if err != nil {
		return nil, err
	}
	a, ok := sa.byAddr[addrKey(addr)]
	if !ok {
		return nil, refstore.Errorf(refstore.CodeAssetNotFound, "The requested file does not exist.")
	}
	return a, nil
}

// cachedSegment returns the cached assets of a segment, loading them on a miss. What it
// returns is shared: callers must not change it.
func (s *Service) cachedSegment(ctx context.Context, account string, segment int64) (*segmentAssets, error) {
	k := segmentKey{account, segment}
	if sa := s.cache.getAssets(k); sa != nil {
		return sa, nil
	}
	gen := s.cache.assetsGen(segment)
	list, err := s.meta.SegmentAssets(ctx, account, []int64{segment})
	if err != nil {
		return nil, err
	}
	return s.cache.putAssets(k, list, gen), nil
}
