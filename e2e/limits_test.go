package e2e

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// limList is a cheap authenticated call that counts against the rate limit.
func limList(s *session) *response {
	s.t.Helper()
	return s.do("GET", segPath(segA1)+"/list?scope=pr"+itoa(projectID), nil)
}

// expectThrottled checks a 429: the throttling body naming the limit and window, and a
// Retry-After of at most maxWait.
func (r *response) expectThrottled(t testing.TB, limit int, window string, maxWait time.Duration) time.Duration {
	t.Helper()
	r.expect(t, 429)
	var b wire.ThrottlingError
	r.json(t, &b)
	want := fmt.Sprintf("Requests throttled. Maximum allowed %d per %s.", limit, window)
	if b.Error.Type != "Throttling error" || b.Error.Message != want || b.Reason != want || b.Code != "rate_limited" {
		t.Fatalf("429 body %s: want type 'Throttling error', message and reason %q, code rate_limited", r.body, want)
	}
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 || time.Duration(ra)*time.Second > maxWait+time.Second {
		t.Fatalf("Retry-After %q: want whole seconds in [1, %s]", r.Header.Get("Retry-After"), maxWait)
	}
	return time.Duration(ra) * time.Second
}

// limSetAccount upserts an account's own limits.
func limSetAccount(t testing.TB, c *cluster, account string, fields map[string]any) {
	t.Helper()
	a := map[string]any{"id": account, "name": "Tenant " + account}
	for k, v := range fields {
		a[k] = v
	}
	admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []any{a}}).expect(t, 200)
}

// TestRateLimit: a server-wide limit per API key, shared by the key's sessions, not
// counting logins, with the catalog's per-account override (embedded default).
func TestRateLimit(t *testing.T) {
	c := startCluster(t, soBackend(t, "embedded"), "--rate-limit", "5")
	tn := newTenant(t, c)
	pm := tn.as("pm")
	for i := range 5 {
		limList(pm).expect(t, 200)
		if i == 2 {
			tn.as("pm") // a login in between is not counted
		}
	}
	start := time.Now()
	limList(pm).expectThrottled(t, 5, "01:00:00", time.Hour)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the 429 took %s", d)
	}
	// Another session of the same key shares the count; logging in still works.
	pm2 := tn.as("pm")
	limList(pm2).expectThrottled(t, 5, "01:00:00", time.Hour)
	// Uploads and download by id are counted too; another key is not throttled.
	pm2.uploadResp("a.txt", "", []byte("x")).expectThrottled(t, 5, "01:00:00", time.Hour)
	resp := pm2.do("GET", "/api/assets/re_123456789012345678/download", nil)
	resp.expect(t, 429)
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("download by id: 429 without Retry-After")
	}
	reader := tn.as("reader")
	for range 5 {
		limList(reader).expect(t, 200)
	}
	limList(reader).expect(t, 429)

	// The account raises its own limit to 8: the key has 3 more requests.
	limSetAccount(t, c, tn.account, map[string]any{"rateLimit": 8})
	for range 3 {
		limList(pm).expect(t, 200)
	}
	limList(pm).expectThrottled(t, 8, "01:00:00", time.Hour)
	// -1: no limit at all for the account.
	limSetAccount(t, c, tn.account, map[string]any{"rateLimit": -1})
	for range 20 {
		limList(pm).expect(t, 200)
	}
	// 0: back to the server's default, which the key used up long ago.
	limSetAccount(t, c, tn.account, map[string]any{"rateLimit": 0})
	limList(pm).expectThrottled(t, 5, "01:00:00", time.Hour)
	// Other accounts are not affected by this one's override.
	other := newTenant(t, c).as("pm")
	for range 5 {
		limList(other).expect(t, 200)
	}
	limList(other).expect(t, 429)
}

// TestRateLimitOffByDefault: the embedded default limits nothing, until an account sets
// its own limit in the catalog.
func TestRateLimitOffByDefault(t *testing.T) {
	c := sharedCluster(t, soBackend(t, "embedded"))
	tn := newTenant(t, c)
	pm := tn.as("pm")
	for range 50 {
		limList(pm).expect(t, 200)
	}
	limSetAccount(t, c, tn.account, map[string]any{"rateLimit": 3})
	n := 0
	for ; n < 10; n++ {
		if resp := limList(pm); resp.StatusCode == 429 {
			resp.expectThrottled(t, 3, "01:00:00", time.Hour)
			break
		}
	}
	// Requests made while the server had no limit were not counted.
	if n != 3 {
		t.Fatalf("%d requests passed before the 429, want 3", n)
	}
}

