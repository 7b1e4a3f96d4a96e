package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/refstore/refstore"
)

// The change feed of a shared (PostgreSQL) store: see refstore.ChangeFeed. A change's
// transaction increments its stripe's epoch and queues a notification; PostgreSQL delivers
// notifications at commit, in commit order, so a node that has applied the notification of
// epoch n of a stripe has applied every change of that stripe up to n.

// changeChannel is the PostgreSQL notification channel of the feed.
const changeChannel = "refstore_changes"

func segmentChange(account string, segment int64) refstore.Change {
	return refstore.Change{Kind: refstore.ChangeSegment, Stripe: refstore.SegmentStripe(segment), Account: account, Segment: segment}
}

func catalogChange() refstore.Change {
	return refstore.Change{Kind: refstore.ChangeCatalog, Stripe: refstore.CatalogStripe}
}

// inTxAnnounce runs fn in a write transaction and, on a shared store, announces c at its
// end, in the same transaction: the epoch's row is locked only for the last moment.
func (s *Store) inTxAnnounce(ctx context.Context, c refstore.Change, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if s.feedURL == "" {
			return nil
		}
		if err := tx.QueryRowContext(ctx, `UPDATE change_epochs SET epoch = epoch + 1 WHERE stripe = $1 RETURNING epoch`,
			c.Stripe).Scan(&c.Epoch); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, changeChannel, encodeChange(c))
		return err
	})
}

// Feed returns the store's change feed, or nil when the store is not shared.
func (s *Store) Feed() refstore.ChangeFeed {
	if s.feedURL == "" {
		return nil
	}
	return s
}

// Epochs returns the current epoch of every stripe.
func (s *Store) Epochs(ctx context.Context) (e [refstore.ChangeStripes]int64, err error) {
	defer classify(&err)
	err = scanAll(ctx, s.read, `SELECT stripe, epoch FROM change_epochs`, nil, func(r *sql.Rows) error {
		var stripe int
		var epoch int64
		if err := r.Scan(&stripe, &epoch); err != nil {
			return err
		}
		if stripe >= 0 && stripe < len(e) {
			e[stripe] = epoch
		}
		return nil
	})
	return e, err
}

// Changes listens on a connection of its own and calls fn with every change, reconnecting
// (and calling fn with a reset) whenever the connection is lost.
func (s *Store) Changes(ctx context.Context, fn func(refstore.Change)) {
	for ctx.Err() == nil {
		s.listen(ctx, fn)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *Store) listen(ctx context.Context, fn func(refstore.Change)) {
	conn, err := pgx.Connect(ctx, s.feedURL)
	if err != nil {
		fn(refstore.Change{Kind: refstore.ChangeReset})
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		fn(refstore.Change{Kind: refstore.ChangeReset})
		return
	}
	// Listening from here on: what changed before is unknown, so everything is dropped.
	fn(refstore.Change{Kind: refstore.ChangeReset})
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			fn(refstore.Change{Kind: refstore.ChangeReset})
			return
		}
		c, err := parseChange(n.Payload)
		if err != nil {
			fn(refstore.Change{Kind: refstore.ChangeReset})
			continue
		}
		fn(c)
	}
}

// encodeChange writes a change as the payload of its notification: kind, stripe, epoch,
// account, segment, session.
func encodeChange(c refstore.Change) string {
	return fmt.Sprintf("%d %d %d %s %d %s", c.Kind, c.Stripe, c.Epoch, orDash(c.Account), c.Segment, orDash(c.Session))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseChange decodes what encodeChange encodes.
func parseChange(s string) (refstore.Change, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return refstore.Change{}, fmt.Errorf("malformed change %q", s)
	}
	kind, err1 := strconv.Atoi(f[0])
	stripe, err2 := strconv.Atoi(f[1])
	epoch, err3 := strconv.ParseInt(f[2], 10, 64)
	segment, err4 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || stripe < 0 || stripe >= refstore.ChangeStripes {
		return refstore.Change{}, fmt.Errorf("malformed change %q", s)
	}
	c := refstore.Change{Kind: refstore.ChangeKind(kind), Stripe: stripe, Epoch: epoch, Account: f[3], Segment: segment, Session: f[5]}
	if c.Account == "-" {
		c.Account = ""
	}
	if c.Session == "-" {
		c.Session = ""
	}
	return c, nil
}
