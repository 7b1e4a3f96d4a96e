package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// openPostgres opens a PostgreSQL metadata store. Several nodes may start at once: the
// migrations run under a session advisory lock.
func openPostgres(ctx context.Context, rawURL string) (*Store, error) {
	redacted := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		redacted = u.Redacted()
	}
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("metadata store %s: %w", redacted, err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("metadata store %s is unreachable: %w", redacted, err)
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
	return &Store{write: db, read: db}, nil
}