// TestRateLimitWindowEnds: a short window; after Retry-After the key may call again.
func TestRateLimitWindowEnds(t *testing.T) {
	c := startCluster(t, soBackend(t, "embedded"), "--rate-limit", "3", "--rate-limit-window", "4s")
	pm := newTenant(t, c).as("pm")
	var wait time.Duration
	for i := 0; ; i++ {
		resp := limList(pm)
		if resp.StatusCode == 429 {
			wait = resp.expectThrottled(t, 3, "00:00:04", 4*time.Second)
			break
		}
		resp.expect(t, 200)
		if i > 6 { // at most one window boundary can fall within the loop
			t.Fatal("no 429 after 7 requests with a limit of 3")
		}
	}
	time.Sleep(wait)
	limList(pm).expect(t, 200)
}

// TestRateLimitCluster: two PostgreSQL nodes share a key's count through the store; the
// count reaches every node within about a second.
func TestRateLimitCluster(t *testing.T) {
	c := startCluster(t, soBackend(t, "postgres-files"), "--rate-limit", "20")
	tn := newTenant(t, c)
	a, b := soPin(c, 0), soPin(c, 1)
	pmA := soLogin(t, a, tn, "pm")
	pmB := soVia(pmA, b) // the same session on the other node
	for range 10 {
		limList(pmA).expect(t, 200)
		limList(pmB).expect(t, 200)
	}
	// Both nodes flush what they counted (every second): once the store holds the 20,
	// each node, past half the limit, asks the store at every request.
	t.Logf("the 20 requests reached the store in %v", limStored(t, c, tn, "pm", 20))
	limList(pmA).expectThrottled(t, 20, "01:00:00", time.Hour)
	limList(pmB).expectThrottled(t, 20, "01:00:00", time.Hour)
	// A new session of the key, on either node, is throttled too.
	limList(soLogin(t, b, tn, "pm")).expect(t, 429)

	// Overshoot under concurrent bursts on both nodes: another key, 40 requests at once
	// on each node (4 clients each) against a limit of 20.
	up := soLogin(t, a, tn, "uploader")
	var mu sync.Mutex
	passed := 0
	var wg sync.WaitGroup
	for _, n := range []*cluster{a, b} {
		s := soVia(up, n)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					st, _, err := rbDo(n, "GET", segPath(segA1)+"/list?scope=pr"+itoa(projectID), rbAuthHeaders(s), nil)
					if err == nil && st.StatusCode == 200 {
						mu.Lock()
						passed++
						mu.Unlock()
					}
				}
			}()
		}
	}
	burst := time.Now()
	wg.Wait()
	t.Logf("concurrent bursts on 2 nodes, limit 20: %d requests passed (overshoot %d) in %s", passed, passed-20, time.Since(burst))
	for _, n := range c.nodes {
		if l := n.logs(); strings.Contains(l, "request counter") {
			t.Fatalf("flushing failed:\n%s", l)
		}
	}
	// Past half the limit a key is counted in the store request by request: the other
	// node can have passed at most half the limit unseen.
	if passed < 20 || passed > 20+10 {
		t.Fatalf("%d requests passed; want the limit plus at most half of it", passed)
	}
	limStored(t, c, tn, "uploader", int64(passed))
	for _, n := range []*cluster{a, b} {
		limList(soVia(up, n)).expect(t, 429)
	}
}

