package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/refstore/refstore"
)

var _ refstore.LimitStore = (*Store)(nil)

// AccountUsage sums an account's live blobs (those not waiting for deletion). The sum runs
// over the blobs' primary key, which starts with the account.
func (s *Store) AccountUsage(ctx context.Context, account string) (u refstore.Usage, err error) {
	defer classify(&err)
	u.Account = account
	err = s.read.QueryRowContext(ctx, `SELECT a.quota_bytes,
		(SELECT COALESCE(SUM(b.size), 0) FROM blobs b WHERE b.account_id = a.id AND b.garbage_since IS NULL),
		(SELECT COUNT(*) FROM blobs b WHERE b.account_id = a.id AND b.garbage_since IS NULL),
		(SELECT COUNT(*) FROM assets x WHERE x.account_id = a.id)
		FROM accounts a WHERE a.id = $1`, account).Scan(&u.QuotaBytes, &u.Bytes, &u.Blobs, &u.Assets)
	if errors.Is(err, sql.ErrNoRows) {
		return u, refstore.Errorf(refstore.CodeNotFound, "Account %s does not exist.", account)
	}
	return u, err
}

// AccountLimits returns the accounts whose catalog sets a rate limit or a quota.
func (s *Store) AccountLimits(ctx context.Context) (_ map[string]refstore.AccountLimit, err error) {
	defer classify(&err)
	out := map[string]refstore.AccountLimit{}
	err = scanAll(ctx, s.read, `SELECT id, rate_limit, quota_bytes FROM accounts WHERE rate_limit <> 0 OR quota_bytes <> 0`, nil, func(r *sql.Rows) error {
		var id string
		var l refstore.AccountLimit
		if err := r.Scan(&id, &l.RateLimit, &l.QuotaBytes); err != nil {
			return err
		}
		out[id] = l
		return nil
	})
	return out, err
}

// AddRequests adds counts to the window's counters in one transaction and returns their
// totals, which include what other nodes added.
func (s *Store) AddRequests(ctx context.Context, window time.Time, counts map[string]int64) (_ map[string]int64, err error) {
	defer classify(&err)
	totals := make(map[string]int64, len(counts))
	err = s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if s.group == nil {
			// PostgreSQL: counters need no fsync (a crash loses a second of counts), and
			// nodes learn each other's counts sooner.
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
		}
		// In key order, so that nodes adding at once lock the rows in one order and
		// cannot deadlock.
		for _, key := range slices.Sorted(maps.Keys(counts)) {
			n := counts[key]
			var total int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO rate_counters (key_hash, window_start, requests)
				VALUES ($1, $2, $3)
				ON CONFLICT (key_hash, window_start) DO UPDATE SET requests = rate_counters.requests + excluded.requests
				RETURNING requests`, key, window.UnixMilli(), n).Scan(&total); err != nil {
				return err
			}
			totals[key] = total
		}
		return nil
	})
	return totals, err
}

// PruneRequests removes the counters of windows that started before before.
func (s *Store) PruneRequests(ctx context.Context, before time.Time) (err error) {
	defer classify(&err)
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM rate_counters WHERE window_start < $1`, before.UnixMilli())
		return err
	})
}
