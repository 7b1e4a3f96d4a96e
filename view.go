package refstore

import (
	"context"
	"time"
)

// MetaView is how a request reads what its hot path needs: sessions, scopes, segments and
// the assets of segments. A view is taken when the request starts (MetaViews.View); reads
// through it see every change committed before then, and may come from a cache that the
// metadata store keeps coherent (metacache). What a view returns is shared with other
// requests: callers must not change it.
type MetaView interface {
	// Session finds a session by token hash; CodeUnauthorized when there is none. Its
	// LastUsed is the last use this view knows of: the store's record, or a later use
	// this node saw (see SessionUsed).
	Session(ctx context.Context, hash string) (Session, error)
	// SessionUsed records a use of s at at. The store (AuthStore.TouchSession) hears of
	// it when its record is older than interval, so that the record never lags a use by
	// more than that: sliding expiry without a write per request. A cache learns of every
	// use. CodeUnauthorized when the store no longer has the session.
	SessionUsed(ctx context.Context, s Session, at time.Time, interval time.Duration) error
	// Access resolves a scope for a caller, as CatalogStore.Access.
	Access(ctx context.Context, p Principal, s Scope) (Access, error)
	// Segments places segments; unknown ids are left out.
	Segments(ctx context.Context, account string, ids []int64) ([]SegmentRef, error)
	// SegmentAssets lists the assets of segments, as AssetStore.SegmentAssets.
	SegmentAssets(ctx context.Context, account string, segmentIDs []int64) ([]Asset, error)
	// Asset finds the asset at an address of a segment; CodeAssetNotFound when there is
	// none.
	Asset(ctx context.Context, account string, segmentID int64, a Address) (*Asset, error)
}

// MetaViews hands out the views requests read through.
type MetaViews interface {
	View(ctx context.Context) MetaView
}

// StoreViews are the views of a metadata store read without a cache: every read goes to
// the store.
func StoreViews(m MetaStore) MetaViews { return storeViews{m} }

type storeViews struct{ m MetaStore }

func (v storeViews) View(context.Context) MetaView { return storeView(v) }

type storeView struct{ m MetaStore }

func (v storeView) Session(ctx context.Context, hash string) (Session, error) {
	return v.m.Session(ctx, hash)
}

func (v storeView) SessionUsed(ctx context.Context, s Session, at time.Time, interval time.Duration) error {
	if at.Sub(s.LastUsed) <= interval {
		return nil
	}
	return v.m.TouchSession(ctx, s.Hash, at)
}

func (v storeView) Access(ctx context.Context, p Principal, s Scope) (Access, error) {
	return v.m.Access(ctx, p, s)
}

// Segments asks the store for one segment with Segment, which is cheaper than a list.
func (v storeView) Segments(ctx context.Context, account string, ids []int64) ([]SegmentRef, error) {
	if len(ids) == 1 {
		ref, err := v.m.Segment(ctx, account, ids[0])
		if ErrorCode(err) == CodeSegmentNotFound {
			return nil, nil
		}
		return []SegmentRef{ref}, err
	}
	return v.m.Segments(ctx, account, ids)
}

func (v storeView) SegmentAssets(ctx context.Context, account string, segmentIDs []int64) ([]Asset, error) {
	return v.m.SegmentAssets(ctx, account, segmentIDs)
}

func (v storeView) Asset(ctx context.Context, account string, segmentID int64, a Address) (*Asset, error) {
	return v.m.Asset(ctx, account, segmentID, a)
}

// CatalogNotifier is implemented by metadata stores that tell when the catalog, keys or
// sessions changed as a whole (metacache, for the changes it sees), so that what is
// derived from them elsewhere (the accounts' limits) is read again.
type CatalogNotifier interface {
	OnCatalogChange(fn func())
}
