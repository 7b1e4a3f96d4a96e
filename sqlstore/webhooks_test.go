package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/testenv"
)

func TestWebhooksSQLite(t *testing.T) {
	testWebhooks(t, func(t *testing.T) *Store { return openSQLiteFile(t, filepath.Join(t.TempDir(), "meta.db")) })
}

func TestWebhooksPostgreSQL(t *testing.T) {
	testWebhooks(t, func(t *testing.T) *Store { return openPostgresDB(t, testenv.Postgres(t)) })
}

func webhookEvent(id string, typ refstore.EventType, account string, at time.Time) refstore.Event {
	return refstore.Event{ID: id, Type: typ, Time: at, Data: refstore.EventData{Account: account, SegmentID: 1001,
		Name: "shot.png", Size: 3, SHA256: "ab", Actor: refstore.EventActor{Type: refstore.ActorUser, UserID: 1}}}
}

// enqueue writes events as a mutation would, in a transaction of its own.
func enqueue(t *testing.T, s *Store, events ...refstore.Event) int {
	t.Helper()
	var n int
	if err := s.inTx(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		var err error
		n, err = enqueueEvents(t.Context(), tx, events)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func testWebhooks(t *testing.T, open func(t *testing.T) *Store) {
	ctx := t.Context()
	s := open(t)
	loadCatalog(t, s)
	now := time.Now().Truncate(time.Millisecond)

	wantCode(t, s.CreateWebhook(ctx, refstore.WebhookEndpoint{ID: "we_x", Account: "nope", URL: "https://x/", Secret: "s", Created: now}),
		refstore.CodeNotFound)
	all := refstore.WebhookEndpoint{ID: "we_all", Account: "acme", URL: "https://a.example/hook", Secret: "whsec_a", Created: now}
	deletes := refstore.WebhookEndpoint{ID: "we_del", Account: "acme", URL: "https://b.example/hook", Secret: "whsec_b",
		Events: []refstore.EventType{refstore.EventAssetDeleted}, Description: "audit", Created: now.Add(time.Millisecond)}
	for _, e := range []refstore.WebhookEndpoint{all, deletes} {
		if err := s.CreateWebhook(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.Webhooks(ctx, "acme")
	if err != nil || len(list) != 2 || list[0].ID != "we_all" || list[1].Events[0] != refstore.EventAssetDeleted ||
		list[0].Secret != "" || list[1].Description != "audit" {
		t.Fatalf("Webhooks: %+v, %v", list, err)
	}
	if other, _ := s.Webhooks(ctx, "other"); len(other) != 0 {
		t.Fatalf("another account sees %+v", other)
	}

	// An attach reaches the endpoint that wants everything; a delete reaches both; another
	// account's event reaches none of acme's endpoints.
	if n := enqueue(t, s, webhookEvent("msg_1", refstore.EventAssetAttached, "acme", now),
		webhookEvent("msg_2", refstore.EventAssetDeleted, "acme", now),
		webhookEvent("msg_3", refstore.EventAssetDeleted, "other", now)); n != 3 {
		t.Fatalf("enqueued %d deliveries, want 3", n)
	}
	pending, oldest, err := s.WebhookBacklog(ctx, now.Add(time.Second))
	if err != nil || pending != 3 || oldest != time.Second {
		t.Fatalf("backlog %d %v %v", pending, oldest, err)
	}

	claimed, err := s.ClaimDeliveries(ctx, now, 2, time.Minute)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v", len(claimed), err)
	}
	for _, c := range claimed {
		if c.URL == "" || c.Secret == "" || c.Lease == "" || c.Event.Data.Account != "acme" {
			t.Fatalf("claim %+v", c)
		}
	}
	rest, err := s.ClaimDeliveries(ctx, now, 10, time.Minute)
	if err != nil || len(rest) != 1 {
		t.Fatalf("second claim got %d, %v (leased rows must not be handed out twice)", len(rest), err)
	}
	if again, _ := s.ClaimDeliveries(ctx, now.Add(30*time.Second), 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed %d rows under a live lease", len(again))
	}

	// A completion under a stale lease changes nothing.
	stale := claimed[0]
	stale.Lease = "l_other"
	if err := s.CompleteDelivery(ctx, stale, refstore.DeliveryResult{State: refstore.DeliveryDelivered, At: now, Status: 200}); err != nil {
		t.Fatal(err)
	}
	// One delivered, one to retry in a minute.
	if err := s.CompleteDelivery(ctx, claimed[0], refstore.DeliveryResult{State: refstore.DeliveryDelivered, At: now, Status: 204}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteDelivery(ctx, claimed[1], refstore.DeliveryResult{State: refstore.DeliveryPending, At: now,
		Status: 500, Err: "the endpoint answered 500", Next: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.ClaimDeliveries(ctx, now.Add(59*time.Second), 10, time.Minute); len(due) != 0 {
		t.Fatalf("a retry was claimed before it was due")
	}
	// The third claim's lease runs out (its node died): it is handed out again.
	due, err := s.ClaimDeliveries(ctx, now.Add(61*time.Second), 10, time.Minute)
	if err != nil || len(due) != 2 {
		t.Fatalf("after the retry time and the lease: claimed %d, %v", len(due), err)
	}
	for _, d := range due {
		if d.ID == claimed[1].ID && (d.Attempts != 1 || d.LastStatus != 500 || d.LastError == "") {
			t.Fatalf("retried delivery %+v", d.Delivery)
		}
		if err := s.CompleteDelivery(ctx, d, refstore.DeliveryResult{State: refstore.DeliveryFailed, At: now, Status: 410}); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.Deliveries(ctx, refstore.DeliveryFilter{Account: "acme"})
	if err != nil || len(got) != 3 {
		t.Fatalf("Deliveries: %d, %v", len(got), err)
	}
	failed, _ := s.Deliveries(ctx, refstore.DeliveryFilter{Account: "acme", State: refstore.DeliveryFailed})
	delivered, _ := s.Deliveries(ctx, refstore.DeliveryFilter{Account: "acme", State: refstore.DeliveryDelivered})
	onlyDel, _ := s.Deliveries(ctx, refstore.DeliveryFilter{Account: "acme", EndpointID: "we_del"})
	if len(failed) != 2 || len(delivered) != 1 || len(onlyDel) != 1 || onlyDel[0].Event.Type != refstore.EventAssetDeleted {
		t.Fatalf("filters: failed %d delivered %d we_del %+v", len(failed), len(delivered), onlyDel)
	}
	if delivered[0].DeliveredAt.IsZero() || delivered[0].LastStatus != 204 {
		t.Fatalf("delivered %+v", delivered[0])
	}

	// Replay makes a failed delivery pending again, with its event id.
	wantCode(t, s.ReplayDelivery(ctx, "other", failed[0].ID, now), refstore.CodeNotFound)
	if err := s.ReplayDelivery(ctx, "acme", failed[0].ID, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	replayed, err := s.ClaimDeliveries(ctx, now.Add(2*time.Minute), 10, time.Minute)
	if err != nil || len(replayed) != 1 || replayed[0].Event.ID != failed[0].Event.ID {
		t.Fatalf("replay: %+v, %v", replayed, err)
	}

	// Pruning keeps what is pending; deleting an endpoint takes its deliveries along.
	if n, err := s.PruneDeliveries(ctx, now.Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if err := s.DeleteWebhook(ctx, "acme", "we_del"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteWebhook(ctx, "acme", "we_del"), refstore.CodeNotFound)
	left, _ := s.Deliveries(ctx, refstore.DeliveryFilter{Account: "acme"})
	for _, d := range left {
		if d.EndpointID == "we_del" || d.State != refstore.DeliveryPending {
			t.Fatalf("left after pruning and deleting we_del: %+v", d)
		}
	}
}

// Two nodes on one PostgreSQL database claim at once: every delivery goes to one of
// them.
func TestWebhookClaimsTwoNodes(t *testing.T) {
	url := testenv.Postgres(t)
	a, b := openPostgresDB(t, url), openPostgresDB(t, url)
	loadCatalog(t, a)
	ctx := t.Context()
	if err := a.CreateWebhook(ctx, refstore.WebhookEndpoint{ID: "we_1", Account: "acme", URL: "https://x/", Secret: "s",
		Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var events []refstore.Event
	for i := range n {
		events = append(events, webhookEvent(fmt.Sprintf("msg_%d", i), refstore.EventAssetAttached, "acme", time.Now()))
	}
	enqueue(t, a, events...)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for {
				got, err := s.ClaimDeliveries(ctx, time.Now(), 7, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.Event.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d of %d deliveries claimed", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s claimed %d times", id, c)
		}
	}
}

func TestWebhookEventsSQLite(t *testing.T) {
	testWebhookEvents(t, func(t *testing.T) *Store { return openSQLiteFile(t, filepath.Join(t.TempDir(), "meta.db")) })
}

func TestWebhookEventsPostgreSQL(t *testing.T) {
	testWebhookEvents(t, func(t *testing.T) *Store { return openPostgresDB(t, testenv.Postgres(t)) })
}

// The mutations write their events in their own transaction: an attach, an overwrite, a
// delete-all of two assets and an upload make one delivery each per endpoint (the delete-all
// one per asset); a refused attach writes none, and mutations without an audit event
// (sweeper, recovery, import) write none.
func testWebhookEvents(t *testing.T, open func(t *testing.T) *Store) {
	ctx := t.Context()
	s := open(t)
	loadCatalog(t, s)
	var notified atomic.Int64
	s.OnEvents(func() { notified.Add(1) })
	if err := s.CreateWebhook(ctx, refstore.WebhookEndpoint{ID: "we_1", Account: "acme", URL: "https://x/", Secret: "s",
		Created: t0}); err != nil {
		t.Fatal(err)
	}
	by := func() *refstore.AuditEvent {
		return &refstore.AuditEvent{Account: "acme", Actor: refstore.ActorUser, UserID: 1, Action: refstore.AuditAttach,
			Scope: "pr10"}
	}
	seg := segment(t, s, "acme", 1001)
	u1 := upload(t, s, "acme", 1, "one") // no audit event: no delivery
	uploadWithAudit := &refstore.Upload{TokenHash: hex32(), Account: "acme", UserID: 1, Folders: []string{"docs"},
		Name: "two.png", Size: 3, SHA256: sha("two"), ContentType: "image/png", Created: t0,
		Expires: t0.Add(24 * time.Hour), BlobKey: hex32()}
	if _, err := s.CreateUpload(ctx, uploadWithAudit, &refstore.AuditEvent{Account: "acme", Actor: refstore.ActorUser,
		UserID: 1, Action: refstore.AuditUpload}); err != nil {
		t.Fatal(err)
	}
	attach := func(u *refstore.Upload, a refstore.Address) (*refstore.Asset, error) {
		asset, _, err := s.Attach(ctx, refstore.AttachParams{Account: "acme", UserID: 1, UploadHash: u.TokenHash,
			Segment: seg, Address: a, Now: t0, NewID: 1000 + nextAssetID.Add(1), Audit: by()})
		return asset, err
	}
	a1, err := attach(u1, addr("en", "", "a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attach(uploadWithAudit, addr("en", "", "a.png")); err != nil { // overwrite
		t.Fatal(err)
	}
	if _, err := attach(u1, addr("de", "", "b.png")); err != nil {
		t.Fatal(err)
	}
	if _, err := attach(u1, addr("de", "b.png", "c.png")); refstore.ErrorCode(err) != refstore.CodeConflict {
		t.Fatalf("clashing attach: %v", err)
	}
	if _, err := s.DeleteAssets(ctx, "acme", 1001, nil, &refstore.AuditEvent{Account: "acme",
		Actor: refstore.ActorUser, UserID: 1, Action: refstore.AuditDeleteAll, Scope: "pr10"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Deliveries(ctx, refstore.DeliveryFilter{Account: "acme", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i := len(got) - 1; i >= 0; i-- { // oldest first
		types = append(types, string(got[i].Event.Type))
	}
	slices.Sort(types)
	want := []string{"asset.attached", "asset.attached", "asset.deleted", "asset.deleted", "asset.replaced", "upload.completed"}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if notified.Load() != 5 {
		t.Fatalf("notified %d times, want 5 (upload, 3 attaches, the delete)", notified.Load())
	}
	ids := map[string]bool{}
	for _, d := range got {
		ids[d.Event.ID] = true
		e := d.Event
		if e.Data.Account != "acme" || e.Data.Actor != (refstore.EventActor{Type: refstore.ActorUser, UserID: 1}) {
			t.Fatalf("event %+v", e)
		}
		switch e.Type {
		case refstore.EventUploadCompleted:
			if e.Data.Name != "two.png" || e.Data.Folder != "docs" || e.Data.SHA256 != sha("two") || e.Data.SegmentID != 0 {
				t.Fatalf("upload event %+v", e.Data)
			}
		case refstore.EventAssetAttached, refstore.EventAssetReplaced, refstore.EventAssetDeleted:
			if e.Data.Scope != "pr10" || e.Data.SegmentID != 1001 || e.Data.DocumentID != seg.DocumentID ||
				e.Data.ProjectID != seg.ProjectID || e.Data.Locale == nil || e.Data.V == "" || e.Data.AssetID == "" {
				t.Fatalf("%s event %+v", e.Type, e.Data)
			}
		}
		if e.Type == refstore.EventAssetAttached && e.Data.Name == "a.png" && e.Data.AssetID != refstore.AssetIDString(a1.ID) {
			t.Fatalf("attach event names %s, want %s", e.Data.AssetID, refstore.AssetIDString(a1.ID))
		}
	}
	if len(ids) != len(got) {
		t.Fatal("two deliveries share an event id")
	}
}
