package metacache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// setup is one way of running the cache: alone on the store, or as the nodes of a cluster
// that follow its change feed.
type setup struct {
	name  string
	nodes func(t *testing.T, f *fakeStore) []*Store
}

var setups = []setup{
	{"exclusive", func(t *testing.T, f *fakeStore) []*Store {
		return []*Store{New(f, Options{Exclusive: true})}
	}},
	{"two nodes", func(t *testing.T, f *fakeStore) []*Store {
		nodes := []*Store{New(f, Options{Feed: f}), New(f, Options{Feed: f})}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(func() { n.Run(ctx) })
		}
		t.Cleanup(func() { cancel(); wg.Wait() })
		for _, n := range nodes {
			caughtUp(t, f, n)
		}
		return nodes
	}},
}

// caughtUp waits until node has applied every change the store committed: then its views
// trust the whole cache.
func caughtUp(t *testing.T, f *fakeStore, node *Store) {
	t.Helper()
	if node.follower == nil {
		return
	}
	deadline := time.After(10 * time.Second)
	for {
		epochs, _ := f.Epochs(context.Background())
		mask, moved := node.follower.caughtUp(&epochs)
		if mask == allStripes {
			return
		}
		select {
		case <-moved:
		case <-deadline:
			t.Fatalf("the node did not catch up with the change feed: %b", mask)
		}
	}
}

// stallOnce makes the first read of what stall after it has read: the returned read
// channel is closed then, and the read goes on once resume is called.
func stallOnce(f *fakeStore, what string) (read <-chan struct{}, resume func()) {
	r, g := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.mu.Lock()
	f.stall = func(w string) {
		if w != what {
			return
		}
		stalled := false
		once.Do(func() { stalled = true })
		if stalled {
			close(r)
			<-g
		}
	}
	f.mu.Unlock()
	return r, func() {
		f.mu.Lock()
		f.stall = nil
		f.mu.Unlock()
		close(g)
	}
}

func wantCode(t *testing.T, err error, code refstore.Code, what string) {
	t.Helper()
	if got := refstore.ErrorCode(err); got != code {
		t.Fatalf("%s: %v (code %q), want %q", what, err, got, code)
	}
}

// The logout race of issue 10: a request that read a session before the session's end
// committed, and stores it in the cache after, must not bring it back. The same for every
// way a session ends: logout, revocation of its key, removal of its user; alone, and with
// the end made on one node while the load runs on the other.
func TestSessionEndWhileLoading(t *testing.T) {
	ends := []struct {
		name string
		end  func(ctx context.Context, s *Store, h string) error
	}{
		{"logout", func(ctx context.Context, s *Store, h string) error { return s.DeleteSession(ctx, h, nil) }},
		{"key revocation", func(ctx context.Context, s *Store, h string) error {
			return s.RevokeAPIKey(ctx, "acme", 1, "k1", nil)
		}},
		{"user removal", func(ctx context.Context, s *Store, h string) error {
			_, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryUser, Account: "acme", ID: 1}, nil)
			return err
		}},
	}
	for _, su := range setups {
		for _, e := range ends {
			t.Run(su.name+"/"+e.name, func(t *testing.T) {
				ctx := t.Context()
				f := newFakeStore()
				h := hash(1)
				f.sessions[h] = session(h, t0)
				nodes := su.nodes(t, f)
				writer, reader := nodes[0], nodes[len(nodes)-1]

				read, resume := stallOnce(f, "session "+h)
				loaded := make(chan error, 1)
				go func() {
					_, err := reader.View(ctx).Session(ctx, h)
					loaded <- err
				}()
				<-read // the load has read the live session; the end commits now
				if err := e.end(ctx, writer, h); err != nil {
					t.Fatal(err)
				}
				caughtUp(t, f, reader)
				resume()
				if err := <-loaded; err != nil {
					t.Fatalf("the load in flight: %v", err) // it read before the end: it may succeed
				}
				for i, n := range nodes {
					_, err := n.View(ctx).Session(ctx, h)
					wantCode(t, err, refstore.CodeUnauthorized, fmt.Sprintf("node %d after the %s", i, e.name))
				}
			})
		}
	}
}

