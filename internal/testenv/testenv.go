// Package testenv gives tests the real servers they need: a fresh PostgreSQL database on
// the server at 127.0.0.1:5432 (or REFSTORE_TEST_POSTGRES), and a versitygw S3 gateway on a
// loopback port over a temporary directory. A missing server fails the test with what to
// do; nothing is skipped and nothing is faked.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// postgresAdminURL is where tests create their databases.
func postgresAdminURL() string {
	if u := os.Getenv("REFSTORE_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Postgres creates a new, empty database and returns its URL. The database is dropped
// when the test ends (tb may be a long-lived testing.TB whose cleanups run later).
func Postgres(tb testing.TB) string {
	tb.Helper()
	u, drop, err := NewPostgresDatabase()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	return u
}

// NewPostgresDatabase creates a new, empty database on the PostgreSQL server the tests use
// and returns its URL and a function that drops it.
func NewPostgresDatabase() (string, func(), error) {
	admin := postgresAdminURL()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := randomName("refstore_test_")
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("creating a PostgreSQL database at %s: %v\n"+
			"The tests need a PostgreSQL server: start one on 127.0.0.1:5432 (.ci/run does), or set REFSTORE_TEST_POSTGRES",
			redact(admin), err)
	}
	drop := func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return strings.SplitN(raw, "@", 2)[0]
}

// Postgres reachable reports an error when no PostgreSQL server answers.
func PostgresReachable() error {
	db, err := sql.Open("pgx", postgresAdminURL())
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", redact(postgresAdminURL()), err)
	}
	return nil
}
