package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/refstore/refstore"
)

// UserByKey finds the user that owns an API key of the account.
func (s *Store) UserByKey(ctx context.Context, account, keyHash string) (_ int64, err error) {
	defer classify(&err)
	var user int64
	err = s.read.QueryRowContext(ctx, `SELECT user_id FROM api_keys WHERE hash = $1 AND account_id = $2`,
		keyHash, account).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, refstore.Errorf(refstore.CodeInvalidKey, "Invalid private key.")
	}
	return user, err
}

// AddAPIKey adds a key to a user. Adding the same key to the same user again is a no-op.
func (s *Store) AddAPIKey(ctx context.Context, k refstore.APIKey, audit *refstore.AuditEvent) (err error) {
	defer classify(&err)
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := addKey(ctx, tx, k); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, nil)
	})
}

func addKey(ctx context.Context, tx *sql.Tx, k refstore.APIKey) error {
	if found, err := exists(ctx, tx, `SELECT 1 FROM users WHERE account_id = $1 AND id = $2`, k.Account, k.UserID); err != nil {
		return err
	} else if !found {
		return refstore.Errorf(refstore.CodeNotFound, "User %d does not exist in account %s.", k.UserID, k.Account)
	}
	var account string
	var user int64
	err := tx.QueryRowContext(ctx, `SELECT account_id, user_id FROM api_keys WHERE hash = $1`, k.Hash).Scan(&account, &user)
	switch {
	case err == nil && (account != k.Account || user != k.UserID):
		return refstore.Errorf(refstore.CodeConflict, "This API key already belongs to another user.")
	case err == nil:
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (hash, id, account_id, user_id, created) VALUES ($1, $2, $3, $4, $5)`,
		k.Hash, k.ID, k.Account, k.UserID, millis(k.Created))
	return err
}

// APIKeys lists a user's keys (ids and creation times only).
func (s *Store) APIKeys(ctx context.Context, account string, userID int64) (_ []refstore.APIKey, err error) {
	defer classify(&err)
	if found, err := exists(ctx, s.read, `SELECT 1 FROM users WHERE account_id = $1 AND id = $2`, account, userID); err != nil {
		return nil, err
	} else if !found {
		return nil, refstore.Errorf(refstore.CodeNotFound, "User %d does not exist in account %s.", userID, account)
	}
	keys := []refstore.APIKey{}
	err = scanAll(ctx, s.read, `SELECT id, created FROM api_keys WHERE account_id = $1 AND user_id = $2 ORDER BY created, id`,
		[]any{account, userID}, func(r *sql.Rows) error {
			k := refstore.APIKey{Account: account, UserID: userID}
			var created int64
			err := r.Scan(&k.ID, &created)
			k.Created = fromMillis(created)
			keys = append(keys, k)
			return err
		})
	return keys, err
}

// AccountAPIKeys lists every key of an account with its hash, for export.
func (s *Store) AccountAPIKeys(ctx context.Context, account string) (_ []refstore.APIKey, err error) {
	defer classify(&err)
	keys := []refstore.APIKey{}
	err = scanAll(ctx, s.read, `SELECT id, hash, user_id, created FROM api_keys WHERE account_id = $1 ORDER BY user_id, id`,
		[]any{account}, func(r *sql.Rows) error {
			k := refstore.APIKey{Account: account}
			var created int64
			err := r.Scan(&k.ID, &k.Hash, &k.UserID, &created)
			k.Created = fromMillis(created)
			keys = append(keys, k)
			return err
		})
	return keys, err
}

// RevokeAPIKey deletes a key; its sessions go with it (foreign key cascade).
func (s *Store) RevokeAPIKey(ctx context.Context, account string, userID int64, id string, audit *refstore.AuditEvent) (err error) {
	defer classify(&err)
	var n int64
	err = s.inTxAnnounce(ctx, catalogChange(), func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE account_id = $1 AND user_id = $2 AND id = $3`,
			account, userID, id)
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return refstore.Errorf(refstore.CodeNotFound, "Key %s of user %d does not exist.", id, userID)
		}
		return recordAudit(ctx, tx, audit, nil)
	})
	return err
}

func (s *Store) CreateSession(ctx context.Context, ss refstore.Session, audit *refstore.AuditEvent) (err error) {
	defer classify(&err)
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, account_id, user_id, key_hash, created, last_used)
			VALUES ($1, $2, $3, $4, $5, $6)`, ss.Hash, ss.Account, ss.UserID, ss.KeyHash, millis(ss.Created), millis(ss.LastUsed))
		if err != nil {
			return err
		}
		return recordKeyAudit(ctx, tx, audit, ss.KeyHash)
	})
}

// recordKeyAudit records the event of a session's start or end, naming the session by
// the public id of the API key it was opened with (never by its token or hash).
func recordKeyAudit(ctx context.Context, tx *sql.Tx, ev *refstore.AuditEvent, keyHash string) error {
	if ev == nil {
		return nil
	}
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM api_keys WHERE hash = $1`, keyHash).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return recordAudit(ctx, tx, ev, func(ev *refstore.AuditEvent) {
		if id != "" {
			ev.Target = "key " + id
		}
	})
}

func (s *Store) Session(ctx context.Context, hash string) (_ refstore.Session, err error) {
	defer classify(&err)
	ss := refstore.Session{Hash: hash}
	var created, used int64
	err = s.read.QueryRowContext(ctx, `SELECT account_id, user_id, key_hash, created, last_used FROM sessions WHERE hash = $1`,
		hash).Scan(&ss.Account, &ss.UserID, &ss.KeyHash, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return ss, refstore.Errorf(refstore.CodeUnauthorized, "Token invalid or expired.")
	}
	ss.Created, ss.LastUsed = fromMillis(created), fromMillis(used)
	return ss, err
}

// TouchSession records a use of a session. It matches the session by its hash alone and
// never moves last_used back, so that no row changed means no session: CodeUnauthorized.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) (err error) {
	defer classify(&err)
	return s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET last_used = CASE WHEN last_used < $2 THEN $2 ELSE last_used END
			WHERE hash = $1`, hash, millis(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return refstore.Errorf(refstore.CodeUnauthorized, "Token invalid or expired.")
		}
		return nil
	})
}

func (s *Store) DeleteSession(ctx context.Context, hash string, audit *refstore.AuditEvent) (err error) {
	defer classify(&err)
	return s.inTxAnnounce(ctx, refstore.Change{Kind: refstore.ChangeSession, Stripe: refstore.CatalogStripe, Session: hash},
		func(ctx context.Context, tx *sql.Tx) error {
			var keyHash string
			err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE hash = $1 RETURNING key_hash`, hash).Scan(&keyHash)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // already ended: nothing changed, nothing to record
			} else if err != nil {
				return err
			}
			return recordKeyAudit(ctx, tx, audit, keyHash)
		})
}

func (s *Store) DeleteSessionsIdleSince(ctx context.Context, before time.Time) (_ int64, err error) {
	defer classify(&err)
	var n int64
	err = s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE last_used < $1`, millis(before))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}
