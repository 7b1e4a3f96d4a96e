package service

import (
	"context"
	"encoding/hex"
	"sync"
	"time"

	"github.com/refstore/refstore"
)

// With a shared metadata store the cache is kept coherent by the store's change feed:
// every node applies every change to its cache, and a request trusts the cache only for
// the stripes whose changes the node has applied up to the epochs the store holds when
// the request starts. A change made through any node is therefore seen by every node on
// the next request: the store's epoch moves at the change's commit, and until this node
// has applied it, requests read the store.

// feedState follows the change feed.
type feedState struct {
	mu      sync.Mutex
	applied [refstore.ChangeStripes]int64 // -1: unknown (not listening, or after a loss)
	moved   chan struct{}                 // closed and replaced whenever applied moves
}

func newFeedState() *feedState {
	f := &feedState{moved: make(chan struct{})}
	for i := range f.applied {
		f.applied[i] = -1
	}
	return f
}

// RunChangeFeed applies the store's change feed to the cache until ctx ends. It does
// nothing unless the service was built with a ChangeFeed.
func (s *Service) RunChangeFeed(ctx context.Context) {
	if s.feed == nil || s.cache == nil {
		return
	}
	s.cfg.ChangeFeed.Changes(ctx, func(c refstore.Change) { s.applyChange(ctx, c) })
}

func (s *Service) applyChange(ctx context.Context, c refstore.Change) {
	switch c.Kind {
	case refstore.ChangeReset:
		s.feed.set(func(a *[refstore.ChangeStripes]int64) {
			for i := range a {
				a[i] = -1
			}
		})
		s.cache.catalogChanged()
		epochs, err := s.cfg.ChangeFeed.Epochs(ctx)
		if err != nil {
			return // stays unknown until the feed reconnects
		}
		// Again, now that the epochs are read: a load that began before a change counted
		// in them, by a request that trusted the cache before the reset, must not be
		// stored (its generation predates this) and trusted until the change's
		// notification arrives.
		s.cache.catalogChanged()
		s.feed.set(func(a *[refstore.ChangeStripes]int64) { *a = epochs })
		return
	case refstore.ChangeCatalog:
		s.cache.catalogChanged()
		s.limits.CatalogChanged()
	case refstore.ChangeSegment:
		s.cache.segmentChanged(c.Account, c.Segment)
	case refstore.ChangeSession:
		var sum [32]byte
		if b, err := hex.DecodeString(c.Session); err == nil && len(b) == len(sum) {
			copy(sum[:], b)
			s.cache.dropSession(sum)
		} else {
			s.cache.catalogChanged()
		}
	}
	s.feed.set(func(a *[refstore.ChangeStripes]int64) {
		if a[c.Stripe] >= 0 && c.Epoch > a[c.Stripe] {
			a[c.Stripe] = c.Epoch
		}
	})
}

func (f *feedState) set(update func(*[refstore.ChangeStripes]int64)) {
	f.mu.Lock()
	update(&f.applied)
	close(f.moved)
	f.moved = make(chan struct{})
	f.mu.Unlock()
}

// trusted returns the stripes whose changes are applied up to epochs, and a channel that
// is closed when more are applied.
func (f *feedState) trusted(epochs *[refstore.ChangeStripes]int64) (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var mask uint64
	for i, e := range epochs {
		if f.applied[i] >= 0 && f.applied[i] >= e {
			mask |= 1 << i
		}
	}
	return mask, f.moved
}

// How long a request waits for the feed to deliver changes that committed just before it.
const feedWait = 20 * time.Millisecond

type viewKey struct{}

// allStripes has a bit for every stripe.
const allStripes = ^uint64(0) >> (64 - refstore.ChangeStripes)

// View starts a request: with a shared store it reads the stripes' epochs (one small
// query) and records in the returned context which stripes the cache may be trusted for.
// With the embedded default, or without a cache, it returns ctx as it is.
func (s *Service) View(ctx context.Context) context.Context {
	if s.feed == nil || s.cache == nil {
		return ctx
	}
	epochs, err := s.cfg.ChangeFeed.Epochs(ctx)
	if err != nil {
		return context.WithValue(ctx, viewKey{}, uint64(0))
	}
	mask, moved := s.feed.trusted(&epochs)
	if mask != allStripes {
		// Changes committed just now: their notifications are on their way.
		timer := time.NewTimer(feedWait)
		defer timer.Stop()
		for mask != allStripes {
			select {
			case <-moved:
				mask, moved = s.feed.trusted(&epochs)
				continue
			case <-timer.C:
			case <-ctx.Done():
			}
			break
		}
	}
	return context.WithValue(ctx, viewKey{}, mask)
}

// cached returns the cache when a request may use it for a stripe, nil when it must read
// the store.
func (s *Service) cached(ctx context.Context, stripe int) *cache {
	if s.cache == nil || s.feed == nil {
		return s.cache
	}
	mask, _ := ctx.Value(viewKey{}).(uint64)
	if mask&(1<<stripe) == 0 {
		return nil
	}
	return s.cache
}
