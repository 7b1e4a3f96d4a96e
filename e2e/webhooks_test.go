package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/webhook"
	"github.com/refstore/refstore/wire"
)

// receiver is a webhook endpoint in the test process: it verifies every delivery's
// signature and records it, and answers as its mode says.
type receiver struct {
	t      testing.TB
	url    string
	secret string // set once the endpoint is created

	mu       sync.Mutex
	mode     string // "ok", "fail" (500), "hang" (never answers), "once-slow" …
	got      []delivered
	attempts map[string]int // by webhook-id
	arrived  chan struct{}
}

type delivered struct {
	id    string
	event refstore.Event
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, mode: "ok", attempts: map[string]int{}, arrived: make(chan struct{}, 1000)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r.url = "http://" + ln.Addr().String() + "/hook?token=receiver-secret"
	return r
}

func (r *receiver) setMode(m string) {
	r.mu.Lock()
	r.mode = m
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("Webhook-Id")
	r.mu.Lock()
	r.attempts[id]++
	mode, secret := r.mode, r.secret
	r.mu.Unlock()
	switch mode {
	case "fail":
		w.WriteHeader(http.StatusInternalServerError)
		return
	case "hang":
		<-req.Context().Done()
		return
	}
	if err := webhook.Verify(secret, id, req.Header.Get("Webhook-Timestamp"), req.Header.Get("Webhook-Signature"),
		body, time.Now(), 5*time.Minute); err != nil {
		r.t.Errorf("delivery %s: %v", id, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev refstore.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id {
		r.t.Errorf("delivery %s: body %s (%v)", id, body, err)
	}
	r.mu.Lock()
	r.got = append(r.got, delivered{id: id, event: ev})
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	r.arrived <- struct{}{}
}

// waitFor waits until n deliveries were accepted, and returns them.
func (r *receiver) waitFor(n int, within time.Duration) []delivered {
	r.t.Helper()
	deadline := time.After(within)
	for {
		r.mu.Lock()
		got := append([]delivered(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.arrived:
		case <-deadline:
			r.t.Fatalf("%d of %d deliveries arrived within %v: %+v", len(got), n, within, got)
		}
	}
}

// createWebhook registers the receiver as an endpoint of the account.
func createWebhook(t testing.TB, c *cluster, account string, r *receiver, events ...string) wire.Webhook {
	t.Helper()
	var w wire.Webhook
	admin(t, c, "POST", "/admin/v1/accounts/"+account+"/webhooks",
		wire.WebhookRequest{URL: r.url, Events: events, Description: "e2e"}).expect(t, 201).json(t, &w)
	if !strings.HasPrefix(w.Secret, "whsec_") || !strings.HasPrefix(w.ID, "we_") {
		t.Fatalf("created webhook %+v", w)
	}
	r.mu.Lock()
	r.secret = w.Secret
	r.mu.Unlock()
	return w
}

// webhookArgs let endpoints on loopback (the receiver) and retry fast.
var webhookArgs = []string{"--webhook-allow-networks", "127.0.0.0/8", "--webhook-first-retry", "200ms",
	"--webhook-timeout", "2s"}

// Every kind of event reaches its endpoint, signed, carrying what changed; on two nodes
// each event is delivered once.
func TestWebhooksEvents(t *testing.T) {
	forEachBackendWith(t, webhookArgs, func(t *testing.T, c *cluster) {
		rcv := newReceiver(t)
		tn := newTenant(t, c)
		createWebhook(t, c, tn.account, rcv)
		pm := tn.as("pm")
		scope := fmt.Sprintf("pr%d", projectID)
		first := pm.put(scope, segA1, "shot.png", "en", "public/images", pngBytes(64))
		pm.put(scope, segA1, "shot.png", "en", "public/images", randomBytes(100)) // replaced
		pm.put(scope, segA1, "other.txt", "", "", []byte("two"))                  // attached
		pm.do("DELETE", segPath(segA1, "scope", scope), nil).expect(t, 200).wantHeader(t, "X-Deleted-Count", "2")
		// 3 uploads, 2 attaches, 1 replacement, 2 deletions.
		got := rcv.waitFor(8, 30*time.Second)
		time.Sleep(500 * time.Millisecond) // a duplicate would come within a poll
		rcv.mu.Lock()
		for id, n := range rcv.attempts {
			if n != 1 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
		got = append([]delivered(nil), rcv.got...)
		rcv.mu.Unlock()
		count := map[refstore.EventType]int{}
		for _, d := range got {
			e := d.event
			count[e.Type]++
			if e.Data.Account != tn.account || e.Data.Actor.Type != "user" || e.Data.Actor.UserID != 1 {
				t.Errorf("%s: account/actor %+v", e.Type, e.Data)
			}
			switch e.Type {
			case refstore.EventUploadCompleted:
				if e.Data.SHA256 == "" || e.Data.Size == 0 || e.Data.SegmentID != 0 {
					t.Errorf("upload event %+v", e.Data)
				}
			default:
				if e.Data.Scope != scope || e.Data.ProjectID != projectID || e.Data.DocumentID != docA ||
					e.Data.SegmentID != segA1 || e.Data.AssetID == "" || e.Data.V == "" || e.Data.SHA256 == "" {
					t.Errorf("%s event %+v", e.Type, e.Data)
				}
			}
			if e.Type == refstore.EventAssetAttached && e.Data.Name == "shot.png" {
				if e.Data.AssetID != first.ID || e.Data.Folder != `public\images` || e.Data.Locale == nil ||
					*e.Data.Locale != "en" || e.Data.V != rbVersionOf(first) {
					t.Errorf("first attach event %+v, asset %+v", e.Data, first)
				}
			}
		}
		want := map[refstore.EventType]int{refstore.EventUploadCompleted: 3, refstore.EventAssetAttached: 2,
			refstore.EventAssetReplaced: 1, refstore.EventAssetDeleted: 2}
		for k, n := range want {
			if count[k] != n {
				t.Errorf("%d %s events, want %d (all: %v)", count[k], k, n, count)
			}
		}
		// The admin's list shows them delivered (each recorded just after its answer).
		var ds wire.Deliveries
		waitUntil(t, 10*time.Second, "8 deliveries recorded", func() bool {
			admin(t, c, "GET", "/admin/v1/accounts/"+tn.account+"/webhooks/deliveries?state=delivered", nil).
				expect(t, 200).json(t, &ds)
			return len(ds.Deliveries) == 8
		})
		if len(ds.Deliveries) != 8 || ds.Deliveries[0].DeliveredAt == nil || ds.Deliveries[0].LastStatus != 204 {
			t.Fatalf("delivered list: %d, first %+v", len(ds.Deliveries), ds.Deliveries[0])
		}
	})
}

// A receiver that fails, then hangs past the timeout, then recovers gets the same event,
// with the same webhook-id, until it accepts it; replay sends it once more.
func TestWebhooksRetryUntilTheReceiverRecovers(t *testing.T) {
	c := startCluster(t, backends[0], webhookArgs...)
	rcv := newReceiver(t)
	tn := newTenant(t, c)
	w := createWebhook(t, c, tn.account, rcv, "upload.completed")
	rcv.setMode("fail")
	tn.as("pm").upload("a.txt", []byte("retry me"))
	waitUntil(t, 20*time.Second, "three failed attempts", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		for _, n := range rcv.attempts {
			return n >= 3
		}
		return false
	})
	rcv.setMode("hang")
	waitUntil(t, 20*time.Second, "an attempt that times out", func() bool {
		var ds wire.Deliveries
		admin(t, c, "GET", "/admin/v1/accounts/"+tn.account+"/webhooks/deliveries", nil).expect(t, 200).json(t, &ds)
		return len(ds.Deliveries) == 1 && strings.Contains(ds.Deliveries[0].LastError, "did not answer in time")
	})
	rcv.setMode("ok")
	got := rcv.waitFor(1, 60*time.Second)
	var ds wire.Deliveries
	// The node records the attempt just after the receiver answered.
	waitUntil(t, 10*time.Second, "the delivery recorded as delivered", func() bool {
		admin(t, c, "GET", "/admin/v1/accounts/"+tn.account+"/webhooks/deliveries?endpoint="+w.ID, nil).expect(t, 200).json(t, &ds)
		return ds.Deliveries[0].State == "delivered"
	})
	d := ds.Deliveries[0]
	if d.State != "delivered" || d.Attempts < 5 || d.Event.ID != got[0].id {
		t.Fatalf("delivery %+v, received %s", d, got[0].id)
	}
	rcv.mu.Lock()
	if len(rcv.attempts) != 1 {
		t.Errorf("attempts under %d webhook-ids: %v", len(rcv.attempts), rcv.attempts)
	}
	rcv.mu.Unlock()
	admin(t, c, "POST", "/admin/v1/accounts/"+tn.account+"/webhooks/deliveries/"+d.ID+"/replay", nil).expect(t, 202)
	again := rcv.waitFor(2, 30*time.Second)
	if again[1].id != d.Event.ID {
		t.Fatalf("replay sent %s, want %s", again[1].id, d.Event.ID)
	}
}

// A node killed with deliveries committed but not delivered (one in flight) delivers them
// after its restart: nothing written to the outbox is lost.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	c := startCluster(t, backends[0], webhookArgs...)
	rcv := newReceiver(t)
	tn := newTenant(t, c)
	createWebhook(t, c, tn.account, rcv, "asset.attached")
	rcv.setMode("hang")
	pm := tn.as("pm")
	a := pm.put(fmt.Sprintf("pr%d", projectID), segA2, "kill.png", "", "", []byte("killed before delivery"))
	waitUntil(t, 10*time.Second, "the delivery in flight", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		return len(rcv.attempts) == 1
	})
	c.nodes[0].kill()
	rcv.setMode("ok")
	c.nodes[0] = c.nodes[0].restart(t)
	// The killed node's lease on the delivery runs out (2 × timeout + 10 s), then it is sent.
	got := rcv.waitFor(1, 60*time.Second)
	if got[0].event.Data.AssetID != a.ID {
		t.Fatalf("delivered %+v, want the attach of %s", got[0].event.Data, a.ID)
	}
}

// Endpoints on internal networks are refused unless the operator allows the network;
// the other admin checks.
func TestWebhooksEndpointRules(t *testing.T) {
	c := sharedCluster(t, backends[0]) // no --webhook-allow-networks
	tn := newTenant(t, c)
	base := "/admin/v1/accounts/" + tn.account + "/webhooks"
	for _, u := range []string{"http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://169.254.169.254/latest/meta-data",
		"http://[::1]:9/", "http://10.1.2.3/", "http://[::ffff:192.168.0.1]/", "http://0.0.0.0:8080/"} {
		e := admin(t, c, "POST", base, wire.WebhookRequest{URL: u}).expectError(t, 400, "invalid_parameter")
		if !strings.Contains(e.Reason, "url") || !strings.Contains(e.Reason, "internal") {
			t.Errorf("%s: %s", u, e.Reason)
		}
	}
	for _, bad := range []wire.WebhookRequest{{URL: "ftp://93.184.215.14/"}, {URL: "https://u:p@93.184.215.14/"},
		{URL: "https://93.184.215.14/", Events: []string{"asset.created"}}, {}} {
		admin(t, c, "POST", base, bad).expectError(t, 400, "invalid_parameter")
	}
	admin(t, c, "POST", "/admin/v1/accounts/nosuchaccount/webhooks", wire.WebhookRequest{URL: "https://93.184.215.14/"}).
		expectError(t, 404, "not_found")
	var w wire.Webhook
	admin(t, c, "POST", base, wire.WebhookRequest{URL: "https://93.184.215.14/hook", Events: []string{"asset.deleted"}}).
		expect(t, 201).json(t, &w)
	var list wire.Webhooks
	admin(t, c, "GET", base, nil).expect(t, 200).json(t, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].Secret != "" || list.Webhooks[0].Events[0] != "asset.deleted" {
		t.Fatalf("list %+v", list)
	}
	admin(t, c, "DELETE", base+"/"+w.ID, nil).expect(t, 204)
	admin(t, c, "DELETE", base+"/"+w.ID, nil).expectError(t, 404, "not_found")
	admin(t, c, "GET", base+"/deliveries?state=lost", nil).expectError(t, 400, "invalid_parameter")
}

// waitUntil polls cond every 50 ms until it holds, failing the test after within.
func waitUntil(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
