package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// openPostgres opens a PostgreSQL metadata store. Several nodes may start at once: the
// migrations run under a session advisory lock.
func openPostgres(ctx context.Context, rawURL string) (*Store, error) {
	db, redacted, err := connectPostgres(ctx, rawURL, false)
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := migrate(ctx, goose.DialectPostgres, db, goose.WithSessionLocker(locker)); err != nil {
		db.Close()
		return nil, fmt.Errorf("metadata store %s: %w", redacted, err)
	}
	return &Store{write: db, read: db, feedURL: listenURL(rawURL)}, nil
}

// openPostgresReadOnly opens a PostgreSQL metadata store whose sessions refuse writes.
func openPostgresReadOnly(ctx context.Context, rawURL string) (*Store, error) {
	db, redacted, err := connectPostgres(ctx, rawURL, true)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("metadata store %s: %w", redacted, err)
	}
	return &Store{write: db, read: db}, nil
}

// connectPostgres opens a pool and checks that the server answers.
func connectPostgres(ctx context.Context, rawURL string, readOnly bool) (*sql.DB, string, error) {
	redacted := RedactURL(rawURL)
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, redacted, fmt.Errorf("metadata store %s: %w", redacted, err)
	}
	// pool_max_conns (as pgxpool names it) sizes the pool; the server never sees it.
	maxConns := 32
	if v, ok := cfg.RuntimeParams["pool_max_conns"]; ok {
		delete(cfg.RuntimeParams, "pool_max_conns")
		if maxConns, err = strconv.Atoi(v); err != nil || maxConns < 1 {
			return nil, redacted, fmt.Errorf("metadata store %s: pool_max_conns=%q is not a positive number", redacted, v)
		}
	}
	if readOnly {
		// Every transaction of every session is read-only: a write fails in the server.
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	db := stdlib.OpenDB(*cfg)
	// Idle connections are few and short-lived: a fleet of nodes must not hold a
	// server's max_connections while it is quiet.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(min(4, maxConns))
	db.SetConnMaxIdleTime(time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, redacted, fmt.Errorf("metadata store %s is unreachable: %w", redacted, err)
	}
	return db, redacted, nil
}

// RedactURL hides the password of a store URL, given as user information or as a
// password parameter (which pgx also accepts), before the URL is logged or shown.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") || strings.Contains(strings.ToLower(raw), "password") {
			return "(an unparsable URL, not shown: it may hold a password)"
		}
		return raw
	}
	// The query is rewritten by hand: url.Values would drop a malformed pair, and reorder.
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if name, err := url.QueryUnescape(k); err != nil || strings.EqualFold(name, "password") ||
			strings.Contains(strings.ToLower(p), "password") {
			parts[i] = k + "=xxxxx"
		}
	}
	u.RawQuery = strings.Join(parts, "&")
	return u.Redacted()
}

// listenURL is the URL of the feed's own connection: the store's, without the pool size.
func listenURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String()
}
