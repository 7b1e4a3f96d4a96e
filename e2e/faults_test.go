package e2e

// Fault tests of the scale-out configuration: the object store stopped mid-upload, the
// PostgreSQL server restarted under the nodes, a node SIGKILLed mid-upload and mid-attach.
// Every outage is real (versitygw killed, a private PostgreSQL server shut down, refstore
// killed); every wait is bounded.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testenv"
	"github.com/refstore/refstore/wire"
)

// TestFaultS3StoppedMidUpload stops the object store while a large upload streams in: the
// upload answers 503 "unavailable", nothing of it is registered or left in the bucket once
// the store is back and swept, /readyz follows the store, and the same upload succeeds
// when retried.
func TestFaultS3StoppedMidUpload(t *testing.T) {
	c, gw := soS3Cluster(t, 2, "--orphan-grace", "1s", "--orphan-sweep-interval", "500ms")
	a, b := soPin(c, 0), soPin(c, 1)
	scope := fmt.Sprintf("pr%d", projectID)
	tn := newTenant(t, a)
	pmA := soLogin(t, a, tn, "pm")
	pmB := soVia(pmA, b)
	earlier := randomBytes(100_003)
	pmA.put(scope, segA1, "earlier.bin", "", "", earlier)
	objectsBefore := soObjects(t, gw, tn.account)
	if len(objectsBefore) != 1 {
		t.Fatalf("objects before the outage: %v", objectsBefore)
	}

	// A 48 MiB file part, streamed in 256 KiB writes. Once the node has started a multipart
	// upload, the writer holds until the gateway is down, then goes on.
	const size, chunk = 48 << 20, 256 << 10
	data := randomBytes(size)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	var hold atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	writerDone := make(chan int64, 1)
	go func() {
		var sent int64
		defer func() { writerDone <- sent }()
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="big.bin"`)
		h.Set("Content-Type", "application/octet-stream")
		part, err := mw.CreatePart(h)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		for off := 0; off < size; off += chunk {
			if hold.Load() && held != nil {
				close(held)
				held = nil
				select {
				case <-release:
				case <-time.After(60 * time.Second):
					pw.CloseWithError(errors.New("the test did not release the writer"))
					return
				}
			}
			if _, err := part.Write(data[off : off+chunk]); err != nil {
				return // the node answered and the transport closed the body
			}
			sent += chunk
			time.Sleep(5 * time.Millisecond)
		}
		mw.Close()
		pw.Close()
	}()
	heldCh := held
	type result struct {
		r    *response
		took time.Duration
		err  error
	}
	res := make(chan result, 1)
	h := pmA.headers()
	h.Set("Content-Type", mw.FormDataContentType())
	go func() {
		r, took, err := soCall(soQuick, "POST", a.nodes[0].url+"/api/media/upload", h, pr)
		res <- result{r, took, err}
	}()
	soEventually(t, 30*time.Second, "the node starts a multipart upload", func() (bool, string) {
		up := soMultipartUploads(t, gw)
		return len(up) == 1, fmt.Sprintf("multipart uploads: %v", up)
	})
	hold.Store(true)
	select {
	case <-heldCh:
	case r := <-res:
		t.Fatalf("the upload was answered before the gateway could be stopped: %v %v", r.err, r.r)
	case <-time.After(60 * time.Second):
		t.Fatal("the writer did not hold")
	}
	gw.Stop()
	stopped := time.Now()
	close(release)
	var got result
	select {
	case got = <-res:
	case <-time.After(60 * time.Second):
		t.Fatal("the upload got no answer within 60s of the object store stopping")
	}
	pr.CloseWithError(errors.New("test over"))
	sent := <-writerDone
	if got.err != nil {
		t.Fatalf("the upload failed without an answer (after %d bytes sent): %v", sent, got.err)
	}
	t.Logf("upload answered %d %v after the gateway stopped (%d of %d MiB sent)", got.r.StatusCode,
		time.Since(stopped).Round(time.Millisecond), sent>>20, size>>20)
	got.r.expectError(t, 503, "unavailable")
	if strings.Contains(string(got.r.body), "token") {
		t.Fatalf("the failed upload's answer mentions a token: %s", got.r.body)
	}

	// While the store is down: /readyz is 503 on both nodes, uploads and downloads answer 503
	// promptly, metadata-only calls still work and show nothing new.
	for i, n := range c.nodes {
		r, took := soMust(t, soQuick, "GET", n.url+"/readyz", nil, nil)
		if r.StatusCode != 503 {
			t.Fatalf("node %d: /readyz answered %d with the object store down", i, r.StatusCode)
		}
		t.Logf("node %d: /readyz 503 in %v", i, took.Round(time.Millisecond))
	}
	var slowest time.Duration
	for _, s := range []*session{pmA, pmB} {
		body, ct := multipartBody(t, "small.bin", randomBytes(10_000))
		hh := s.headers()
		hh.Set("Content-Type", ct)
		r, took := soMust(t, soQuick, "POST", s.c.nodes[0].url+"/api/media/upload", hh, body)
		r.expectError(t, 503, "unavailable")
		slowest = max(slowest, took)
		r, took = soMust(t, soQuick, "GET", s.c.nodes[0].url+segPath(segA1, "scope", scope, "filename", "earlier.bin"), s.headers(), nil)
		r.expectError(t, 503, "unavailable")
		slowest = max(slowest, took)
		if l := s.listAssets(scope, segA1); len(l) != 1 || l[0].Name != "earlier.bin" {
			t.Fatalf("list while the object store is down: %+v", l)
		}
	}
	t.Logf("slowest 503 of an upload or download with the object store down: %v", slowest.Round(time.Millisecond))

	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for i, n := range c.nodes {
		soEventually(t, 30*time.Second, fmt.Sprintf("node %d ready again", i), func() (bool, string) {
			code := soReady(n)
			return code == 200, fmt.Sprintf("/readyz answers %d", code)
		})
	}
	t.Logf("both nodes ready %v after the gateway restarted", time.Since(back).Round(time.Millisecond))
	// The sweep aborts the upload the outage cut off; nothing else is added to the bucket.
	soEventually(t, 30*time.Second, "the interrupted upload is cleaned up", func() (bool, string) {
		up, objs := soMultipartUploads(t, gw), soObjects(t, gw, tn.account)
		return len(up) == 0 && len(objs) == len(objectsBefore),
			fmt.Sprintf("multipart uploads %v, objects %v (before: %v)", up, objs, objectsBefore)
	})
	// The node that aborted it says so (its log line may come just after the abort).
	var sweeps map[string]int
	soEventually(t, 10*time.Second, "a node reports aborting the interrupted multipart upload", func() (bool, string) {
		sweeps = soLogCounts(c.nodes, "orphan sweep", "stale_uploads", "orphan_blobs")
		return sweeps["stale_uploads"] >= 1, fmt.Sprintf("orphan sweeps logged %v", sweeps)
	})
	t.Logf("orphan sweeps: %d stale multipart uploads aborted, %d orphan objects deleted", sweeps["stale_uploads"], sweeps["orphan_blobs"])

	// The same upload, retried, succeeds and attaches.
	retry := pmB.uploadResp("big.bin", "", data)
	if retry.StatusCode != 200 {
		soLogProblems(t, c.nodes)
	}
	token, _ := retry.uploadResult(t)
	var asset wire.Asset
	pmA.attach(scope, segA1, map[string]string{"filetoken": token}).expect(t, 200).json(t, &asset)
	if asset.Size != size {
		t.Fatalf("the retried upload's asset has %d bytes, want %d", asset.Size, size)
	}
	soDownload(pmB, scope, segA1, "big.bin").expect(t, 200).wantBody(t, data)
	soDownload(pmA, scope, segA1, "earlier.bin").expect(t, 200).wantBody(t, earlier)
	if objs := soObjects(t, gw, tn.account); len(objs) != 2 {
		t.Fatalf("objects after the retry: %v, want 2", objs)
	}
}

// TestFaultPostgresRestart restarts a private PostgreSQL server under two nodes (sharing a
// data directory for the files): while it is down every call answers 503 "unavailable"
// promptly (never a 500 or a hang) and nothing is half-registered; once it is back, both
// nodes serve again within seconds, without a restart, with all their data.
func TestFaultPostgresRestart(t *testing.T) {
	pg := testenv.StartPostgres(t)
	data := t.TempDir()
	opts := nodeOptions{Data: data, Args: []string{"--metadata", pg.URL, "--sweep-interval", "200ms", "--orphan-sweep-interval", "300ms"}}
	c := &cluster{backend: backend{name: "private-postgres-files", nodes: 2}}
	for range 2 {
		c.nodes = append(c.nodes, startNode(t, opts))
	}
	a, b := soPin(c, 0), soPin(c, 1)
	scope := fmt.Sprintf("pr%d", projectID)
	tn := newTenant(t, a)
	pmA := soLogin(t, a, tn, "pm")
	pmB := soVia(pmA, b)
	kept := randomBytes(100_001)
	keptAsset := pmA.put(scope, segA1, "kept.bin", "", "", kept)
	listPath := fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", segA1, scope)

	// Traffic on both nodes all along: every answer must be a 200 or a 503 "unavailable".
	var (
		mu       sync.Mutex
		statuses = map[string]int{}
		bad      []string
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	for _, n := range c.nodes {
		wg.Go(func() {
			for !stop.Load() {
				r, took, err := soCall(soQuick, "GET", n.url+listPath, pmA.headers(), nil)
				mu.Lock()
				switch {
				case err != nil:
					bad = append(bad, fmt.Sprintf("no answer after %v: %v", took, err))
				case r.StatusCode == 200:
					statuses["200"]++
				case r.StatusCode == 503 && rbErrorCode(r.body) == "unavailable":
					statuses["503"]++
				default:
					bad = append(bad, fmt.Sprintf("%d: %s", r.StatusCode, truncate(r.body)))
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	stopTraffic := func() {
		if !stop.Swap(true) {
			wg.Wait()
		}
	}
	defer stopTraffic()

	for round := 1; round <= 2; round++ {
		filesBefore := dataFiles(t, data)
		pg.Stop()
		var slowest time.Duration
		check := func(what string, r *response, took time.Duration) {
			t.Helper()
			slowest = max(slowest, took)
			if r.StatusCode != 503 || rbErrorCode(r.body) != "unavailable" {
				t.Fatalf("round %d, %s with PostgreSQL down: %d %s, want 503 unavailable", round, what, r.StatusCode, truncate(r.body))
			}
		}
		for i, s := range []*session{pmA, pmB} {
			url := s.c.nodes[0].url
			r, took := soMust(t, soQuick, "GET", url+"/readyz", nil, nil)
			slowest = max(slowest, took)
			if r.StatusCode != 503 {
				t.Fatalf("round %d: node %d: /readyz answered %d with PostgreSQL down", round, i, r.StatusCode)
			}
			r, took = soMust(t, soQuick, "GET", url+listPath, s.headers(), nil)
			check("list", r, took)
			r, took = soMust(t, soQuick, "GET", url+segPath(segA1, "scope", scope, "filename", "kept.bin"), s.headers(), nil)
			check("download", r, took)
			r, took = soMust(t, soQuick, "POST", url+"/api/auth/token", nil,
				jsonBody(map[string]string{"accountid": tn.account, "key": apiKey(tn.account, "pm")}))
			check("login", r, took)
			body, ct := multipartBody(t, "during.bin", randomBytes(30_000))
			hh := s.headers()
			hh.Set("Content-Type", ct)
			r, took = soMust(t, soQuick, "POST", url+"/api/media/upload", hh, body)
			check("upload", r, took)
			r, took = soMust(t, soQuick, "PUT", url+"/admin/v1/catalog",
				http.Header{"Authorization": {"Bearer " + adminToken}}, jsonBody(fixtureCatalog(tn.account)))
			check("catalog upsert", r, took)
		}
		t.Logf("round %d: slowest 503 with PostgreSQL down: %v", round, slowest.Round(time.Millisecond))
		// The upload that failed on the metadata kept no bytes.
		wantNoNewFiles(t, filesBefore, dataFiles(t, data))

		if err := pg.Start(); err != nil {
			t.Fatal(err)
		}
		took := soEventually(t, 30*time.Second, "both nodes serve again", func() (bool, string) {
			for i, n := range c.nodes {
				if code := soReady(n); code != 200 {
					return false, fmt.Sprintf("node %d: /readyz %d", i, code)
				}
				r, _, err := soCall(soQuick, "GET", n.url+listPath, pmA.headers(), nil)
				if err != nil {
					return false, err.Error()
				}
				if r.StatusCode != 200 {
					return false, fmt.Sprintf("node %d: list %d %s", i, r.StatusCode, truncate(r.body))
				}
			}
			return true, ""
		})
		t.Logf("round %d: both nodes serve again %v after PostgreSQL accepted connections", round, took.Round(time.Millisecond))

		// What was written before is intact, the session is still valid, and writes work.
		for _, s := range []*session{pmA, pmB} {
			soDownload(s, scope, segA1, "kept.bin").expect(t, 200).wantBody(t, kept)
			if l := s.listAssets(scope, segA1); len(l) != 1 || l[0].ID != keptAsset.ID || l[0].ModifiedDate != keptAsset.ModifiedDate {
				t.Fatalf("list after the restart: %+v", l)
			}
		}
		fresh := randomBytes(20_000 + round)
		token := pmA.upload(fmt.Sprintf("after%d.bin", round), fresh)
		pmB.attach(scope, segA2, map[string]string{"filetoken": token}).expect(t, 200)
		soDownload(pmA, scope, segA2, fmt.Sprintf("after%d.bin", round)).expect(t, 200).wantBody(t, fresh)
		soLogin(t, b, tn, "reader")
	}
	stopTraffic()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("background traffic: %d answers 200, %d answers 503 unavailable", statuses["200"], statuses["503"])
	if len(bad) > 0 {
		t.Fatalf("%d background requests were neither 200 nor 503 unavailable, e.g. %v", len(bad), bad[:min(len(bad), 5)])
	}
	if statuses["503"] == 0 || statuses["200"] == 0 {
		t.Fatalf("the background traffic saw no outage or no service: %v", statuses)
	}
}

// TestFaultNodeKilled runs uploads and attaches through node A of a PostgreSQL + S3
// cluster and SIGKILLs A at random moments, restarting it in between, while node B serves:
// after each kill everything B lists downloads completely through B. After the kills, the
// sweeps leave the bucket holding exactly the objects the metadata references, and no
// unfinished multipart upload.
func TestFaultNodeKilled(t *testing.T) {
	const tokenTTL = 4 * time.Second
	c, gw := soS3Cluster(t, 2, "--orphan-grace", "1s", "--orphan-sweep-interval", "500ms",
		"--file-token-ttl", tokenTTL.String(), "--delete-grace", "1s", "--sweep-interval", "300ms")
	all := append([]*node(nil), c.nodes...) // every process, the killed ones too, for their logs
	b := soPin(c, 1)
	scope := fmt.Sprintf("pr%d", projectID)
	tn := newTenant(t, b)
	pmB := soLogin(t, b, tn, "pm")
	segments := []int64{segA1, segA2, segA3, segB1, segB2}
	names := []string{"a.png", "b.bin", "c.pdf"}
	listPath := fmt.Sprintf("/api/resources/assets/list?scope=%s&segmentIds=%d,%d,%d,%d,%d", scope, segA1, segA2, segA3, segB1, segB2)

	var (
		mu       sync.Mutex
		uploaded = map[string]bool{} // SHA-256 of every content sent
		failures []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	// verify lists everything through B and downloads it whole through B; it returns the
	// contents the assets hold.
	verify := func(when string) map[string]bool {
		t.Helper()
		var list []wire.Asset
		pmB.do("GET", listPath, nil).expect(t, 200).json(t, &list)
		held := map[string]bool{}
		for _, as := range list {
			r := soDownload(pmB, scope, as.SegmentID, as.Name)
			if r.StatusCode != 200 || int64(len(r.body)) != as.Size {
				t.Fatalf("%s: asset %s (%d/%s, %d bytes) downloads through B as %d with %d bytes: %s",
					when, as.ID, as.SegmentID, as.Name, as.Size, r.StatusCode, len(r.body), truncate(r.body))
			}
			h := soHash(r.body)
			mu.Lock()
			known := uploaded[h]
			mu.Unlock()
			if !known {
				t.Fatalf("%s: asset %s holds bytes that were never uploaded", when, as.ID)
			}
			byID := pmB.do("GET", "/api/assets/"+as.ID+"/download", nil).expect(t, 200)
			if soHash(byID.body) != h {
				t.Fatalf("%s: asset %s downloads by id with other bytes than by address", when, as.ID)
			}
			held[h] = true
		}
		return held
	}

	var attaches, kills atomic.Int64
	for round := 1; round <= 4; round++ {
		a := soPin(c, 0)
		pmA := soVia(pmB, a)
		var stop atomic.Bool
		var wg sync.WaitGroup
		// Three writers on A.
		for w := range 3 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for !stop.Load() {
					size := 20_000 + rng.IntN(280_000)
					if rng.IntN(4) == 0 {
						size = 9<<20 + rng.IntN(1<<20) // a multipart upload
					}
					content := randomBytes(size)
					mu.Lock()
					uploaded[soHash(content)] = true
					mu.Unlock()
					name := names[rng.IntN(len(names))]
					token, err := rbUpload(pmA, name, content)
					if err == nil {
						_, err = rbAttach(pmA, scope, segments[rng.IntN(len(segments))], map[string]string{"filetoken": token})
					}
					var se *rbStatusError
					if errors.As(err, &se) {
						fail("round %d: node A answered %v", round, err)
						return
					} else if err != nil {
						return // A is gone
					}
					attaches.Add(1)
				}
			})
		}
		// A reader on B all along.
		wg.Go(func() {
			for !stop.Load() {
				resp, body, err := rbDo(b, "GET", listPath, rbAuthHeaders(pmB), nil)
				if err != nil || resp.StatusCode != 200 {
					fail("round %d: list through B: %v", round, soDescribe(resp, body, err))
					return
				}
				var list []wire.Asset
				if err := json.Unmarshal(body, &list); err != nil {
					fail("round %d: list through B: %v", round, err)
					return
				}
				for _, as := range list {
					resp, body, err := rbDo(b, "GET", segPath(as.SegmentID, "scope", scope, "filename", as.Name), rbAuthHeaders(pmB), nil)
					if err != nil || resp.StatusCode != 200 || fmt.Sprint(len(body)) != resp.Header.Get("Content-Length") {
						fail("round %d: download of %s through B while A works: %v", round, as.ID, soDescribe(resp, body, err))
						return
					}
					mu.Lock()
					known := uploaded[soHash(body)]
					mu.Unlock()
					if !known {
						fail("round %d: B served bytes that were never uploaded", round)
						return
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		time.Sleep(time.Duration(150+rand.IntN(1200)) * time.Millisecond)
		c.nodes[0].kill()
		kills.Add(1)
		stop.Store(true)
		wg.Wait()
		mu.Lock()
		if len(failures) > 0 {
			mu.Unlock()
			soLogProblems(t, all)
			t.Fatalf("round %d: %v", round, failures)
		}
		mu.Unlock()
		held := verify(fmt.Sprintf("after kill %d", round))
		t.Logf("round %d: %d attaches so far; B serves %d assets", round, attaches.Load(), len(held))
		c.nodes[0] = c.nodes[0].restart(t)
		all = append(all, c.nodes[0])
	}
	if attaches.Load() == 0 {
		t.Fatal("no attach went through before the kills")
	}

	// Once the file tokens have expired and the sweeps ran, the bucket holds exactly one
	// object per content the assets hold, and no unfinished upload.
	var held map[string]bool
	took := soEventually(t, 60*time.Second, "the bucket holds exactly what the metadata references", func() (bool, string) {
		held = verify("after the kills")
		objs := soObjectHashes(t, gw, tn.account)
		counts := map[string]int{}
		for _, h := range objs {
			counts[h]++
		}
		var extra, missing []string
		for h, n := range counts {
			if !held[h] || n > 1 {
				extra = append(extra, fmt.Sprintf("%.12s×%d", h, n))
			}
		}
		for h := range held {
			if counts[h] == 0 {
				missing = append(missing, fmt.Sprintf("%.12s", h))
			}
		}
		if len(missing) > 0 {
			// Never acceptable, and never repaired by waiting.
			t.Fatalf("assets whose bytes are not in the bucket: %v", missing)
		}
		up := soMultipartUploads(t, gw)
		sort.Strings(extra)
		return len(extra) == 0 && len(up) == 0, fmt.Sprintf("%d objects, %d referenced contents; unreferenced or duplicate: %v; multipart uploads: %v",
			len(objs), len(held), extra, up)
	})
	sweeps := soLogCounts(all, "orphan sweep", "orphan_blobs", "unreferenced_blobs", "stale_uploads")
	t.Logf("%d kills, %d attaches; the bucket matched the metadata (%d objects) %v after the last restart; "+
		"orphan sweeps removed %d orphan objects, %d unreferenced blobs, %d stale multipart uploads",
		kills.Load(), attaches.Load(), len(held), took.Round(time.Millisecond),
		sweeps["orphan_blobs"], sweeps["unreferenced_blobs"], sweeps["stale_uploads"])
}