// limStored waits until the shared store counts at least want requests of a user's API key
// in the current window (the nodes add what they counted every second, or at once past half
// the limit), and says how long that took.
func limStored(t testing.TB, c *cluster, tn *tenant, user string, want int64) time.Duration {
	t.Helper()
	var dsn string
	for i, a := range c.nodes[0].opts.Args {
		if a == "--metadata" {
			dsn = c.nodes[0].opts.Args[i+1]
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := sha256.Sum256([]byte(apiKey(tn.account, user)))
	return soEventually(t, 15*time.Second, "the requests of "+user+" reach the store", func() (bool, string) {
		var n int64
		err := db.QueryRow(`SELECT COALESCE(SUM(requests), 0) FROM rate_counters WHERE key_hash = $1`,
			hex.EncodeToString(key[:])).Scan(&n)
		return err == nil && n >= want, fmt.Sprintf("%d of %d counted (%v)", n, want, err)
	})
}

func limUsage(t testing.TB, c *cluster, account string) wire.Usage {
	t.Helper()
	var u wire.Usage
	admin(t, c, "GET", "/admin/v1/accounts/"+account+"/usage", nil).expect(t, 200).json(t, &u)
	return u
}

// testQuota runs the quota scenario on a cluster; stored lists what the blob store holds
// for the account, to check that refused uploads leave nothing behind.
func testQuota(t *testing.T, c *cluster, stored func(account string) []string) {
	tn := newTenant(t, c)
	pin := soPin(c, 0)
	// Through every node: each node's own write tells its limiter at once, so the probes
	// below (which would be kept if a node did not know the quota yet) need no wait. How a
	// change made on one node reaches the others' limiters through the change feed is
	// checked when the quota is lifted, below.
	for i := range c.nodes {
		limSetAccount(t, soPin(c, i), tn.account, map[string]any{"quotaBytes": 10000})
	}
	pm := soLogin(t, c, tn, "pm") // requests rotate over the nodes
	for i := range c.nodes {
		soVia(pm, soPin(c, i)).uploadResp("probe.bin", "", randomBytes(10001)).expect(t, 507)
	}
	var acc struct {
		QuotaBytes *int64 `json:"quotaBytes"`
		RateLimit  *int64 `json:"rateLimit"`
	}
	admin(t, c, "GET", "/admin/v1/accounts/"+tn.account, nil).expect(t, 200).json(t, &acc)
	if acc.QuotaBytes == nil || *acc.QuotaBytes != 10000 || acc.RateLimit != nil {
		t.Fatalf("the account's catalog shows quotaBytes %v, rateLimit %v", acc.QuotaBytes, acc.RateLimit)
	}
	if u := limUsage(t, c, tn.account); u != (wire.Usage{Account: tn.account, QuotaBytes: 10000}) {
		t.Fatalf("usage of a new account: %+v", u)
	}
	first := randomBytes(6000)
	tok := pm.upload("first.bin", first)
	pm.attach("pr"+itoa(projectID), segA1, map[string]string{"filetoken": tok}).expect(t, 200)
	pm.attach("pr"+itoa(projectID), segA2, map[string]string{"filetoken": tok}).expect(t, 200)
	want := wire.Usage{Account: tn.account, Bytes: 6000, Blobs: 1, Assets: 2, QuotaBytes: 10000}
	if u := limUsage(t, c, tn.account); u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
	before := stored(tn.account)

	// 5000 new bytes would make 11000: refused, with the quota and usage named, and
	// nothing kept.
	e := pm.uploadResp("second.bin", "", randomBytes(5000)).expectError(t, 507, "quota_exceeded")
	for _, s := range []string{"5000", "10000", "6000", tn.account} {
		if !strings.Contains(e.Reason, s) {
			t.Fatalf("reason %q does not name %s", e.Reason, s)
		}
	}
	if after := stored(tn.account); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("a refused upload left bytes behind: %v, before %v", after, before)
	}
	// The same bytes again add nothing: accepted even though 6000+6000 > 10000.
	pm.upload("again.bin", first)
	if u := limUsage(t, c, tn.account); u != want {
		t.Fatalf("usage after re-uploading the same bytes: %+v, want %+v", u, want)
	}
	// Up to the quota exactly, then not one byte more.
	pm.upload("fill.bin", randomBytes(4000))
	pm.uploadResp("one.bin", "", []byte("x")).expectError(t, 507, "quota_exceeded")
	if u := limUsage(t, c, tn.account); u.Bytes != 10000 || u.Blobs != 2 {
		t.Fatalf("usage at the quota: %+v", u)
	}
	// Lifting the quota (0: unlimited) lets uploads in again.
	limSetAccount(t, pin, tn.account, map[string]any{"quotaBytes": 0})
	soEventually(t, 15*time.Second, "the lifted quota reaches every node", func() (bool, string) {
		resp := soVia(pm, soPin(c, len(c.nodes)-1)).uploadResp("more.bin", "", randomBytes(5000))
		return resp.StatusCode == 200, fmt.Sprintf("status %d", resp.StatusCode)
	})
	admin(t, c, "GET", "/admin/v1/accounts/nope/usage", nil).expect(t, 404)
	do(t, c, "GET", "/admin/v1/accounts/"+tn.account+"/usage", nil, nil).expect(t, 401)
}

func TestQuotaEmbedded(t *testing.T) {
	c := startCluster(t, soBackend(t, "embedded"))
	data := c.nodes[0].opts.Data
	testQuota(t, c, func(string) []string {
		var out []string
		for f := range dataFiles(t, data) {
			out = append(out, f)
		}
		sort.Strings(out)
		return out
	})
}

func TestQuotaPostgresS3(t *testing.T) {
	c, gw := soS3Cluster(t, 2)
	testQuota(t, c, func(account string) []string { return soObjects(t, gw, account) })
}

// TestQuotaRace: uploads racing for the last bytes of a quota. One node serialises its
// checks, so the quota holds exactly; across nodes it holds to within the uploads that
// commit at the same instant on other nodes.
func TestQuotaRace(t *testing.T) {
	for _, b := range []string{"embedded", "postgres-files"} {
		t.Run(b, func(t *testing.T) {
			c := startCluster(t, soBackend(t, b))
			tn := newTenant(t, c)
			// Through every node: each node's own write tells its limiter at once (a node
			// that only hears of it through the change feed would know it a little later,
			// and the race would start before the quota was known everywhere).
			for i := range c.nodes {
				limSetAccount(t, soPin(c, i), tn.account, map[string]any{"quotaBytes": 10000})
			}
			var mu sync.Mutex
			codes := map[int]int{}
			var wg sync.WaitGroup
			for i, user := range []string{"pm", "uploader", "jobber", "codyt"} {
				s := soLogin(t, soPin(c, i%len(c.nodes)), tn, user)
				for range 3 {
					wg.Go(func() {
						body, ct := rbMultipart("r.bin", randomBytes(3000))
						h := rbAuthHeaders(s)
						h.Set("Content-Type", ct)
						resp, _, err := rbDo(s.c, "POST", "/api/media/upload", h, body)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						codes[resp.StatusCode]++
						mu.Unlock()
					})
				}
			}
			wg.Wait()
			u := limUsage(t, c, tn.account)
			t.Logf("%s: 12 uploads of 3000 bytes racing for a quota of 10000: statuses %v, %d bytes stored", b, codes, u.Bytes)
			if codes[200]+codes[507] != 12 || u.Bytes != int64(codes[200])*3000 {
				t.Fatalf("statuses %v, usage %+v", codes, u)
			}
			if len(c.nodes) == 1 && codes[200] != 3 {
				t.Fatalf("%d uploads passed on one node; want exactly 3", codes[200])
			}
			if codes[200] > 3*len(c.nodes) {
				t.Fatalf("%d uploads passed; want at most 3 per node", codes[200])
			}
		})
	}
}

// limDial opens a raw connection to a node.
func limDial(t testing.TB, n *node) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// limClosedWithin waits for the server to close a connection (EOF or reset), reading and
// dropping whatever it sends first, and returns what it sent.
func limClosedWithin(t testing.TB, conn net.Conn, within time.Duration) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(within))
	b, err := io.ReadAll(conn)
	if err != nil && isNetTimeout(err) {
		t.Fatalf("the connection was still open after %s (read %q)", within, b)
	}
	return string(b)
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestRequestLimits: oversized headers (431), oversized JSON bodies (413), stalled
// bodies (408, nothing kept) and idle connections.
func TestRequestLimits(t *testing.T) {
	c := startCluster(t, soBackend(t, "embedded"), "--body-read-timeout", "1s", "--idle-timeout", "1s")
	n := c.nodes[0]
	tn := newTenant(t, c)
	pm := tn.as("pm")

	t.Run("HeaderTooLarge", func(t *testing.T) {
		h := pm.headers()
		h.Set("X-Padding", strings.Repeat("a", 80<<10))
		resp := do(t, c, "GET", segPath(segA1)+"/list?scope=pr"+itoa(projectID), h, nil)
		resp.expect(t, 431)
		// Just under the limit passes.
		h.Set("X-Padding", strings.Repeat("a", 60<<10))
		do(t, c, "GET", segPath(segA1)+"/list?scope=pr"+itoa(projectID), h, nil).expect(t, 200)
	})

	t.Run("JSONBodyTooLarge", func(t *testing.T) {
		big := map[string]string{"filetoken": strings.Repeat("a", 70<<10)}
		e := pm.attach("pr"+itoa(projectID), segA1, big).expectError(t, 413, "too_large")
		if !strings.Contains(e.Reason, "65536") {
			t.Fatalf("reason %q does not name the limit", e.Reason)
		}
		resp := do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": tn.account, "key": strings.Repeat("k", 70<<10)}))
		resp.expectError(t, 413, "too_large")
	})

	t.Run("StalledUpload", func(t *testing.T) {
		before := dataFiles(t, n.opts.Data)
		conn := limDial(t, n)
		body, ct := multipartBody(t, "stall.bin", randomBytes(100000))
		raw, _ := io.ReadAll(body)
		fmt.Fprintf(conn, "POST /api/media/upload HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\nX-Auth-AccountId: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			pm.token, pm.account, ct, len(raw))
		conn.Write(raw[:20000]) // then nothing
		start := time.Now()
		got := limClosedWithin(t, conn, 5*time.Second)
		took := time.Since(start)
		if !strings.HasPrefix(got, "HTTP/1.1 408 ") || !strings.Contains(got, `"code":"request_timeout"`) {
			t.Fatalf("a stalled upload got %q", got)
		}
		t.Logf("stalled upload: 408 after %s", took.Round(time.Millisecond))
		if took < 900*time.Millisecond || took > 3*time.Second {
			t.Fatalf("408 after %s; want about the 1s body timeout", took)
		}
		wantNoNewFiles(t, before, dataFiles(t, n.opts.Data))
	})

	t.Run("SlowSteadyUpload", func(t *testing.T) {
		// 40 KB in 8 pieces 400 ms apart: slower than a second in all, never idle for one.
		data := randomBytes(40000)
		body, ct := multipartBody(t, "slow.bin", data)
		raw, _ := io.ReadAll(body)
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < len(raw); i += len(raw)/8 + 1 {
				pw.Write(raw[i:min(i+len(raw)/8+1, len(raw))])
				time.Sleep(400 * time.Millisecond)
			}
			pw.Close()
		}()
		h := pm.headers()
		h.Set("Content-Type", ct)
		req, _ := http.NewRequest("POST", n.url+"/api/media/upload", pr)
		req.Header = h
		req.ContentLength = int64(len(raw))
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("a slow but steady upload got %d", resp.StatusCode)
		}
	})

	t.Run("IdleConnection", func(t *testing.T) {
		conn := limDial(t, n)
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		start := time.Now()
		got := limClosedWithin(t, conn, 5*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 200 ") {
			t.Fatalf("got %q", got)
		}
		if took := time.Since(start); took < 900*time.Millisecond || took > 3*time.Second {
			t.Fatalf("an idle connection was closed after %s; want about the 1s idle timeout", took)
		}
	})
}

