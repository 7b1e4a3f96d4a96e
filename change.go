package refstore

import "context"

// Nodes that share a metadata store keep caches of what requests read; every change to
// cached data is announced to all of them. Changes are grouped in stripes, each with an
// epoch that the change's transaction increments: a node that has applied every change of
// a stripe up to the epoch the store holds now can trust its cache for that stripe.

// ChangeStripes is the number of stripes. Stripe 0 holds changes to the catalog, keys and
// sessions; the others the assets of segments, by segment.
const ChangeStripes = 64

// CatalogStripe is the stripe of catalog, key and session changes.
const CatalogStripe = 0

// SegmentStripe is the stripe of the asset changes of a segment.
func SegmentStripe(segment int64) int { return 1 + int(uint64(segment)%(ChangeStripes-1)) }

// ChangeKind says what changed.
type ChangeKind uint8

const (
	ChangeReset   ChangeKind = iota // changes may have been missed: drop everything
	ChangeCatalog                   // catalog entries, grants, keys or their sessions
	ChangeSegment                   // the assets of one segment
	ChangeSession                   // one session ended
)

// Change is one committed change, as announced to every node.
type Change struct {
	Kind    ChangeKind
	Stripe  int
	Epoch   int64
	Account string
	Segment int64
	Session string // the session's hash, for ChangeSession
}

// FeedSource is implemented by metadata stores that nodes may share: Feed returns the
// store's change feed, or nil when this store is not shared (SQLite).
type FeedSource interface {
	Feed() ChangeFeed
}

// ChangeFeed is implemented by metadata stores that several nodes share.
type ChangeFeed interface {
	// Epochs returns the current epoch of every stripe.
	Epochs(ctx context.Context) ([ChangeStripes]int64, error)
	// Changes calls fn with every committed change, in commit order within a stripe, until
	// ctx ends. Whenever changes may have been missed (at the start, after a lost
	// connection), it calls fn with a ChangeReset first.
	Changes(ctx context.Context, fn func(Change))
}
