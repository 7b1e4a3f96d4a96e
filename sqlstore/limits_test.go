package sqlstore

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/testenv"
)

func TestLimitsSQLite(t *testing.T) {
	testLimits(t, func(t *testing.T) *Store { return openSQLiteFile(t, filepath.Join(t.TempDir(), "meta.db")) })
}

func TestLimitsPostgreSQL(t *testing.T) {
	testLimits(t, func(t *testing.T) *Store { return openPostgresDB(t, testenv.Postgres(t)) })
}

func testLimits(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("Usage", func(t *testing.T) { testUsage(t, open(t)) })
	t.Run("AccountLimits", func(t *testing.T) { testAccountLimits(t, open(t)) })
	t.Run("RequestCounters", func(t *testing.T) { testRequestCounters(t, open(t)) })
}

// Usage counts distinct contents once, however often they are uploaded and attached, and
// leaves out blobs waiting for deletion.
func testUsage(t *testing.T, s *Store) {
	loadCatalog(t, s)
	ctx := t.Context()
	u, err := s.AccountUsage(ctx, "acme")
	if err != nil || u != (refstore.Usage{Account: "acme"}) {
		t.Fatalf("empty account: %+v, %v", u, err)
	}
	a := upload(t, s, "acme", 1, "first content")
	upload(t, s, "acme", 1, "first content") // the same bytes again
	mustAttach(t, s, a, 1001, addr("", "", "a.png"))
	mustAttach(t, s, a, 1002, addr("", "", "a.png"))
	upload(t, s, "acme", 1, "second")
	upload(t, s, "other", 1, "not acme's")
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", QuotaBytes: ptr(int64(1000))}); err != nil {
		t.Fatal(err)
	}
	u, err = s.AccountUsage(ctx, "acme")
	want := refstore.Usage{Account: "acme", Bytes: int64(len("first content") + len("second")), Blobs: 2, Assets: 2, QuotaBytes: 1000}
	if err != nil || u != want {
		t.Fatalf("usage %+v, %v; want %+v", u, err, want)
	}
	_, err = s.AccountUsage(ctx, "nobody")
	wantCode(t, err, refstore.CodeNotFound)
}

func ptr[T any](v T) *T { return &v }

// AccountLimits lists the accounts that set a limit; an upsert without the fields keeps
// them, 0 clears them.
func testAccountLimits(t *testing.T, s *Store) {
	loadCatalog(t, s)
	ctx := t.Context()
	if m, err := s.AccountLimits(ctx); err != nil || len(m) != 0 {
		t.Fatalf("no limits set: %v, %v", m, err)
	}
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", RateLimit: ptr(int64(-1)), QuotaBytes: ptr(int64(5))}); err != nil {
		t.Fatal(err)
	}
	if err := upsert(t, s, refstore.CatalogAccount{ID: "other", RateLimit: ptr(int64(100))}); err != nil {
		t.Fatal(err)
	}
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	m, err := s.AccountLimits(ctx)
	if err != nil || len(m) != 2 || m["acme"] != (refstore.AccountLimit{RateLimit: -1, QuotaBytes: 5}) ||
		m["other"] != (refstore.AccountLimit{RateLimit: 100}) {
		t.Fatalf("limits %v, %v", m, err)
	}
	// The account's catalog shows them (and so does an export).
	a, err := s.AccountCatalog(ctx, "acme")
	if err != nil || a.RateLimit == nil || *a.RateLimit != -1 || a.QuotaBytes == nil || *a.QuotaBytes != 5 {
		t.Fatalf("AccountCatalog(acme) = %+v, %v; want rateLimit -1, quotaBytes 5", a, err)
	}
	if err := upsert(t, s, refstore.CatalogAccount{ID: "other", RateLimit: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.AccountLimits(ctx); err != nil || len(m) != 1 {
		t.Fatalf("after clearing other's limit: %v, %v", m, err)
	}
	if a, err := s.AccountCatalog(ctx, "other"); err != nil || a.RateLimit != nil || a.QuotaBytes != nil {
		t.Fatalf("AccountCatalog(other) = %+v, %v; want no limits", a, err)
	}
}

// Counters add up across concurrent writers (nodes) and windows are separate; pruning
// removes old windows only.
func testRequestCounters(t *testing.T, s *Store) {
	ctx := t.Context()
	w1 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	w2 := w1.Add(time.Hour)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if _, err := s.AddRequests(ctx, w1, map[string]int64{"k1": 2, "k2": 1}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.AddRequests(ctx, w1, map[string]int64{"k1": 0, "k2": 1})
	if err != nil || got["k1"] != 160 || got["k2"] != 81 {
		t.Fatalf("totals %v, %v; want k1 160, k2 81", got, err)
	}
	if got, err := s.AddRequests(ctx, w2, map[string]int64{"k1": 1}); err != nil || got["k1"] != 1 {
		t.Fatalf("new window: %v, %v", got, err)
	}
	if err := s.PruneRequests(ctx, w2); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AddRequests(ctx, w1, map[string]int64{"k1": 0}); err != nil || got["k1"] != 0 {
		t.Fatalf("pruned window: %v, %v", got, err)
	}
	if got, err := s.AddRequests(ctx, w2, map[string]int64{"k1": 0}); err != nil || got["k1"] != 1 {
		t.Fatalf("kept window: %v, %v", got, err)
	}
}
