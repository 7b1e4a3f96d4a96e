package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackupRestore takes `refstore backup` of the embedded default while clients add and
// overwrite assets (overwrites make the server delete the old bytes at once, racing the
// copy of the blobs), then checks the backup: fsck finds it clean, and a server started on
// it lists every asset acknowledged before the backup started, each downloading with the
// right SHA-256 (an overwritten one with one of the contents written to it).
func TestBackupRestore(t *testing.T) {
	n := startNode(t, nodeOptions{})
	c := &cluster{backend: backends[0], nodes: []*node{n}}
	tn := newTenant(t, c)
	pm := tn.as("pm")
	scope := fmt.Sprintf("pr%d", projectID)

	type written struct {
		seg      int64
		contents map[string]bool // SHA-256 of every content acknowledged under the name
		at       time.Time       // when the first one was acknowledged
	}
	var mu sync.Mutex
	assets := map[string]*written{} // name → what was written
	note := func(seg int64, name string, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		w := assets[name]
		if w == nil {
			w = &written{seg: seg, contents: map[string]bool{}, at: time.Now()}
			assets[name] = w
		}
		w.contents[rbSHA256(data)] = true
	}
	for i := range 15 {
		name := fmt.Sprintf("pre-%d.bin", i)
		data := randomBytes(1000 + i*20_000)
		pm.put(scope, segA1, name, "", "", data)
		note(segA1, name, data)
	}
	for i := range 3 {
		name := fmt.Sprintf("hot-%d.bin", i)
		data := randomBytes(50_000)
		pm.put(scope, segA3, name, "", "", data)
		note(segA3, name, data)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var acked, failed atomic.Int64
	var errMu sync.Mutex
	var errs []string
	for w := range 3 {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				seg, name := int64(segA2), fmt.Sprintf("live-%d-%d.bin", w, k)
				if k%2 == 1 {
					seg, name = segA3, fmt.Sprintf("hot-%d.bin", k%3)
				}
				data := randomBytes(20_000 + (k%7)*30_000)
				tok, err := rbUpload(pm, name, data)
				if err == nil {
					_, err = rbAttach(pm, scope, seg, map[string]string{"filetoken": tok})
				}
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					errs = append(errs, err.Error())
					errMu.Unlock()
					continue
				}
				note(seg, name, data)
				acked.Add(1)
			}
		})
	}

	time.Sleep(300 * time.Millisecond)
	type taken struct {
		out, res string
		began    time.Time
		during   int64
	}
	var backups []taken
	// Hard-linked blobs (the same filesystem), then copied ones (--copy): a longer copy
	// leaves the server more time to delete bytes the snapshot references.
	for _, extra := range [][]string{nil, {"--copy"}} {
		out := filepath.Join(t.TempDir(), "backup")
		began := time.Now()
		ackedBefore := acked.Load()
		res, err := exec.Command(binPath, append(append([]string{"backup", "--data", n.opts.Data}, extra...), out)...).CombinedOutput()
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("refstore backup %v while the server takes writes: %v\n%s", extra, err, res)
		}
		backups = append(backups, taken{out, strings.TrimSpace(string(res)), began, acked.Load() - ackedBefore})
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	for _, e := range errs {
		t.Errorf("traffic: %s", e)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range backups {
		checkBackup(t, b.out, tn.account, scope, b.began, func(name string) (int64, map[string]bool, time.Time, bool) {
			w := assets[name]
			if w == nil {
				return 0, nil, time.Time{}, false
			}
			return w.seg, w.contents, w.at, true
		}, func(yield func(string) bool) {
			for name := range assets {
				if !yield(name) {
					return
				}
			}
		}, b.res, b.during)
	}
}

// checkBackup checks a backup: fsck finds it clean, and a server started on it serves
// every asset acknowledged before the backup began with a content written under its name.
func checkBackup(t *testing.T, out, account, scope string, began time.Time,
	lookup func(name string) (seg int64, contents map[string]bool, at time.Time, ok bool), names func(func(string) bool),
	res string, during int64) {
	t.Helper()
	if during == 0 {
		t.Errorf("no write was acknowledged while the backup ran: the test proves nothing")
	}
	if r := runFsck(t, nodeOptions{Data: out}); r.code != 0 || !strings.Contains(r.sum, "; clean;") {
		t.Fatalf("fsck of the backup: status %d\n%s", r.code, r.out)
	}
	rn := startNode(t, nodeOptions{Data: out})
	rc := &cluster{backend: backends[0], nodes: []*node{rn}}
	rpm := (&tenant{t: t, c: rc, account: account}).as("pm")
	checked := 0
	for name := range names {
		seg, contents, at, _ := lookup(name)
		if !at.Before(began) {
			continue
		}
		got := rpm.do("GET", segPath(seg, "scope", scope, "filename", name), nil)
		if got.StatusCode != 200 {
			t.Errorf("restored: %s (acknowledged before the backup started): status %d", name, got.StatusCode)
			continue
		}
		if !contents[rbSHA256(got.body)] {
			t.Errorf("restored: %s downloads %d bytes whose SHA-256 was never written under that name", name, len(got.body))
		}
		checked++
	}
	// Nothing the backup holds is foreign either.
	later := 0
	for _, seg := range []int64{segA1, segA2, segA3} {
		for _, a := range rpm.listAssets(scope, seg) {
			if s, _, at, ok := lookup(a.Name); !ok || s != seg {
				t.Errorf("restored: %s in segment %d was never written there", a.Name, seg)
			} else if !at.Before(began) {
				later++
			}
		}
	}
	rn.stop()
	t.Logf("%s; writes acknowledged while it ran: %d (3 clients); restored: %d assets acknowledged before it started, all there "+
		"with their SHA-256; %d first acknowledged later also in it; fsck of the backup clean", res, during, checked, later)
}
