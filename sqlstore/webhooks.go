package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/refstore/refstore"
)

// The webhook outbox (migration 00005). Mutations call enqueueEvents inside their own
// transaction; deliverers claim, send and complete deliveries through the methods below.

var _ refstore.WebhookStore = (*Store)(nil)

// postgres reports whether the store runs on PostgreSQL, for the few statements whose
// form differs (row locks that skip what another node holds).
func (s *Store) postgres() bool {
	_, ok := s.write.Driver().(*stdlib.Driver)
	return ok
}

// randomID returns prefix followed by 24 hex characters of randomness.
func randomID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func joinEvents(ts []refstore.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

func splitEvents(s string) []refstore.EventType {
	if s == "" {
		return nil
	}
	var out []refstore.EventType
	for f := range strings.SplitSeq(s, ",") {
		out = append(out, refstore.EventType(f))
	}
	return out
}

// CreateWebhook stores an endpoint; CodeNotFound when the account does not exist.
func (s *Store) CreateWebhook(ctx context.Context, e refstore.WebhookEndpoint) (err error) {
	defer classify(&err)
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = $1`, e.Account); err != nil {
			return err
		} else if !found {
			return refstore.Errorf(refstore.CodeNotFound, "Account %s does not exist.", e.Account)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (account_id, id, url, secret, events, description, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.Account, e.ID, e.URL, e.Secret, joinEvents(e.Events), e.Description,
			millis(e.Created))
		return err
	})
}

// Webhooks lists an account's endpoints, oldest first, without their secrets.
func (s *Store) Webhooks(ctx context.Context, account string) (_ []refstore.WebhookEndpoint, err error) {
	defer classify(&err)
	out := []refstore.WebhookEndpoint{}
	err = scanAll(ctx, s.read, `SELECT id, url, events, description, created FROM webhook_endpoints
		WHERE account_id = $1 ORDER BY created, id`, []any{account}, func(r *sql.Rows) error {
		e := refstore.WebhookEndpoint{Account: account}
		var events string
		var created int64
		err := r.Scan(&e.ID, &e.URL, &events, &e.Description, &created)
		e.Events, e.Created = splitEvents(events), fromMillis(created)
		out = append(out, e)
		return err
	})
	return out, err
}

// DeleteWebhook removes an endpoint with its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, account, id string) (err error) {
	defer classify(&err)
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2`, account, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refstore.Errorf(refstore.CodeNotFound, "Webhook %s does not exist in account %s.", id, account)
		}
		return nil
	})
}

// enqueueEvents writes one pending delivery per endpoint of the events' account that
// wants the event, inside a mutation's transaction, and says how many it wrote. With no
// endpoint it costs one indexed read.
func enqueueEvents(ctx context.Context, tx queryer, events []refstore.Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	type endpoint struct {
		id     string
		events []refstore.EventType
	}
	byAccount := map[string][]endpoint{}
	written := 0
	for _, ev := range events {
		eps, loaded := byAccount[ev.Data.Account]
		if !loaded {
			err := scanAll(ctx, tx, `SELECT id, events FROM webhook_endpoints WHERE account_id = $1 ORDER BY id`,
				[]any{ev.Data.Account}, func(r *sql.Rows) error {
					var e endpoint
					var events string
					err := r.Scan(&e.id, &events)
					e.events = splitEvents(events)
					eps = append(eps, e)
					return err
				})
			if err != nil {
				return written, err
			}
			byAccount[ev.Data.Account] = eps
		}
		if len(eps) == 0 {
			continue
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			return written, err
		}
		for _, e := range eps {
			if !(&refstore.WebhookEndpoint{Events: e.events}).Wants(ev.Type) {
				continue
			}
			// Due at the event's time: it is sent as soon as the transaction commits.
			_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, event_type,
				event_time, payload, state, attempts, next_attempt, lease, lease_until, last_status, last_error, created,
				delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $6, '', 0, 0, '', $8, 0)`,
				randomID("wd_"), ev.Data.Account, e.id, ev.ID, string(ev.Type), millis(ev.Time), string(payload),
				millis(time.Now()))
			if err != nil {
				return written, err
			}
			written++
		}
	}
	return written, nil
}

const deliveryColumns = `d.id, d.account_id, d.endpoint_id, d.payload, d.state, d.attempts, d.next_attempt,
	d.last_status, d.last_error, d.created, d.delivered_at`

func scanDelivery(r interface{ Scan(...any) error }, extra ...any) (refstore.Delivery, error) {
	var d refstore.Delivery
	var payload, state string
	var next, created, delivered int64
	err := r.Scan(append([]any{&d.ID, &d.Account, &d.EndpointID, &payload, &state, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &created, &delivered}, extra...)...)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(payload), &d.Event); err != nil {
		return d, err
	}
	d.State, d.Created = refstore.DeliveryState(state), fromMillis(created)
	if next > 0 && d.State == refstore.DeliveryPending {
		d.NextAttempt = fromMillis(next)
	}
	if delivered > 0 {
		d.DeliveredAt = fromMillis(delivered)
	}
	return d, nil
}

// ClaimDeliveries leases up to limit due deliveries. On PostgreSQL the rows are locked
// with SKIP LOCKED, so that nodes claiming at once take different deliveries; on SQLite
// one writer claims at a time anyway.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) (_ []refstore.ClaimedDelivery, err error) {
	defer classify(&err)
	lock := ""
	if s.postgres() {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	token := randomID("l_")
	var out []refstore.ClaimedDelivery
	err = s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		var ids []any
		err := scanAll(ctx, tx, `SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt <= $1
			AND lease_until <= $1 ORDER BY next_attempt, id LIMIT $2`+lock, []any{millis(now), limit}, func(r *sql.Rows) error {
			var id string
			err := r.Scan(&id)
			ids = append(ids, id)
			return err
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		args := append([]any{token, millis(now.Add(lease))}, ids...)
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease = $1, lease_until = $2 WHERE id IN (`+
			placeholders(3, len(ids))+`)`, args...); err != nil {
			return err
		}
		return scanAll(ctx, tx, `SELECT `+deliveryColumns+`, e.url, e.secret FROM webhook_deliveries d
			JOIN webhook_endpoints e ON e.account_id = d.account_id AND e.id = d.endpoint_id
			WHERE d.id IN (`+placeholders(1, len(ids))+`) ORDER BY d.next_attempt, d.id`, ids, func(r *sql.Rows) error {
			c := refstore.ClaimedDelivery{Lease: token}
			var err error
			c.Delivery, err = scanDelivery(r, &c.URL, &c.Secret)
			out = append(out, c)
			return err
		})
	})
	return out, err
}

