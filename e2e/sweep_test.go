package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// TestSweepExpiredFileTokens runs a cluster whose file tokens live 2 s and whose sweeper
// runs every 300 ms. An upload never attached is refused once its token expired (attach
// and media get: 404 file_token_invalid) and, on the embedded backend, its blob file goes;
// an upload that was attached keeps its bytes after its token expired (and after a second
// upload of the same bytes, stored as the same blob, expired too).
func TestSweepExpiredFileTokens(t *testing.T) {
	const ttl = 2 * time.Second
	forEachBackendWith(t, []string{"--file-token-ttl", ttl.String(), "--sweep-interval", "300ms"}, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		scope := fmt.Sprintf("pr%d", projectID)
		lonely, kept := randomBytes(70_001), randomBytes(50_003)
		lonelyToken := pm.upload("lonely.bin", lonely)
		keptToken := pm.upload("kept.bin", kept)
		// The same bytes again, under another name and token: stored once.
		twinToken := pm.upload("twin.bin", kept)
		uploaded := time.Now()
		pm.attach(scope, segA1, map[string]string{"filetoken": keptToken}).expect(t, 200)

		// Before expiry: both tokens work, and both contents have a blob.
		got := pm.do("GET", "/api/media/get/"+lonelyToken, nil).expect(t, 200)
		if !bytes.Equal(got.body, lonely) {
			t.Fatalf("media get returned %d bytes that are not the upload's", len(got.body))
		}
		embedded := c.backend.name == "embedded"
		var data string
		if embedded {
			data = c.nodes[0].opts.Data
			blobs := rbBlobHashes(t, data, pm.account)
			if len(blobs[rbSHA256(lonely)]) != 1 || len(blobs[rbSHA256(kept)]) != 1 {
				t.Fatalf("before expiry, want one blob file per upload; have %v", blobs)
			}
		}

		// Only sleeping lets the tokens expire.
		time.Sleep(time.Until(uploaded.Add(ttl + 500*time.Millisecond)))

		pm.attach(scope, segA2, map[string]string{"filetoken": lonelyToken}).expectError(t, 404, "file_token_invalid")
		pm.do("GET", "/api/media/get/"+lonelyToken, nil).expectError(t, 404, "file_token_invalid")
		pm.attach(scope, segA2, map[string]string{"filetoken": keptToken}).expectError(t, 404, "file_token_invalid")
		pm.do("GET", "/api/media/get/"+keptToken, nil).expectError(t, 404, "file_token_invalid")
		pm.do("GET", "/api/media/get/"+twinToken, nil).expectError(t, 404, "file_token_invalid")

		if embedded {
			// One sweep, driven and awaited: the bytes nothing references any more go.
			crSweep(t, c)
			blobs := rbBlobHashes(t, data, pm.account)
			if paths := blobs[rbSHA256(lonely)]; len(paths) != 0 {
				t.Errorf("the blob of the expired, never attached upload is still there: %v", paths)
			}
			if paths := blobs[rbSHA256(kept)]; len(paths) != 1 {
				t.Errorf("the attached upload's blob: %v, want exactly one file", paths)
			}
			if len(blobs) != 1 {
				t.Errorf("blob files left: %v, want only the attached content's", blobs)
			}
		}

		// The attached bytes outlive their token.
		got = pm.do("GET", fmt.Sprintf("/api/resources/assets/%d?scope=%s&filename=kept.bin", segA1, scope), nil).expect(t, 200)
		if !bytes.Equal(got.body, kept) {
			t.Fatalf("download after the token expired: %d bytes that are not the attached ones", len(got.body))
		}
		var list []wire.Asset
		pm.do("GET", fmt.Sprintf("/api/resources/assets/list?scope=%s&segmentIds=%d,%d", scope, segA1, segA2), nil).
			expect(t, 200).json(t, &list)
		if len(list) != 1 || list[0].Name != "kept.bin" || list[0].Size != int64(len(kept)) {
			t.Errorf("list after expiry: %+v", list)
		}
	})
}

