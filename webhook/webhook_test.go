package webhook

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore"
)

// The test vector of the Standard Webhooks specification: a receiver built on any of its
// libraries accepts what Sign produces.
func TestSignStandardWebhooksVector(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	got, err := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), body)
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	now := time.Unix(1614265330+10, 0)
	if err := Verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,bogus "+got, body, now, 5*time.Minute); err != nil {
		t.Fatalf("Verify with two signatures: %v", err)
	}
	if err := Verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", got, []byte(`{"test": 1}`), now, 5*time.Minute); err == nil {
		t.Fatal("Verify accepted another body")
	}
	if err := Verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", got, body, now.Add(time.Hour), 5*time.Minute); err == nil {
		t.Fatal("Verify accepted a stale timestamp")
	}
}

func TestNewSecretSigns(t *testing.T) {
	s := NewSecret()
	if !strings.HasPrefix(s, "whsec_") || s == NewSecret() {
		t.Fatalf("secret %q", s)
	}
	if _, err := Sign(s, "msg_1", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!!", "sk_abc", "whsec_" + strings.Repeat("A", 8)} {
		if _, err := Sign(bad, "msg_1", time.Now(), nil); err == nil {
			t.Errorf("Sign accepted secret %q", bad)
		}
	}
}

func TestGuardPermitted(t *testing.T) {
	var g Guard
	for _, s := range []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"0.0.0.0", "100.64.0.1", "::", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
		"2002:a00:1::", "224.0.0.1", "255.255.255.255", "198.18.0.1", "fec0::1"} {
		if err := g.Permitted(netip.MustParseAddr(s)); err == nil {
			t.Errorf("%s permitted", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::"} {
		if err := g.Permitted(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
	g.Allow, _ = ParseNetworks("10.0.0.0/8, 127.0.0.1")
	if g.Permitted(netip.MustParseAddr("10.9.9.9")) != nil || g.Permitted(netip.MustParseAddr("127.0.0.1")) != nil {
		t.Error("allowed networks refused")
	}
	if g.Permitted(netip.MustParseAddr("127.0.0.2")) == nil {
		t.Error("127.0.0.2 permitted by an allowance of 127.0.0.1")
	}
	if _, err := ParseNetworks("10.0.0.0/33"); err == nil {
		t.Error("ParseNetworks accepted /33")
	}
}

// A real connection to loopback is refused at dial time, also when the URL names a host
// that resolves there (localhost), which CheckURL refuses up front.
func TestGuardRefusesLoopbackConnections(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	client := NewClient(Guard{}, 5*time.Second)
	for _, target := range []string{srv.URL, "http://localhost:" + port, "http://[::ffff:127.0.0.1]:" + port} {
		resp, err := client.Get(target)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s reached the server", target)
		} else if !strings.Contains(err.Error(), "internal address") {
			t.Errorf("GET %s: %v, want the guard's refusal", target, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the server saw %d requests", hits.Load())
	}
	lu, _ := url.Parse("http://localhost:" + port)
	if err := (Guard{}).CheckURL(context.Background(), lu, nil); err == nil || !strings.Contains(err.Error(), "internal address") {
		t.Fatalf("CheckURL(localhost): %v", err)
	}
	allowed := Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	if err := allowed.CheckURL(context.Background(), lu, nil); err != nil {
		t.Fatalf("CheckURL with loopback allowed: %v", err)
	}
	resp, err := NewClient(allowed, 5*time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed GET: %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("hits %d after an allowed GET", hits.Load())
	}
}

// memOutbox is an in-memory outbox with the claim and lease rules of the real store, for
// the deliverer's own logic; the SQL outbox is tested in sqlstore and end to end.
type memOutbox struct {
	mu     sync.Mutex
	rows   map[string]*row
	claims int
}

type row struct {
	d          refstore.ClaimedDelivery
	leaseUntil time.Time
	attempts   []refstore.DeliveryResult
}

func (m *memOutbox) ClaimDeliveries(_ context.Context, now time.Time, limit int, lease time.Duration) ([]refstore.ClaimedDelivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []refstore.ClaimedDelivery
	for _, r := range m.rows {
		if len(out) == limit {
			break
		}
		if r.d.State != refstore.DeliveryPending || r.d.NextAttempt.After(now) || r.leaseUntil.After(now) {
			continue
		}
		m.claims++
		r.leaseUntil = now.Add(lease)
		r.d.Lease = time.Now().String()
		out = append(out, r.d)
	}
	return out, nil
}

func (m *memOutbox) CompleteDelivery(_ context.Context, d refstore.ClaimedDelivery, res refstore.DeliveryResult) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rows[d.ID]
	if r.d.Lease != d.Lease {
		return nil
	}
	r.attempts = append(r.attempts, res)
	r.d.Attempts++
	r.d.State, r.d.NextAttempt, r.d.LastStatus, r.d.LastError = res.State, res.Next, res.Status, res.Err
	r.leaseUntil = time.Time{}
	return nil
}

func (m *memOutbox) get(id string) row {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.rows[id]
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testEvent(id string, at time.Time) refstore.Event {
	loc := "en"
	return refstore.Event{ID: id, Type: refstore.EventAssetAttached, Time: at, Data: refstore.EventData{
		Account: "acme", Scope: "pr7214", ProjectID: 7214, DocumentID: 19641, SegmentID: 27665601,
		AssetID: "re_1", Locale: &loc, Name: "shot.png", Size: 3, SHA256: "ab", V: "638892287138999983",
		Actor: refstore.EventActor{Type: refstore.ActorUser, UserID: 1}}}
}

// A receiver that fails, then times out, then recovers: the delivery is retried with a
// growing wait and arrives once it answers 2xx, signed, with the same webhook-id on every
// attempt.
func TestDelivererRetriesUntilTheReceiverRecovers(t *testing.T) {
	secret := NewSecret()
	var mu sync.Mutex
	var ids []string
	var answers atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		ids = append(ids, r.Header.Get("Webhook-Id"))
		mu.Unlock()
		switch answers.Add(1) {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
			return
		case 2:
			time.Sleep(1500 * time.Millisecond) // past the attempt timeout
			return
		case 3:
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
			return
		}
		if err := Verify(secret, r.Header.Get("Webhook-Id"), r.Header.Get("Webhook-Timestamp"),
			r.Header.Get("Webhook-Signature"), body, time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !strings.Contains(string(body), `"type":"asset.attached"`) || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("body %s, type %q", body, r.Header.Get("Content-Type"))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	clk := &clock{t: time.Now()}
	out := &memOutbox{rows: map[string]*row{"wd_1": {d: refstore.ClaimedDelivery{URL: srv.URL, Secret: secret,
		Delivery: refstore.Delivery{ID: "wd_1", Account: "acme", EndpointID: "we_1", State: refstore.DeliveryPending,
			Event: testEvent("msg_1", clk.Now()), NextAttempt: clk.Now()}}}}}
	d := New(out, Config{Guard: Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Timeout: time.Second, Now: clk.Now}, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	var waits []time.Duration
	for attempt := 1; ; attempt++ {
		if attempt > 6 {
			t.Fatal("not delivered after 6 attempts")
		}
		if n, err := d.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("attempt %d: claimed %d, %v", attempt, n, err)
		}
		r := out.get("wd_1")
		if r.d.State == refstore.DeliveryDelivered {
			break
		}
		if r.d.State != refstore.DeliveryPending || r.d.LastError == "" {
			t.Fatalf("after attempt %d: %+v", attempt, r.d)
		}
		// Nothing is due before the wait is over.
		if n, _ := d.RunOnce(ctx); n != 0 {
			t.Fatalf("claimed a delivery before its retry was due")
		}
		waits = append(waits, r.d.NextAttempt.Sub(clk.Now()))
		clk.Add(r.d.NextAttempt.Sub(clk.Now()))
	}
	r := out.get("wd_1")
	if len(r.attempts) != 4 || r.attempts[0].Status != 500 || r.attempts[1].Err != "the endpoint did not answer in time" ||
		r.attempts[2].Status != 302 || r.attempts[3].Status != 204 {
		t.Fatalf("attempts %+v", r.attempts)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] <= waits[i-1] {
			t.Errorf("waits do not grow: %v", waits)
		}
	}
	for _, id := range ids {
		if id != "msg_1" {
			t.Fatalf("webhook-ids %v, want msg_1 on every attempt", ids)
		}
	}
}

// Past a day of failures a delivery is marked failed and not tried again.
func TestDelivererGivesUpAfterMaxAge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	clk := &clock{t: time.Now()}
	out := &memOutbox{rows: map[string]*row{"wd_1": {d: refstore.ClaimedDelivery{URL: srv.URL, Secret: NewSecret(),
		Delivery: refstore.Delivery{ID: "wd_1", State: refstore.DeliveryPending, Event: testEvent("msg_1", clk.Now()),
			NextAttempt: clk.Now()}}}}}
	d := New(out, Config{Guard: Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, Now: clk.Now},
		slog.New(slog.DiscardHandler))
	for range 100 {
		if n, _ := d.RunOnce(context.Background()); n == 0 {
			break
		}
		r := out.get("wd_1")
		if r.d.State != refstore.DeliveryPending {
			break
		}
		clk.Add(r.d.NextAttempt.Sub(clk.Now()))
	}
	r := out.get("wd_1")
	if r.d.State != refstore.DeliveryFailed {
		t.Fatalf("state %s after %d attempts", r.d.State, r.d.Attempts)
	}
	if age := clk.Now().Sub(r.d.Event.Time); age > refstore.WebhookMaxAge || age < 20*time.Hour {
		t.Fatalf("gave up after %v", age)
	}
	if r.d.Attempts < 15 || r.d.Attempts > 40 {
		t.Fatalf("%d attempts in a day", r.d.Attempts)
	}
}

// Run delivers what Notify announces without waiting for the poll.
func TestDelivererNotify(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Webhook-Id")
	}))
	defer srv.Close()
	out := &memOutbox{rows: map[string]*row{}}
	d := New(out, Config{Guard: Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, Poll: time.Hour},
		slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	time.Sleep(50 * time.Millisecond) // Run has read the empty outbox and waits
	out.mu.Lock()
	out.rows["wd_9"] = &row{d: refstore.ClaimedDelivery{URL: srv.URL, Secret: NewSecret(), Delivery: refstore.Delivery{
		ID: "wd_9", State: refstore.DeliveryPending, Event: testEvent("msg_9", time.Now()), NextAttempt: time.Now()}}}
	out.mu.Unlock()
	d.Notify()
	select {
	case id := <-got:
		if id != "msg_9" {
			t.Fatalf("got %s", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Notify did not wake the deliverer")
	}
}