// TestSlowloris: many connections sending their headers a byte at a time hold nothing:
// the server keeps answering others promptly and closes them at the header timeout.
func TestSlowloris(t *testing.T) {
	const conns = 200
	c := startCluster(t, soBackend(t, "embedded"), "--read-header-timeout", "2s")
	n := c.nodes[0]
	pm := newTenant(t, c).as("pm")
	closed := make(chan time.Duration, conns)
	start := time.Now()
	for range conns {
		conn := limDial(t, n)
		go func() {
			go func() { // sends a header byte every 200 ms until the server hangs up
				req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
				for i := 0; i < len(req); i++ {
					if _, err := conn.Write([]byte{req[i]}); err != nil {
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
			}()
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			b, err := io.ReadAll(conn)
			// Closed, silently or after a 400 (headers cut off at the deadline).
			if err != nil && isNetTimeout(err) || len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 400 ") {
				t.Logf("read %q, %v", b, err)
				closed <- -1
				return
			}
			closed <- time.Since(start)
		}()
	}
	// Meanwhile, ordinary requests are answered promptly.
	var worst time.Duration
	for time.Since(start) < 3*time.Second {
		t0 := time.Now()
		limList(pm).expect(t, 200)
		worst = max(worst, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	var last time.Duration
	for range conns {
		d := <-closed
		if d < 0 {
			t.Fatal("a slow connection was served or not closed within 20s")
		}
		last = max(last, d)
	}
	t.Logf("%d slowloris connections: all closed by %s (header timeout 2s); slowest ordinary request meanwhile %s",
		conns, last.Round(time.Millisecond), worst.Round(time.Millisecond))
	if last > 4*time.Second {
		t.Fatalf("the last slow connection closed after %s", last)
	}
	if worst > time.Second { // loose: the test machine is shared
		t.Fatalf("an ordinary request took %s during the attack", worst)
	}
}

// TestUploadsPerKey: a key's uploads in progress at once are capped; the excess gets 429
// with Retry-After, other keys are not affected, and the slots free when uploads end.
func TestUploadsPerKey(t *testing.T) {
	c := startCluster(t, soBackend(t, "embedded"), "--max-uploads-per-key", "2")
	n := c.nodes[0]
	tn := newTenant(t, c)
	pm := tn.as("pm")
	type slow struct {
		pw   *io.PipeWriter
		rest []byte
		done chan int
	}
	var slows []slow
	for range 2 {
		body, ct := multipartBody(t, "slow.bin", randomBytes(50000))
		raw, _ := io.ReadAll(body)
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", n.url+"/api/media/upload", pr)
		req.Header = pm.headers()
		req.Header.Set("Content-Type", ct)
		req.ContentLength = int64(len(raw))
		s := slow{pw: pw, rest: raw[1000:], done: make(chan int, 1)}
		go func() {
			resp, err := httpClient.Do(req)
			if err != nil {
				s.done <- -1
				return
			}
			resp.Body.Close()
			s.done <- resp.StatusCode
		}()
		pw.Write(raw[:1000]) // the part's headers and the start of the file
		slows = append(slows, s)
	}
	time.Sleep(300 * time.Millisecond) // both are in progress
	resp := pm.uploadResp("third.bin", "", []byte("third"))
	resp.expect(t, 429)
	var b wire.ThrottlingError
	resp.json(t, &b)
	if b.Error.Type != "Throttling error" || !strings.Contains(b.Reason, "at most 2") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("429 %s, Retry-After %q", resp.body, resp.Header.Get("Retry-After"))
	}
	// Another session of the same key shares the cap; another key does not.
	tn.as("pm").uploadResp("third.bin", "", []byte("third")).expect(t, 429)
	tn.as("uploader").upload("other.bin", []byte("other key"))
	for _, s := range slows {
		s.pw.Write(s.rest)
		s.pw.Close()
		if st := <-s.done; st != 200 {
			t.Fatalf("a slow upload ended with %d", st)
		}
	}
	pm.upload("fourth.bin", []byte("after"))
}

// TestCORS: allowed origins get CORS headers on the /api routes and their preflights
// answered; other origins, the admin API and servers without --cors-origins get none.
func TestCORS(t *testing.T) {
	c := startCluster(t, soBackend(t, "embedded"), "--cors-origins", "https://editor.example.com, https://Other.example:8443")
	tn := newTenant(t, c)
	pm := tn.as("pm")
	pm.put("pr"+itoa(projectID), segA1, "shot.png", "", "", randomBytes(1000))
	dl := segPath(segA1) + "?scope=pr" + itoa(projectID) + "&filename=shot.png"
	const editor = "https://editor.example.com"

	preflight := func(origin string) *response {
		return do(t, c, "OPTIONS", dl, http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"GET"},
			"Access-Control-Request-Headers": {"x-auth-token,x-auth-accountid,range"}}, nil)
	}
	resp := preflight(editor).expect(t, 204)
	for h, want := range map[string][]string{
		"Access-Control-Allow-Origin":  {editor},
		"Access-Control-Allow-Methods": {"GET", "POST", "DELETE", "HEAD"},
		"Access-Control-Allow-Headers": {"X-Auth-Token", "X-Auth-AccountId", "Range"},
		"Vary":                         {"Origin"},
	} {
		got := strings.Join(resp.Header.Values(h), ", ")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("preflight %s: %q lacks %s", h, got, w)
			}
		}
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("credentials are allowed")
	}
	preflight("https://other.example:8443").expect(t, 204).wantHeader(t, "Access-Control-Allow-Origin", "https://other.example:8443")

	// The actual requests: a download and a range of it expose the headers a page reads.
	h := pm.headers()
	h.Set("Origin", editor)
	resp = do(t, c, "GET", dl, h, nil).expect(t, 200)
	resp.wantHeader(t, "Access-Control-Allow-Origin", editor)
	exposed := resp.Header.Get("Access-Control-Expose-Headers")
	for _, w := range []string{"ETag", "Content-Range", "Content-Length", "Accept-Ranges", "X-Deleted-Count", "X-Request-Id"} {
		if !strings.Contains(exposed, w) {
			t.Fatalf("Access-Control-Expose-Headers %q lacks %s", exposed, w)
		}
	}
	h.Set("Range", "bytes=0-9")
	do(t, c, "GET", dl, h, nil).expect(t, 206).wantHeader(t, "Access-Control-Allow-Origin", editor)
	// Errors carry them too, so that a page can read a 401 or a 429.
	do(t, c, "GET", dl, http.Header{"Origin": {editor}}, nil).expect(t, 401).wantHeader(t, "Access-Control-Allow-Origin", editor)

	// Another origin gets no CORS headers, and its preflight is not answered.
	h.Set("Origin", "https://evil.example")
	resp = do(t, c, "GET", dl, h, nil).expect(t, 206)
	resp.wantNoHeader(t, "Access-Control-Allow-Origin")
	resp.wantNoHeader(t, "Access-Control-Expose-Headers")
	resp = preflight("https://evil.example")
	if resp.StatusCode == 204 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a preflight from another origin: %d, %v", resp.StatusCode, resp.Header)
	}
	// The admin API is not for pages.
	resp = do(t, c, "GET", "/admin/v1/accounts", http.Header{"Origin": {editor}, "Authorization": {"Bearer " + adminToken}}, nil)
	resp.expect(t, 200).wantNoHeader(t, "Access-Control-Allow-Origin")

	// Any origin with *.
	wild := startCluster(t, soBackend(t, "embedded"), "--cors-origins", "*")
	do(t, wild, "OPTIONS", "/api/resources/assets/list", http.Header{"Origin": {"https://x.example"},
		"Access-Control-Request-Method": {"DELETE"}}, nil).expect(t, 204).wantHeader(t, "Access-Control-Allow-Origin", "*")
	// None by default.
	def := sharedCluster(t, soBackend(t, "embedded"))
	do(t, def, "GET", "/api/resources/assets/list", http.Header{"Origin": {editor}}, nil).wantNoHeader(t, "Access-Control-Allow-Origin")
	// A malformed origin stops the server at start.
	if _, err := launch(nodeOptions{Data: t.TempDir(), Args: []string{"--cors-origins", "editor.example.com/path"}}); err == nil ||
		!strings.Contains(err.Error(), "--cors-origins") {
		t.Fatalf("a malformed origin: %v", err)
	}
}

