package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore"
)

// The audit log: one row per mutation, written by the mutation's own transaction when the
// caller passes an event (the audit parameter of each mutation), or on its own for a
// refused mutation.

// recordAudit inserts one row for ev, completed by fill (which may be nil), inside tx.
// The event is left as it was given: a transaction that is retried or rolled back records
// nothing twice.
func recordAudit(ctx context.Context, tx queryer, ev *refstore.AuditEvent, fill func(ev *refstore.AuditEvent)) error {
	if ev == nil {
		return nil
	}
	row := *ev
	if fill != nil {
		fill(&row)
	}
	return insertAudit(ctx, tx, &row)
}

func insertAudit(ctx context.Context, q queryer, ev *refstore.AuditEvent) error {
	if ev.ID == 0 {
		ev.ID = randomAuditID()
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Outcome == "" {
		ev.Outcome = refstore.AuditOutcomeOK
	}
	if ev.Actor == "" {
		ev.Actor = refstore.ActorAdmin
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (id, at, account_id, actor, user_id, action, project_id,
		document_id, segment_id, asset_id, target, detail, item_count, request_id, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		ev.ID, ev.Time.UnixNano(), ev.Account, ev.Actor, ev.UserID, string(ev.Action), ev.ProjectID, ev.DocumentID,
		ev.SegmentID, ev.AssetID, ev.Target, ev.Detail, ev.Count, ev.RequestID, ev.Outcome)
	return err
}

// randomAuditID draws a positive 63-bit id: unique without coordination between nodes.
func randomAuditID() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1
}

// RecordAudit stores one row on its own (a refused mutation changes nothing else).
func (s *Store) RecordAudit(ctx context.Context, ev *refstore.AuditEvent) (err error) {
	defer classify(&err)
	row := *ev
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return insertAudit(ctx, tx, &row) })
}

// AuditLog lists rows newest first (by time, then id), filtered and paginated.
func (s *Store) AuditLog(ctx context.Context, f refstore.AuditFilter) (_ []refstore.AuditEvent, err error) {
	defer classify(&err)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Account != "" {
		where = append(where, "account_id = "+arg(f.Account))
	}
	if f.ProjectID != 0 {
		where = append(where, "project_id = "+arg(f.ProjectID))
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(f.Since.UnixNano()))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < "+arg(f.Until.UnixNano()))
	}
	if f.After != nil {
		at := f.After.Time.UnixNano()
		where = append(where, "(at < "+arg(at)+" OR (at = "+arg(at)+" AND id < "+arg(f.After.ID)+"))")
	}
	query := `SELECT id, at, account_id, actor, user_id, action, project_id, document_id, segment_id, asset_id,
		target, detail, item_count, request_id, outcome FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query += " ORDER BY at DESC, id DESC LIMIT " + arg(limit)
	events := []refstore.AuditEvent{}
	err = scanAll(ctx, s.read, query, args, func(r *sql.Rows) error {
		var ev refstore.AuditEvent
		var at int64
		var action string
		err := r.Scan(&ev.ID, &at, &ev.Account, &ev.Actor, &ev.UserID, &action, &ev.ProjectID, &ev.DocumentID,
			&ev.SegmentID, &ev.AssetID, &ev.Target, &ev.Detail, &ev.Count, &ev.RequestID, &ev.Outcome)
		ev.Time, ev.Action = time.Unix(0, at).UTC(), refstore.AuditAction(action)
		events = append(events, ev)
		return err
	})
	return events, err
}

// PruneAudit removes the rows older than before.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (_ int64, err error) {
	defer classify(&err)
	var n int64
	err = s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE at < $1`, before.UnixNano())
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}
