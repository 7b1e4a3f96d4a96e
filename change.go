package refstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

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

// String encodes a change for the wire: kind, stripe, epoch, account, segment, session.
func (c Change) String() string {
	return fmt.Sprintf("%d %d %d %s %d %s", c.Kind, c.Stripe, c.Epoch, orDash(c.Account), c.Segment, orDash(c.Session))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ParseChange decodes what Change.String encodes.
func ParseChange(s string) (Change, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return Change{}, fmt.Errorf("malformed change %q", s)
	}
	kind, err1 := strconv.Atoi(f[0])
	stripe, err2 := strconv.Atoi(f[1])
	epoch, err3 := strconv.ParseInt(f[2], 10, 64)
	segment, err4 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || stripe < 0 || stripe >= ChangeStripes {
		return Change{}, fmt.Errorf("malformed change %q", s)
	}
	c := Change{Kind: ChangeKind(kind), Stripe: stripe, Epoch: epoch, Account: f[3], Segment: segment, Session: f[5]}
	if c.Account == "-" {
		c.Account = ""
	}
	if c.Session == "-" {
		c.Session = ""
	}
	return c, nil
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
