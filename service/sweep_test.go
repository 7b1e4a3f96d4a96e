package service

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/metacache"
	"github.com/refstore/refstore/sqlstore"
)

// testService is a service on the embedded default's stores in a fresh directory, wired as
// serve wires it (with the cache of an exclusive store), with a clock the test moves.
func testService(t *testing.T, cfg Config) (*Service, *time.Time) {
	t.Helper()
	s, now, _ := testServiceOn(t, openSweepStores(t), cfg)
	return s, now
}

// testServiceOn is testService on given stores.
func testServiceOn(t *testing.T, st sweepStores, cfg Config) (*Service, *time.Time, sweepStores) {
	t.Helper()
	cfg.ExclusiveMetadata = true
	s := New(metacache.New(st.meta, metacache.Options{Exclusive: true}), st.blobs, cfg, slog.New(slog.DiscardHandler))
	now := time.Date(2026, 3, 1, 10, 59, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	return s, &now, st
}

// sweepStores are the embedded default's stores in a fresh directory.
type sweepStores struct {
	meta  *sqlstore.Store
	blobs *filestore.Store
}

func openSweepStores(t *testing.T) sweepStores {
	t.Helper()
	dir := t.TempDir()
	meta, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	blobs, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	return sweepStores{meta, blobs}
}

// service starts a service on the stores, as a process starting cleanly does (no
// recovery), with a clock the test moves.
func (st sweepStores) service(t *testing.T, meta refstore.MetaStore, now *time.Time) *Service {
	meta = metacache.New(meta, metacache.Options{Exclusive: true})
	s := New(meta, st.blobs, Config{ExclusiveMetadata: true, FileTokenTTL: time.Minute}, slog.New(slog.DiscardHandler))
	s.now = func() time.Time { return *now }
	return s
}

// uploadFiles loads a catalog and uploads n distinct files whose tokens expire a minute
// later.
func uploadFiles(t *testing.T, s *Service, n int) {
	t.Helper()
	c := &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme", Users: []refstore.CatalogUser{{ID: 1}}}}}
	if err := s.UpsertCatalog(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	p := refstore.Principal{Account: "acme", UserID: 1, KeyHash: "k"}
	for i := range n {
		if _, _, err := s.Upload(t.Context(), p, fmt.Sprintf("f%d.bin", i), bytes.NewReader(fmt.Appendf(nil, "content %d", i)), 0); err != nil {
			t.Fatal(err)
		}
	}
}

// left counts the blob records and the blob files that remain.
func (st sweepStores) left(t *testing.T) (records, files int) {
	t.Helper()
	if err := st.meta.BlobRecords(t.Context(), func(refstore.BlobRecord) error { records++; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.blobs.List(t.Context(), func(refstore.BlobInfo) error { files++; return nil }); err != nil {
		t.Fatal(err)
	}
	return records, files
}

// A sweep that removed expired file tokens and was cut off before it collected their
// bytes (the process was killed, or stopped) leaves blob records nothing references. The
// next process's periodic sweeps must collect them: before, only a full scan found them
// (recovery after an unclean stop, the hourly orphan sweep), so after a clean restart they
// stayed for up to an hour.
func TestSweepCollectsWhatACutSweepLeft(t *testing.T) {
	st := openSweepStores(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := st.service(t, st.meta, &now)
	uploadFiles(t, s, 8)
	now = now.Add(2 * time.Minute)
	// The first half of a sweep; then the process is gone.
	if _, err := st.meta.DeleteExpiredUploads(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	// A clean start (no recovery) and a periodic sweep.
	s = st.service(t, st.meta, &now)
	if _, err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if records, files := st.left(t); records != 0 || files != 0 {
		t.Fatalf("after the next sweep: %d blob records and %d blob files remain of 8 expired uploads", records, files)
	}
}

// cutAfterExpiry is a metadata store whose expired-upload removal is followed by the end of
// the sweeper's context, as a SIGTERM's shutdown does.
type cutAfterExpiry struct {
	refstore.MetaStore
	cancel context.CancelFunc
}

func (c cutAfterExpiry) DeleteExpiredUploads(ctx context.Context, now time.Time) ([]refstore.ContentID, error) {
	ids, err := c.MetaStore.DeleteExpiredUploads(ctx, now)
	c.cancel()
	return ids, err
}

// A shutdown that ends the sweepers in the middle of a sweep lets that sweep finish: the
// bytes of the file tokens it removed are collected before the process goes.
func TestSweeperFinishesTheSweepUnderWay(t *testing.T) {
	st := openSweepStores(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	uploadFiles(t, st.service(t, st.meta, &now), 8)
	now = now.Add(2 * time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	s := st.service(t, cutAfterExpiry{st.meta, cancel}, &now)
	done := make(chan struct{})
	go func() { s.RunSweepers(ctx, time.Millisecond, time.Hour); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the sweepers did not stop")
	}
	if records, files := st.left(t); records != 0 || files != 0 {
		t.Fatalf("after a shutdown during a sweep: %d blob records and %d blob files remain of 8 expired uploads", records, files)
	}
}