// A request that starts after a change committed on another node reads what the change
// committed, even while the change's notification is still on its way: the view sees that
// the store's epoch is ahead of what the node applied, and reads the store.
func TestViewReadsTheStoreUntilCaughtUp(t *testing.T) {
	ctx := t.Context()
	f := newFakeStore()
	h := hash(1)
	f.sessions[h] = session(h, t0)
	nodes := setups[1].nodes(t, f)
	if _, err := nodes[1].View(ctx).Session(ctx, h); err != nil { // cached on node 1
		t.Fatal(err)
	}
	f.feed.setHold(true)
	if err := nodes[0].DeleteSession(ctx, h, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := nodes[1].View(ctx).Session(ctx, h)
	wantCode(t, err, refstore.CodeUnauthorized, "node 1 while the logout's notification is held")
	if waited := time.Since(start); waited < feedWait {
		t.Fatalf("the view waited %v for the notification, want at least %v", waited, feedWait)
	}
	f.feed.release()
	caughtUp(t, f, nodes[1])
	_, err = nodes[1].View(ctx).Session(ctx, h)
	wantCode(t, err, refstore.CodeUnauthorized, "node 1 once the notification arrived")
}

// A load of a segment's assets that read before an attach committed must not store what
// it read: the next request sees the attached asset.
func TestAssetsLoadRacingAWrite(t *testing.T) {
	for _, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			ctx := t.Context()
			f := newFakeStore()
			seg := int64(27665601)
			nodes := su.nodes(t, f)
			writer, reader := nodes[0], nodes[len(nodes)-1]
			read, resume := stallOnce(f, "assets")
			loaded := make(chan error, 1)
			go func() {
				_, err := reader.View(ctx).SegmentAssets(ctx, "acme", []int64{seg})
				loaded <- err
			}()
			<-read
			if _, _, err := writer.Attach(ctx, refstore.AttachParams{Account: "acme", Segment: refstore.SegmentRef{ID: seg},
				Address: refstore.Address{Name: "a.png"}, NewID: 7}); err != nil {
				t.Fatal(err)
			}
			caughtUp(t, f, reader)
			resume()
			if err := <-loaded; err != nil {
				t.Fatal(err)
			}
			for i, n := range nodes {
				v := n.View(ctx)
				list, err := v.SegmentAssets(ctx, "acme", []int64{seg})
				if err != nil || len(list) != 1 || list[0].ID != 7 {
					t.Fatalf("node %d: assets after the attach: %v, %v", i, list, err)
				}
				if a, err := v.Asset(ctx, "acme", seg, refstore.Address{Name: "a.png"}); err != nil || a.ID != 7 {
					t.Fatalf("node %d: the attached asset: %v, %v", i, a, err)
				}
			}
		})
	}
}

