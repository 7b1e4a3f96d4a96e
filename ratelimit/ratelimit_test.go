package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/sqlstore"
)

// limiter counts in the SQLite store in dir, alone (as on the embedded default), with a
// clock the test moves.
func limiter(t *testing.T, dir string, cfg Config) (*Limiter, *time.Time) {
	t.Helper()
	meta, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	l := New(meta, cfg, slog.New(slog.DiscardHandler))
	now := time.Date(2026, 3, 1, 10, 59, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	return l, &now
}

// The count of a key fills its window, is refused with the time to the window's end,
// starts again in the next window, and survives a restart through the store.
func TestRateLimitWindows(t *testing.T) {
	dir := t.TempDir()
	s, now := limiter(t, dir, Config{RateLimit: 3})
	ctx := context.Background()
	p := refstore.Principal{Account: "acme", KeyHash: "k1"}
	for range 3 {
		if err := s.Admit(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Admit(ctx, p)
	var th *refstore.ThrottledError
	if !errors.As(err, &th) || th.RetryAfter() != time.Minute || refstore.ErrorCode(err) != refstore.CodeRateLimited {
		t.Fatalf("4th request: %v; want throttled for 1m (to 11:00)", err)
	}
	if want := "Requests throttled. Maximum allowed 3 per 01:00:00."; th.Err.Message != want {
		t.Fatalf("message %q, want %q", th.Err.Message, want)
	}
	// Another key has its own count.
	if err := s.Admit(ctx, refstore.Principal{Account: "acme", KeyHash: "k2"}); err != nil {
		t.Fatal(err)
	}
	// The next window starts afresh.
	*now = now.Add(time.Minute)
	for range 2 {
		if err := s.Admit(ctx, p); err != nil {
			t.Fatalf("next window: %v", err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A restarted process reads the window's count at the key's first request.
	s2, now2 := limiter(t, dir, Config{RateLimit: 3})
	*now2 = *now
	if err := s2.Admit(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s2.Admit(ctx, p); err == nil {
		t.Fatal("after a restart: the window's earlier requests were forgotten")
	}
	// The sweeper prunes windows that ended.
	*now2 = now2.Add(3 * time.Hour)
	if err := s2.Prune(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFormatWindow(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "01:00:00", 90 * time.Second: "00:01:30", 24 * time.Hour: "1.00:00:00", 50 * time.Hour: "2.02:00:00",
	} {
		if got := formatWindow(d); got != want {
			t.Errorf("formatWindow(%s) = %q, want %q", d, got, want)
		}
	}
}

// The cap on uploads in progress is per key and frees its slots.
func TestUploadsPerKeyCap(t *testing.T) {
	s, _ := limiter(t, t.TempDir(), Config{MaxUploadsPerKey: 2})
	p := refstore.Principal{Account: "acme", KeyHash: "k1"}
	end1, err := s.BeginUpload(p)
	if err != nil {
		t.Fatal(err)
	}
	end2, err := s.BeginUpload(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginUpload(p); refstore.ErrorCode(err) != refstore.CodeRateLimited {
		t.Fatalf("third upload: %v", err)
	}
	if _, err := s.BeginUpload(refstore.Principal{Account: "acme", KeyHash: "k2"}); err != nil {
		t.Fatalf("another key: %v", err)
	}
	end1()
	end3, err := s.BeginUpload(p)
	if err != nil {
		t.Fatalf("after one ended: %v", err)
	}
	end2()
	end3()
	if len(s.uploads) != 1 { // k2's
		t.Fatalf("slots left: %v", s.uploads)
	}
}

// Windows only move forward. A request reads the clock before it takes the lock, so one
// that read it just before a window boundary can take the lock after one that read it just
// after: it must count in the newer window, not bring the older one back (which dropped
// the counts pending in the newer one, and let the key through again).
func TestRateLimitWindowOnlyMovesForward(t *testing.T) {
	s, now := limiter(t, t.TempDir(), Config{RateLimit: 3})
	ctx := context.Background()
	p := refstore.Principal{Account: "acme", KeyHash: "k1"}
	boundary := now.Truncate(time.Hour).Add(time.Hour) // 11:00
	*now = boundary.Add(time.Second)
	for range 2 {
		if err := s.Admit(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	*now = boundary.Add(-time.Millisecond) // read before the boundary, locked after
	if err := s.Admit(ctx, p); err != nil {
		t.Fatalf("the late request: %v", err)
	}
	*now = boundary.Add(2 * time.Second)
	if err := s.Admit(ctx, p); refstore.ErrorCode(err) != refstore.CodeRateLimited {
		t.Fatalf("4th request of the window: %v; want it throttled (3 counted since %s)", err, boundary.Format("15:04"))
	}
}
