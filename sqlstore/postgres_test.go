package sqlstore

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/refstore/refstore/internal/testenv"
)

// TestPostgreSQL runs the store suite unchanged on PostgreSQL, one fresh database per case.
func TestPostgreSQL(t *testing.T) {
	testStore(t, func(t *testing.T) *Store { return openPostgresDB(t, testenv.Postgres(t)) })
}

func openPostgresDB(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Several nodes starting at once migrate one database without tripping over each other.
func TestPostgreSQLConcurrentMigrations(t *testing.T) {
	url := testenv.Postgres(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := Open(context.Background(), url)
			if err == nil {
				err = s.Ping(context.Background())
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// An unreachable server stops Open with a message that names it, without the password.
func TestPostgreSQLUnreachable(t *testing.T) {
	_, err := Open(context.Background(), "postgres://refstore:s3cret@127.0.0.1:1/refstore?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "unreachable") || strings.Contains(msg, "s3cret") {
		t.Fatalf("error %q should say unreachable and hide the password", msg)
	}
}
