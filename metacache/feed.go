package metacache

import (
	"context"
	"encoding/hex"
	"sync"
	"time"

	"github.com/refstore/refstore"
)

// With a store that nodes share, the cache is kept coherent by the store's change feed:
// every node applies every change to its cache, and a request trusts the cache only for
// the stripes whose changes the node has applied up to the epochs the store holds when the
// request starts. A change made through any node is therefore seen by every node on the
// next request: the store's epoch moves at the change's commit, and until this node has
// applied it, requests read the store. (This node's own writes also drop what they change
// as they return, like on the embedded default; the feed brings them back once more.)

// follower follows the change feed.
type follower struct {
	feed    refstore.ChangeFeed
	mu      sync.Mutex
	applied [refstore.ChangeStripes]int64 // -1: unknown (not listening, or after a loss)
	moved   chan struct{}                 // closed and replaced whenever applied moves
}

func newFollower(feed refstore.ChangeFeed) *follower {
	f := &follower{feed: feed, moved: make(chan struct{})}
	for i := range f.applied {
		f.applied[i] = -1
	}
	return f
}

// Run applies the store's change feed to the cache until ctx ends. It does nothing
// without a change feed.
func (s *Store) Run(ctx context.Context) {
	if s.follower == nil {
		return
	}
	s.follower.feed.Changes(ctx, func(c refstore.Change) { s.apply(ctx, c) })
}

// apply applies one change: what it touched is dropped, then its epoch counts as applied.
func (s *Store) apply(ctx context.Context, c refstore.Change) {
	f := s.follower
	switch c.Kind {
	case refstore.ChangeReset:
		f.set(func(a *[refstore.ChangeStripes]int64) {
			for i := range a {
				a[i] = -1
			}
		})
		s.catalogChanged()
		epochs, err := f.feed.Epochs(ctx)
		if err != nil {
			return // stays unknown until the feed reconnects
		}
		// Again, now that the epochs are read: a load that began before a change counted
		// in them, by a request that trusted the cache before the reset, must not be
		// stored (its generation predates this) and trusted until the change's
		// notification arrives.
		s.catalogChanged()
		f.set(func(a *[refstore.ChangeStripes]int64) { *a = epochs })
		return
	case refstore.ChangeCatalog:
		s.catalogChanged()
	case refstore.ChangeSegment:
		s.segmentChanged(c.Account, c.Segment)
	case refstore.ChangeSession:
		if b, err := hex.DecodeString(c.Session); err == nil && len(b) == 32 {
			s.sessionChanged(c.Session)
		} else {
			s.catalogChanged()
		}
	}
	f.set(func(a *[refstore.ChangeStripes]int64) {
		if a[c.Stripe] >= 0 && c.Epoch > a[c.Stripe] {
			a[c.Stripe] = c.Epoch
		}
	})
}

func (f *follower) set(update func(*[refstore.ChangeStripes]int64)) {
	f.mu.Lock()
	update(&f.applied)
	close(f.moved)
	f.moved = make(chan struct{})
	f.mu.Unlock()
}

// caughtUp returns the stripes whose changes are applied up to epochs, and a channel that
// is closed when more are applied.
func (f *follower) caughtUp(epochs *[refstore.ChangeStripes]int64) (uint64, <-chan struct{}) {
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

// trusted reads the stripes' epochs and returns the stripes the cache may be trusted for,
// after waiting up to feedWait for the notifications of changes committed just now.
func (f *follower) trusted(ctx context.Context) uint64 {
	epochs, err := f.feed.Epochs(ctx)
	if err != nil {
		return 0
	}
	mask, moved := f.caughtUp(&epochs)
	if mask == allStripes {
		return mask
	}
	timer := time.NewTimer(feedWait)
	defer timer.Stop()
	for mask != allStripes {
		select {
		case <-moved:
			mask, moved = f.caughtUp(&epochs)
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		break
	}
	return mask
}