// TestStalledUploadHTTP2: over HTTP/2 a stalled body also ends in 408 after the body read
// timeout, and only its stream: the connection keeps serving others.
func TestStalledUploadHTTP2(t *testing.T) {
	tn := startTLSNode(t, "--body-read-timeout", "1s")
	account := "lim" + rbSHA256(randomBytes(8))[:8]
	cat, _ := json.Marshal(fixtureCatalog(account))
	tn.do(t, tn.h2, "PUT", "/admin/v1/catalog", http.Header{"Authorization": {"Bearer " + adminToken}}, cat).expect(t, 200)
	login, _ := json.Marshal(map[string]string{"accountid": account, "key": apiKey(account, "pm")})
	r := tn.do(t, tn.h2, "POST", "/api/auth/token", nil, login).expect(t, 200)
	var token string
	r.json(t, &token)
	auth := http.Header{"X-Auth-Token": {token}, "X-Auth-AccountId": {account}}

	body, ct := multipartBody(t, "stall.bin", randomBytes(100000))
	raw, _ := io.ReadAll(body)
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(raw[:20000]) // then nothing
	req, _ := http.NewRequest("POST", tn.base+"/api/media/upload", pr)
	req.Header = auth.Clone()
	req.Header.Set("Content-Type", ct)
	req.ContentLength = int64(len(raw))
	start := time.Now()
	resp, err := tn.h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.ProtoMajor != 2 || resp.StatusCode != 408 || !strings.Contains(string(b), `"code":"request_timeout"`) {
		t.Fatalf("a stalled HTTP/2 upload got %s %d %s", resp.Proto, resp.StatusCode, b)
	}
	t.Logf("stalled HTTP/2 upload: 408 after %s", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Fatalf("408 after %s; want about the 1s body timeout", took)
	}
	tn.do(t, tn.h2, "GET", segPath(segA1)+"/list?scope=pr"+itoa(projectID), auth, nil).expect(t, 200)
}
