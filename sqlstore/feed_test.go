package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/testenv"
)

// The change feed of a shared store: a change committed through one store is announced
// to a listener on another, with the stripe's epoch the store then holds; a change that
// rolls back is not announced and leaves the epoch alone.
func TestPostgreSQLChangeFeed(t *testing.T) {
	url := testenv.Postgres(t)
	a, b := openPostgresDB(t, url), openPostgresDB(t, url)
	if b.Feed() == nil {
		t.Fatal("a PostgreSQL store has no change feed")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	changes := make(chan refstore.Change, 16)
	go b.Changes(ctx, func(c refstore.Change) { changes <- c })
	next := func() refstore.Change {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("no change announced")
			return refstore.Change{}
		}
	}
	if c := next(); c.Kind != refstore.ChangeReset {
		t.Fatalf("the feed started with %+v, want a reset", c)
	}
	loadCatalog(t, a)
	if c := next(); c.Kind != refstore.ChangeCatalog || c.Stripe != refstore.CatalogStripe || c.Epoch != 1 {
		t.Fatalf("catalog upsert announced %+v", c)
	}
	u := upload(t, a, "acme", 1, "x")
	mustAttach(t, a, u, 1001, addr("", "", "a.png"))
	c := next()
	if c.Kind != refstore.ChangeSegment || c.Account != "acme" || c.Segment != 1001 || c.Stripe != refstore.SegmentStripe(1001) {
		t.Fatalf("attach announced %+v", c)
	}
	epochs, err := b.Epochs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if epochs[c.Stripe] != c.Epoch || epochs[refstore.CatalogStripe] != 1 {
		t.Fatalf("epochs %v after the announced epoch %d", epochs, c.Epoch)
	}
	// A failing attach (unknown file token) rolls back: nothing announced, epoch unchanged.
	if _, _, err := a.Attach(ctx, refstore.AttachParams{Account: "acme", UserID: 1, UploadHash: "nope",
		Segment: refstore.SegmentRef{ID: 1001, DocumentID: 100, ProjectID: 10}, Address: addr("", "", "b.png"), Now: t0, NewID: 77}); err == nil {
		t.Fatal("attach with an unknown token succeeded")
	}
	if _, err := a.DeleteAssets(ctx, "acme", 1001, nil, nil); err != nil {
		t.Fatal(err)
	}
	if c2 := next(); c2.Kind != refstore.ChangeSegment || c2.Epoch != c.Epoch+1 {
		t.Fatalf("after a rolled-back attach, delete-all announced %+v; want epoch %d", c2, c.Epoch+1)
	}
	if err := a.DeleteSession(ctx, "somehash", nil); err != nil {
		t.Fatal(err)
	}
	if c3 := next(); c3.Kind != refstore.ChangeSession || c3.Session != "somehash" || c3.Stripe != refstore.CatalogStripe {
		t.Fatalf("logout announced %+v", c3)
	}
}

// A SQLite store is never shared: it has no feed and announces nothing.
func TestSQLiteHasNoFeed(t *testing.T) {
	s := openSQLiteFile(t, t.TempDir()+"/meta.db")
	if s.Feed() != nil {
		t.Fatal("a SQLite store has a change feed")
	}
}