// Uses of a cached session are seen at once, and written to the store at most once per
// interval however many requests race; a use that finds the store without the session
// ends it in the cache too.
func TestSessionUsed(t *testing.T) {
	ctx := t.Context()
	f := newFakeStore()
	h := hash(1)
	f.sessions[h] = session(h, t0)
	s := New(f, Options{Exclusive: true})
	const interval = 30 * time.Second
	sess, err := s.View(ctx).Session(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			at := t0.Add(time.Minute + time.Duration(i)*time.Millisecond)
			if err := s.View(ctx).SessionUsed(ctx, sess, at, interval); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if f.touches != 1 {
		t.Fatalf("50 racing uses past the interval wrote %d times, want 1", f.touches)
	}
	got, _ := s.View(ctx).Session(ctx, h)
	if want := t0.Add(time.Minute + 49*time.Millisecond); !got.LastUsed.Equal(want) {
		t.Fatalf("the cached last use is %v, want the latest use %v", got.LastUsed, want)
	}
	// Within the interval: seen, not written.
	if err := s.View(ctx).SessionUsed(ctx, got, t0.Add(80*time.Second), interval); err != nil || f.touches != 1 {
		t.Fatalf("a use within the interval: %v, %d writes", err, f.touches)
	}
	// Gone behind the cache's back (another node's sweep, say): the next write finds out.
	f.mu.Lock()
	delete(f.sessions, h)
	f.mu.Unlock()
	got, _ = s.View(ctx).Session(ctx, h)
	wantCode(t, s.View(ctx).SessionUsed(ctx, got, t0.Add(3*time.Minute), interval), refstore.CodeUnauthorized,
		"a use of a session the store no longer has")
	_, err = s.View(ctx).Session(ctx, h)
	wantCode(t, err, refstore.CodeUnauthorized, "the session after")
}

// A sweep drops the cached sessions it removed from the store, and refuses the session
// loads in flight.
func TestSweepDropsSweptSessions(t *testing.T) {
	ctx := t.Context()
	f := newFakeStore()
	old, fresh := hash(1), hash(2)
	f.sessions[old] = session(old, t0)
	f.sessions[fresh] = session(fresh, t0.Add(time.Hour))
	s := New(f, Options{Exclusive: true})
	for _, h := range []string{old, fresh} {
		if _, err := s.View(ctx).Session(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	read, resume := stallOnce(f, "session "+hash(3))
	f.sessions[hash(3)] = session(hash(3), t0)
	done := make(chan struct{})
	go func() { s.View(ctx).Session(ctx, hash(3)); close(done) }()
	<-read
	if _, err := s.DeleteSessionsIdleSince(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	resume()
	<-done
	for h, want := range map[string]refstore.Code{old: refstore.CodeUnauthorized, hash(3): refstore.CodeUnauthorized, fresh: ""} {
		_, err := s.View(ctx).Session(ctx, h)
		wantCode(t, err, want, "after the sweep: session "+h[60:])
	}
}

// When changes may have been missed (the feed's connection was lost), everything cached
// goes, and nothing is trusted until the epochs are known again.
func TestFeedResetDropsEverything(t *testing.T) {
	ctx := t.Context()
	f := newFakeStore()
	h := hash(1)
	f.sessions[h] = session(h, t0)
	node := New(f, Options{Feed: f})
	node.apply(ctx, refstore.Change{Kind: refstore.ChangeReset})
	if _, err := node.View(ctx).Session(ctx, h); err != nil {
		t.Fatal(err)
	}
	// A change whose notification is lost: the session ends without the node hearing.
	f.mu.Lock()
	delete(f.sessions, h)
	f.mu.Unlock()
	node.follower.set(func(a *[refstore.ChangeStripes]int64) { a[0] = -1 })
	_, err := node.View(ctx).Session(ctx, h)
	wantCode(t, err, refstore.CodeUnauthorized, "while the catalog stripe is unknown")
	node.apply(ctx, refstore.Change{Kind: refstore.ChangeReset})
	_, err = node.View(ctx).Session(ctx, h)
	wantCode(t, err, refstore.CodeUnauthorized, "after the reset")
}

// Writes and reads of many requests at once, on every node (run with -race): once the
// writes stop and the nodes have caught up, every node's views show what the store holds.
func TestChurn(t *testing.T) {
	for _, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			ctx := t.Context()
			f := newFakeStore()
			nodes := su.nodes(t, f)
			segs := []int64{1, 2, 3, 65, 66}
			var wg sync.WaitGroup
			stop := time.Now().Add(500 * time.Millisecond)
			for w := range 8 {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for i := 0; time.Now().Before(stop); i++ {
						n := nodes[rng.IntN(len(nodes))]
						seg := segs[rng.IntN(len(segs))]
						addr := refstore.Address{Name: fmt.Sprintf("f%d.png", rng.IntN(4))}
						switch rng.IntN(4) {
						case 0:
							n.Attach(ctx, refstore.AttachParams{Account: "acme", Segment: refstore.SegmentRef{ID: seg},
								Address: addr, NewID: int64(w*1_000_000 + i)})
						case 1:
							n.DeleteAssets(ctx, "acme", seg, &addr, nil)
						default:
							v := n.View(ctx)
							if _, err := v.SegmentAssets(ctx, "acme", segs); err != nil {
								t.Error(err)
							}
							v.Asset(ctx, "acme", seg, addr)
						}
					}
				})
			}
			wg.Wait()
			for _, n := range nodes {
				caughtUp(t, f, n)
			}
			want, _ := f.SegmentAssets(ctx, "acme", segs)
			for i, n := range nodes {
				got, err := n.View(ctx).SegmentAssets(ctx, "acme", segs)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.EqualFunc(got, want, func(a, b refstore.Asset) bool { return a.ID == b.ID && a.Address.Equal(b.Address) }) {
					t.Fatalf("node %d shows %d assets, the store %d", i, len(got), len(want))
				}
			}
		})
	}
}

// A catalog change made on another node reaches this node's listeners (the rate limiter's
// accounts' limits) through the change feed, as this node's own changes do at once.
func TestCatalogChangeFromTheFeed(t *testing.T) {
	ctx := t.Context()
	f := newFakeStore()
	nodes := setups[1].nodes(t, f)
	heard := make(chan int, 16)
	for i, n := range nodes {
		n.OnCatalogChange(func() { heard <- i })
	}
	if err := nodes[0].UpsertCatalog(ctx, &refstore.Catalog{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	timeout := time.After(10 * time.Second)
	for !got[0] || !got[1] {
		select {
		case i := <-heard:
			got[i] = true
		case <-timeout:
			t.Fatalf("after a catalog change on node 0, listeners heard: %v", got)
		}
	}
}