// CompleteDelivery records an attempt, if the claim is still the caller's.
func (s *Store) CompleteDelivery(ctx context.Context, d refstore.ClaimedDelivery, r refstore.DeliveryResult) (err error) {
	defer classify(&err)
	var delivered, next int64
	if r.State == refstore.DeliveryDelivered {
		delivered = millis(r.At)
	}
	if r.State == refstore.DeliveryPending {
		next = millis(r.Next)
	}
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $3, attempts = attempts + 1,
			next_attempt = $4, lease = '', lease_until = 0, last_status = $5, last_error = $6, delivered_at = $7
			WHERE id = $1 AND lease = $2`, d.ID, d.Lease, string(r.State), next, r.Status, truncateText(r.Err, 500), delivered)
		return err
	})
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Deliveries lists deliveries newest first.
func (s *Store) Deliveries(ctx context.Context, f refstore.DeliveryFilter) (_ []refstore.Delivery, err error) {
	defer classify(&err)
	args := []any{f.Account}
	where := "d.account_id = $1"
	if f.EndpointID != "" {
		args = append(args, f.EndpointID)
		where += " AND d.endpoint_id = $" + strconv.Itoa(len(args))
	}
	if f.State != "" {
		args = append(args, string(f.State))
		where += " AND d.state = $" + strconv.Itoa(len(args))
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	args = append(args, limit)
	out := []refstore.Delivery{}
	err = scanAll(ctx, s.read, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE `+where+
		` ORDER BY d.created DESC, d.id DESC LIMIT $`+strconv.Itoa(len(args)), args, func(r *sql.Rows) error {
		d, err := scanDelivery(r)
		out = append(out, d)
		return err
	})
	return out, err
}

// ReplayDelivery makes a delivery pending and due at now, keeping its event (and id).
func (s *Store) ReplayDelivery(ctx context.Context, account, id string, now time.Time) (err error) {
	defer classify(&err)
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', next_attempt = $3,
			lease = '', lease_until = 0 WHERE account_id = $1 AND id = $2`, account, id, millis(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refstore.Errorf(refstore.CodeNotFound, "Delivery %s does not exist in account %s.", id, account)
		}
		return nil
	})
}

// WebhookBacklog counts pending deliveries and the age of the oldest event among them.
func (s *Store) WebhookBacklog(ctx context.Context, now time.Time) (pending int64, oldest time.Duration, err error) {
	defer classify(&err)
	var first sql.NullInt64
	err = s.read.QueryRowContext(ctx, `SELECT COUNT(*), MIN(event_time) FROM webhook_deliveries WHERE state = 'pending'`).
		Scan(&pending, &first)
	if err != nil {
		return 0, 0, err
	}
	if first.Valid {
		oldest = max(0, now.Sub(fromMillis(first.Int64)))
	}
	return pending, oldest, nil
}

// PruneDeliveries removes delivered and failed deliveries created before before.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (_ int64, err error) {
	defer classify(&err)
	var n int64
	err = s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created < $1`, millis(before))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}

// OnEvents sets fn, called after a mutation that wrote webhook deliveries commits.
func (s *Store) OnEvents(fn func()) { s.onEvents.Store(&fn) }

// eventsWritten tells the deliverer of this node that deliveries are due.
func (s *Store) eventsWritten(n int) {
	if n == 0 {
		return
	}
	if fn := s.onEvents.Load(); fn != nil {
		(*fn)()
	}
}

// writeEvents enqueues the events of a user's mutation (one with an audit event: the
// sweeper's, recovery's and imports' changes send none).
func writeEvents(ctx context.Context, tx queryer, audit *refstore.AuditEvent, events ...refstore.Event) (int, error) {
	if audit == nil || len(events) == 0 {
		return 0, nil
	}
	return enqueueEvents(ctx, tx, events)
}