// TestSweepUnderTraffic runs the sweepers fast (file tokens live 2 s, sweeps every 100 ms,
// the orphan sweep every 500 ms) on every node of every backend while clients upload,
// attach, overwrite, delete and download. Requests never fail, every live asset downloads
// with its bytes throughout and at the end, and once the traffic stops the expired file
// tokens and the bytes nothing references are gone: fsck (next to the running nodes) finds
// no expired token and no unreferenced blob, and on the data directory backends the blob
// files are exactly the live assets' contents. No node logs a failed sweep. On
// postgres-files and postgres-s3 both nodes sweep the same stores at once.
func TestSweepUnderTraffic(t *testing.T) {
	const ttl = 2 * time.Second
	args := []string{"--file-token-ttl", ttl.String(), "--sweep-interval", "100ms", "--orphan-sweep-interval", "500ms",
		"--orphan-grace", "3s", "--delete-grace", "500ms"}
	forEachBackendWith(t, args, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		scope := fmt.Sprintf("pr%d", projectID)
		segs := []int64{segA1, segA2, segA3, segB1}
		var ops, lonely, failures atomic.Int64
		var mu sync.Mutex
		live := map[string][]byte{} // "seg|name" → bytes
		var errs []string
		fail := func(format string, a ...any) {
			failures.Add(1)
			mu.Lock()
			if len(errs) < 20 {
				errs = append(errs, fmt.Sprintf(format, a...))
			}
			mu.Unlock()
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w, seg := range segs {
			wg.Go(func() {
				mine := map[string][]byte{}
				for k := 0; ; k++ {
					select {
					case <-stop:
						mu.Lock()
						for name, b := range mine {
							live[fmt.Sprintf("%d|%s", seg, name)] = b
						}
						mu.Unlock()
						return
					default:
					}
					ops.Add(1)
					switch {
					case k%5 == 4:
						// An upload never attached: its token expires and the sweeper takes it.
						if _, err := rbUpload(pm, "lonely.bin", randomBytes(30_000+k)); err != nil {
							fail("worker %d: %v", w, err)
						}
						lonely.Add(1)
					case k%7 == 6 && len(mine) > 0:
						name := slices.Sorted(maps.Keys(mine))[0]
						resp, b, err := rbDo(c, "DELETE", segPath(seg, "scope", scope, "filename", name), rbAuthHeaders(pm), nil)
						if err != nil || resp.StatusCode != 200 {
							fail("worker %d: delete %s: %v %s", w, name, err, truncate(b))
						}
						delete(mine, name)
					default:
						// A new name or an overwrite of one of four.
						name := fmt.Sprintf("w%d-%d.bin", w, k%4)
						data := randomBytes(10_000 + (k%9)*7_000)
						tok, err := rbUpload(pm, name, data)
						if err == nil {
							_, err = rbAttach(pm, scope, seg, map[string]string{"filetoken": tok})
						}
						if err != nil {
							fail("worker %d: %v", w, err)
							continue
						}
						mine[name] = data
					}
					// Every live asset of the worker downloads whole, on whichever node.
					for name, want := range mine {
						resp, b, err := rbDo(c, "GET", segPath(seg, "scope", scope, "filename", name), rbAuthHeaders(pm), nil)
						if err != nil || resp.StatusCode != 200 || !bytes.Equal(b, want) {
							fail("worker %d: download of live %s: %v, %d bytes", w, name, err, len(b))
						}
					}
				}
			})
		}
		time.Sleep(6 * time.Second)
		close(stop)
		wg.Wait()
		stopped := time.Now()
		for _, e := range errs {
			t.Error(e)
		}

		// Once every token expired and one sweep ran on every node (driven and awaited):
		// nothing expired, nothing unreferenced is left.
		time.Sleep(ttl + 500*time.Millisecond)
		crSweep(t, c)
		opts := c.nodes[0].opts
		r := runFsck(t, opts, "--orphan-grace", "1h")
		if r.code != 0 || !strings.Contains(r.sum, " 0 unreferenced blobs, 0 just-expired file tokens") ||
			!strings.Contains(r.sum, " 0 upload references") {
			t.Errorf("fsck %v after the traffic stopped and the tokens expired: want clean, no upload, nothing unreferenced\n%s",
				time.Since(stopped).Round(time.Millisecond), r.out)
		}
		wantHashes := map[string]bool{}
		for _, b := range live {
			wantHashes[rbSHA256(b)] = true
		}
		if c.backend.name != "postgres-s3" {
			blobs := rbBlobHashes(t, opts.Data, tn.account)
			for h := range blobs {
				if !wantHashes[h] {
					t.Errorf("a blob file no live asset holds is left: %v", blobs[h])
				}
			}
			for h := range wantHashes {
				if len(blobs[h]) != 1 {
					t.Errorf("live content %s: %d blob files, want 1", h[:12], len(blobs[h]))
				}
			}
		}
		// Every live asset downloads whole from every node.
		for _, n := range c.nodes {
			for key, want := range live {
				seg, name, _ := strings.Cut(key, "|")
				got := doURL(t, "GET", n.url+"/api/resources/assets/"+seg+"?scope="+scope+"&filename="+name, pm.headers(), nil)
				if got.StatusCode != 200 || !bytes.Equal(got.body, want) {
					t.Errorf("node %s: live %s: status %d, %d bytes", n.url, key, got.StatusCode, len(got.body))
				}
			}
			for _, line := range strings.Split(n.logs(), "\n") {
				var rec struct{ Level, Msg string }
				if json.Unmarshal([]byte(line), &rec) == nil && (rec.Level == "WARN" || rec.Level == "ERROR") &&
					(strings.Contains(rec.Msg, "sweep") || strings.Contains(rec.Msg, "collect") || strings.Contains(rec.Msg, "deleting")) {
					t.Errorf("node %s logged: %s", n.url, line)
				}
			}
		}
		t.Logf("%s, %d nodes sweeping: %d requests in 6 s (%d uploads never attached), %d failures; %d live assets; "+
			"after the tokens expired: %s", c.backend.name, len(c.nodes), ops.Load(), lonely.Load(), failures.Load(), len(live), r.sum)
	})
}
