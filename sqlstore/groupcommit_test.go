package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore"
)

// fillSegment gives a segment n assets in one transaction, so that every later write of
// the segment (which reads its assets to check the layout) runs statements long enough for
// a cancellation to land in the middle of one.
func fillSegment(t *testing.T, s *Store, account string, seg int64, n int, idBlock int64) {
	t.Helper()
	u := upload(t, s, account, 1, "filler")
	tx, err := s.write.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`INSERT INTO assets (account_id, id, segment_id, locale, folders, name, size, sha256,
		content_type, created, modified) VALUES ($1, $2, $3, '', 'fill', $4, $5, $6, 'image/png', 1, 1)`)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := stmt.Exec(account, 1_000_000+idBlock*10_000+int64(i), seg, fmt.Sprintf("f%05d.png", i), u.Size, u.SHA256); err != nil {
			t.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// One caller's cancellation must not touch the others' writes. 64 clients write at once,
// so that they share transactions: two thirds attach files to a segment, a third remove
// big segments (each with thousands of assets, deleted by one cascading statement) and
// cancel at random instants. SQLite rolls back the whole transaction when a long write
// statement is interrupted, which a cancelled context does (short statements finish before
// the interrupt is noticed). Every attach that was not cancelled succeeds, and every write
// that succeeded is there after the store is closed and opened again.
func TestGroupCommitIsolation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	loadCatalog(t, s)
	ref := segment(t, s, "acme", 1001)

	const n, rounds, assetsPerSegment = 64, 3, 1500
	// The big segments, one per cancelling client, in document 100 of project 10.
	var big []int64
	for i := range rounds * n {
		if i%3 == 0 {
			big = append(big, 500_000+int64(i))
		}
	}
	if err := s.UpsertCatalog(t.Context(), &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme",
		Projects: []refstore.CatalogProject{{ID: 10, Documents: []refstore.CatalogDocument{{ID: 100, Segments: big}}}}}}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for i, seg := range big {
		fillSegment(t, s, "acme", seg, assetsPerSegment, int64(i))
	}
	// How long one removal takes here, to spread the cancellations over it.
	probe := int64(499_999)
	if err := s.UpsertCatalog(t.Context(), &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme",
		Projects: []refstore.CatalogProject{{ID: 10, Documents: []refstore.CatalogDocument{{ID: 100, Segments: []int64{probe}}}}}}}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	fillSegment(t, s, "acme", probe, assetsPerSegment, int64(len(big)))
	start := time.Now()
	if _, err := s.RemoveEntry(t.Context(), refstore.Entry{Kind: refstore.EntrySegment, Account: "acme", ID: probe}, nil); err != nil {
		t.Fatal(err)
	}
	one := time.Since(start)

	rng := rand.New(rand.NewPCG(1, 2))
	type result struct {
		name      string // the attached name
		segment   int64  // the removed segment
		cancelled bool
		err       error
	}
	var results []result
	for round := range rounds {
		uploads := make([]*refstore.Upload, n)
		for i := range uploads {
			uploads[i] = upload(t, s, "acme", 1, fmt.Sprintf("r%d-%d", round, i))
		}
		out := make([]result, n)
		var ready, wg sync.WaitGroup
		ready.Add(n)
		gate := make(chan struct{})
		for i := range n {
			ctx, cancel := context.WithCancel(t.Context())
			r := &out[i]
			r.cancelled = i%3 == 0
			if r.cancelled {
				r.segment = 500_000 + int64(round*n+i)
			} else {
				r.name = fmt.Sprintf("r%d-%02d.png", round, i)
			}
			delay := time.Duration(rng.Int64N(4 * int64(one)))
			wg.Go(func() {
				defer cancel()
				ready.Done()
				<-gate
				if r.cancelled {
					time.AfterFunc(delay, cancel)
					_, r.err = s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntrySegment, Account: "acme", ID: r.segment}, nil)
					return
				}
				_, _, r.err = s.Attach(ctx, refstore.AttachParams{Account: "acme", UserID: 1,
					UploadHash: uploads[i].TokenHash, Segment: ref, Address: addr("", "", r.name), Now: t0,
					NewID: int64(round*1000 + i + 1)})
			})
		}
		ready.Wait()
		close(gate)
		wg.Wait()
		results = append(results, out...)
	}
	failed, cancelledOK := 0, 0
	for _, r := range results {
		switch {
		case !r.cancelled && r.err != nil:
			failed++
			t.Errorf("attach %s, not cancelled, failed: %v", r.name, r.err)
		case r.cancelled && r.err == nil:
			cancelledOK++
		}
	}
	t.Logf("removing a segment of %d assets took %v; %d writers, %d cancelled (%d of them completed anyway)",
		assetsPerSegment, one, len(results), len(big), cancelledOK)
	if failed > 0 {
		t.Fatalf("%d of %d attaches that nobody cancelled failed", failed, len(results)-len(big))
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSQLiteFile(t, path)
	there := map[string]bool{}
	for _, a := range listAssets(t, s, "acme", 1001) {
		there[a.Name] = true
	}
	for _, r := range results {
		switch {
		case r.err != nil:
		case !r.cancelled && !there[r.name]:
			t.Errorf("attach %s succeeded but is gone after reopening", r.name)
		case r.cancelled:
			if _, err := s.Segment(t.Context(), "acme", r.segment); refstore.ErrorCode(err) != refstore.CodeSegmentNotFound {
				t.Errorf("the removal of segment %d succeeded but the segment is still there after reopening: %v", r.segment, err)
			}
		}
	}
}

// A panic in one caller's work is that caller's error: the others' work commits, and the
// process lives on (the work runs on the group's goroutine, where nothing would recover
// it). Alone or in a group.
func TestGroupCommitPanic(t *testing.T) {
	s := openSQLiteFile(t, filepath.Join(t.TempDir(), "meta.db"))
	loadCatalog(t, s)
	insert := func(id int64) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name) VALUES ($1, '')`, fmt.Sprintf("p%d", id))
			return err
		}
	}
	boom := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name) VALUES ('boom', '')`); err != nil {
			return err
		}
		panic("boom")
	}
	if err := s.group.do(t.Context(), boom); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("a panicking caller alone got %v, want its panic as an error", err)
	}
	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			if i%8 == 3 {
				errs[i] = s.group.do(t.Context(), boom)
			} else {
				errs[i] = s.group.do(t.Context(), insert(int64(i)))
			}
		})
	}
	wg.Wait()
	ids, err := s.Accounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	there := map[string]bool{}
	for _, id := range ids {
		there[id] = true
	}
	if there["boom"] {
		t.Error("the work of a panicking caller was committed")
	}
	for i, err := range errs {
		switch {
		case i%8 == 3 && (err == nil || !strings.Contains(err.Error(), "panic")):
			t.Errorf("panicking caller %d got %v", i, err)
		case i%8 != 3 && err != nil:
			t.Errorf("caller %d next to a panicking one failed: %v", i, err)
		case i%8 != 3 && !there[fmt.Sprintf("p%d", i)]:
			t.Errorf("caller %d succeeded but its row is not there", i)
		}
	}
}
