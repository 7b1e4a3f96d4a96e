// Package sqlstore implements refstore.MetaStore with one schema and one set of queries
// for SQLite (the embedded default, modernc.org/sqlite) and PostgreSQL.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/refstore/refstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQL metadata store.
type Store struct {
	// write serialises writers on SQLite (one connection, immediate transactions); on
	// PostgreSQL it is the same pool as read.
	write *sql.DB
	read  *sql.DB
	// group commits concurrent writers together on SQLite; nil on PostgreSQL, whose
	// server does that itself.
	group *groupCommit
	// feedURL is where a shared store listens for changes (see feed.go); empty on SQLite
	// and on read-only stores.
	feedURL string
	// onEvents is told when a committed mutation wrote webhook deliveries.
	onEvents atomic.Pointer[func()]
}

var (
	_ refstore.MetaStore     = (*Store)(nil)
	_ refstore.EventNotifier = (*Store)(nil)
)

// Open opens (and migrates) the metadata store named by a URL: sqlite:PATH, or
// postgres://… (postgresql://…) in any form pgx accepts.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok {
		return nil, fmt.Errorf("metadata URL %q: want sqlite:PATH or postgres://…", rawURL)
	}
	switch scheme {
	case "sqlite":
		return openSQLite(ctx, rest)
	case "postgres", "postgresql":
		return openPostgres(ctx, rawURL)
	default:
		return nil, fmt.Errorf("metadata URL: unknown scheme %q (want sqlite:PATH or postgres://…)", scheme)
	}
}

// OpenReadOnly opens the metadata store named by a URL for reading only, next to the
// processes that may be writing it (a running server): it runs no migrations, so the
// schema must already be current, and every write fails. SQLite is opened with mode=ro
// (a WAL reader sees each commit of the writer and never blocks it); PostgreSQL sessions
// run with default_transaction_read_only.
func OpenReadOnly(ctx context.Context, rawURL string) (*Store, error) {
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok {
		return nil, fmt.Errorf("metadata URL %q: want sqlite:PATH or postgres://…", rawURL)
	}
	switch scheme {
	case "sqlite":
		return openSQLiteReadOnly(ctx, rest)
	case "postgres", "postgresql":
		return openPostgresReadOnly(ctx, rawURL)
	default:
		return nil, fmt.Errorf("metadata URL: unknown scheme %q (want sqlite:PATH or postgres://…)", scheme)
	}
}

func openSQLiteReadOnly(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("metadata URL sqlite: needs a file path")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("metadata store sqlite:%s: %w", path, err)
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	if err := checkSchema(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("metadata store sqlite:%s: %w", path, err)
	}
	return &Store{write: db, read: db}, nil
}

// checkSchema makes sure that a store opened without migrating holds the schema this
// build queries.
func checkSchema(ctx context.Context, db *sql.DB) error {
	want, err := latestMigration()
	if err != nil {
		return err
	}
	var got sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version`).Scan(&got); err != nil {
		return fmt.Errorf("it holds no refstore schema (%w)", err)
	}
	switch {
	case got.Int64 < want:
		return fmt.Errorf("its schema is at version %d and this refstore needs %d: run `refstore serve` on it once to migrate it",
			got.Int64, want)
	case got.Int64 > want:
		return fmt.Errorf("its schema is at version %d, newer than this refstore knows (%d): use a newer refstore",
			got.Int64, want)
	}
	return nil
}

// latestMigration is the version of the newest embedded migration.
func latestMigration() (int64, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		prefix, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration %s: no version prefix", e.Name())
		}
		latest = max(latest, v)
	}
	return latest, nil
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("metadata URL sqlite: needs a file path")
	}
	// FULL synchronous mode makes every commit durable against power loss, not only
	// against a crash of the process; immediate transactions avoid the SQLITE_BUSY that
	// deferred transactions hit when they upgrade to writers.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	// Created for the server's user alone before SQLite opens it (it would make it 0644);
	// SQLite gives the -wal and -shm files the database file's mode. An empty file is a
	// new database.
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
		f.Close()
	}
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := migrate(ctx, goose.DialectSQLite3, write); err != nil {
		write.Close()
		return nil, err
	}
	// No mmap_size: mapped pages would count in the server's RSS as the database grows, and
	// an I/O error on a mapped page is a SIGBUS, not an error (measured gain on lists of
	// 1000 segments at 1 M assets: about 15%).
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, err
	}
	// Each reader keeps its own page cache (2 MiB, outside the Go heap and its memory
	// limit): two per core keep the cores busy without a cache per idle connection.
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxIdleTime(0)
	return &Store{write: write, read: read, group: newGroupCommit(write)}, nil
}

func migrate(ctx context.Context, dialect goose.Dialect, db *sql.DB, opts ...goose.ProviderOption) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrating the metadata schema: %w", err)
	}
	return nil
}

// Ping checks that both pools answer a query.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer classify(&err)
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	if s.write != s.read {
		return s.write.PingContext(ctx)
	}
	return nil
}

// Close closes the pools.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	err := s.read.Close()
	if s.write != s.read {
		err = errors.Join(err, s.write.Close())
	}
	return err
}

// inTx runs fn in a write transaction and commits when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if s.group != nil {
		return s.group.do(ctx, fn)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}
