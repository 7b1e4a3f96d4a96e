package e2e

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// The crash test's own document: eight segments of project 7214, two per worker.
const (
	crDoc     = 19650
	crSeg0    = 27680001
	crWorkers = 4
	crSegsPer = 2
	crKills   = 8
	// File tokens expire quickly, so that at the end every upload has expired and the
	// blobs must be exactly the listed contents: an orphan left by an upload in flight at
	// a kill cannot hide behind "an upload that may still be live".
	crTokenTTL = 8 * time.Second
	// crFresh is the age (by the client's clock, which starts after the server's) below
	// which a file token is surely still live.
	crFresh = 3 * time.Second
)

// crAddrs are the addresses the workers write in each of their segments.
var crAddrs = []struct{ locale, rel, name string }{
	{"", "", "a.bin"},
	{"en", "", "b.png"},
	{"", "img/ui", "c.bin"},
	{"de", "docs", "d.pdf"},
	{"", "", "e.txt"},
}

func crKey(locale, rel, name string) string { return locale + "|" + rel + "|" + name }

// crSegState is a segment's assets: address key → content hash.
type crSegState map[string]string

// crPending is a write whose response never came: it may or may not have happened.
type crPending struct {
	seg     int64
	after   crSegState
	what    string
	started time.Time
}

type crToken struct {
	token string
	name  string // the uploaded name, which an attach gives the asset
	sha   string
	size  int64
	at    time.Time // when the upload was answered
}

func (t crToken) fresh() bool { return time.Since(t.at) < crFresh }

// crWorker owns its segments, so that its writes to them are ordered: the only
// uncertainty after a kill is its one write in flight.
type crWorker struct {
	id      int
	segs    []int64
	state   map[int64]crSegState
	pending *crPending
	tokens  []crToken // uploads that returned 200 (file tokens live for 24 h)
	src     *rand.ChaCha8
	rng     *rand.Rand
	ops     int
	acked   map[string]int // requests answered 200, by kind (see crPending.what)
}

// ack counts a request answered 200.
func (w *crWorker) ack(kind string) {
	w.ops++
	if w.acked == nil {
		w.acked = map[string]int{}
	}
	w.acked[kind]++
}

// crRun is the state shared by the workers.
type crRun struct {
	t       *testing.T
	c       *cluster
	pm      *session
	account string
	segs    []int64 // every worker's segments
	killed  atomic.Bool

	mu       sync.Mutex
	uploaded map[string]int64 // every content sent in an upload, landed or not: sha → size
	listed   map[string]bool  // the contents the last verify found listed
	shared   [][]byte         // contents every worker uploads now and then (de-duplicated blobs)

	errMu sync.Mutex
	errs  []string
}

func (r *crRun) noteUpload(data []byte) string {
	sha := rbSHA256(data)
	r.mu.Lock()
	r.uploaded[sha] = int64(len(data))
	r.mu.Unlock()
	return sha
}

func (r *crRun) fail(format string, args ...any) {
	r.errMu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.errMu.Unlock()
}

// newCrRun makes a tenant on c with a document of workers×segsPer segments, and the
// workers that write them (worker i draws from seed+i).
func newCrRun(t *testing.T, c *cluster, workers, segsPer, seed int) (*crRun, []*crWorker) {
	tn := newTenant(t, c)
	segs := make([]int64, workers*segsPer)
	for i := range segs {
		segs[i] = crSeg0 + int64(i)
	}
	rbUpsert(t, c, map[string]any{"accounts": []map[string]any{{"id": tn.account,
		"projects": []map[string]any{{"id": projectID, "documents": []map[string]any{{"id": crDoc, "segments": segs}}}}}}})
	r := &crRun{t: t, c: c, pm: tn.as("pm"), account: tn.account, segs: segs, uploaded: map[string]int64{}}
	for i := range 6 {
		r.shared = append(r.shared, randomBytes(2000+i*50000))
	}
	ws := make([]*crWorker, workers)
	for i := range ws {
		w := &crWorker{id: i, state: map[int64]crSegState{}, src: ccSource(seed + i)}
		w.rng = rand.New(w.src)
		for j := range segsPer {
			seg := segs[i*segsPer+j]
			w.segs = append(w.segs, seg)
			w.state[seg] = crSegState{}
		}
		ws[i] = w
	}
	return r, ws
}

// TestCrashRecovery runs mixed writes from several goroutines against one embedded
// server, SIGKILLs it at random instants, restarts it on the same data directory each time
// and checks: (a) every listed asset downloads completely, with its size, as bytes some
// client uploaded; (b) every write answered 200 before the kill is there, unless a later
// write of the same worker may have replaced it, and the one write in flight either
// happened or did not; (c) the data directory holds nothing else: the reference-material
// tree is exactly the listed assets at their SPEC paths, each blob is one distinct content
// that is listed or was uploaded, and tmp/ is empty. Completed uploads keep their tokens.
func TestCrashRecovery(t *testing.T) {
	data := t.TempDir()
	n := startNode(t, nodeOptions{Data: data, Args: []string{
		"--file-token-ttl", crTokenTTL.String(), "--sweep-interval", "250ms"}})
	c := &cluster{backend: backend{name: "embedded", nodes: 1}, nodes: []*node{n}}
	r, workers := newCrRun(t, c, crWorkers, crSegsPer, 1000)

	rng := rand.New(ccSource(7))
	start := time.Now()
	var inFlight []int
	var lastKill time.Time
	totals := crTotals{}
	for round := range crKills {
		r.killed.Store(false)
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.run(r) }()
		}
		delay := time.Duration(50+rng.IntN(551)) * time.Millisecond
		time.Sleep(delay)
		killAt := time.Now()
		lastKill = killAt
		n.kill()
		r.killed.Store(true)
		wg.Wait()
		pending := 0
		var kinds []string
		for _, w := range workers {
			if w.pending != nil && w.pending.started.Before(killAt) {
				pending++
				kinds = append(kinds, w.pending.what)
			}
		}
		inFlight = append(inFlight, pending)
		r.errMu.Lock()
		for _, e := range r.errs {
			t.Errorf("round %d: %s", round, e)
		}
		r.errs = nil
		r.errMu.Unlock()

		n = n.restart(t)
		c.nodes[0] = n
		for !n.ready() {
			time.Sleep(20 * time.Millisecond)
		}
		got := r.verify(data, workers)
		totals.add(got)
		t.Logf("kill %d after %v: %d requests in flight %v (writes landed %d, lost %d); %d assets, %d tree files, %d blobs, %d tokens checked; %d inconsistencies",
			round+1, delay, pending, kinds, got.landed, got.lost, got.assets, got.files, got.blobs, got.tokens, got.inconsistencies)
	}
	// Every upload was answered or cut off by the last kill, so all have expired a token
	// lifetime after it. Then one sweep must leave exactly the listed contents.
	time.Sleep(time.Until(lastKill.Add(crTokenTTL)))
	crSweep(t, c)
	blobs := rbBlobHashes(t, data, r.account)
	for sha, paths := range blobs {
		if !r.listed[sha] || len(paths) != 1 {
			totals.inconsistencies++
			t.Errorf("after every upload expired, blob %v (listed: %t) remains", paths, r.listed[sha])
		}
	}
	for sha := range r.listed {
		if len(blobs[sha]) == 0 {
			totals.inconsistencies++
			t.Errorf("after every upload expired, the listed content %s has no blob", sha[:12])
		}
	}
	var anyToken string
	for _, w := range workers {
		for _, tok := range w.tokens {
			anyToken = tok.token
		}
	}
	if anyToken != "" {
		r.pm.do("GET", "/api/media/get/"+anyToken, nil).expectError(t, 404, "file_token_invalid")
	}
	t.Logf("after every file token expired: %d blob files for %d listed contents", len(blobs), len(r.listed))

	ops := 0
	for _, w := range workers {
		ops += w.ops
	}
	t.Logf("crash test: %d kills, requests in flight at each kill %v (attach/delete in flight: %d landed, %d did not), "+
		"%d writes answered, %d assets downloaded, %d tree files and %d blob files checked, %d file tokens re-checked, "+
		"inconsistencies: %d (took %v)",
		crKills, inFlight, totals.landed, totals.lost, ops, totals.assets, totals.files, totals.blobs, totals.tokens,
		totals.inconsistencies, time.Since(start).Round(time.Millisecond))
	if totals.inconsistencies != 0 {
		t.Errorf("%d inconsistencies", totals.inconsistencies)
	}
}

// crSweep has every node run one sweep and waits until it is complete: whatever lost its
// last reference (expired file tokens included) is collected by then, without waiting for
// the periodic sweeper (POST /admin/v1/sweep, docs/api.md).
func crSweep(t *testing.T, c *cluster) {
	t.Helper()
	for _, n := range c.nodes {
		resp := doURL(t, "POST", n.url+"/admin/v1/sweep", http.Header{"Authorization": {"Bearer " + adminToken}}, nil)
		resp.expect(t, 200)
		t.Logf("sweep of %s: %s", n.url, strings.TrimSpace(string(resp.body)))
	}
}

func crSameContents(blobs map[string][]string, listed map[string]bool) bool {
	if len(blobs) != len(listed) {
		return false
	}
	for sha, paths := range blobs {
		if !listed[sha] || len(paths) != 1 {
			return false
		}
	}
	return true
}

type crTotals struct {
	assets, files, blobs, tokens, inconsistencies int
	landed, lost                                  int // in-flight writes that did or did not happen
	// landedBy and lostBy split landed and lost by kind of write.
	landedBy, lostBy map[string]int
}

func (t *crTotals) add(o crTotals) {
	t.assets += o.assets
	t.files += o.files
	t.blobs += o.blobs
	t.tokens += o.tokens
	t.inconsistencies += o.inconsistencies
	t.landed += o.landed
	t.lost += o.lost
	t.landedBy = crAddCounts(t.landedBy, o.landedBy)
	t.lostBy = crAddCounts(t.lostBy, o.lostBy)
}

func crAddCounts(m, o map[string]int) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	for k, v := range o {
		m[k] += v
	}
	return m
}

// run writes until the server dies. The first failed request is the worker's last: it
// stays pending, to be resolved by what the restarted server shows.
func (w *crWorker) run(r *crRun) {
	for !r.killed.Load() {
		if !w.step(r) {
			return
		}
	}
}

func (w *crWorker) size() int {
	switch p := w.rng.IntN(10); {
	case p < 6:
		return 1 + w.rng.IntN(64<<10)
	case p < 9:
		return 64<<10 + w.rng.IntN(960<<10)
	default:
		return 1<<20 + w.rng.IntN(3<<20)
	}
}

// step does one random operation; false when a request failed.
func (w *crWorker) step(r *crRun) bool {
	seg := w.segs[w.rng.IntN(len(w.segs))]
	a := crAddrs[w.rng.IntN(len(crAddrs))]
	key := crKey(a.locale, a.rel, a.name)
	scope := fmt.Sprintf("pr%d", projectID)
	h := rbAuthHeaders(r.pm)
	started := time.Now()
	uncertain := func(after crSegState, what string) {
		w.pending = &crPending{seg: seg, after: after, what: what, started: started}
	}
	upload := func(data []byte) (crToken, bool) {
		sha := r.noteUpload(data)
		token, err := rbUpload(r.pm, a.name, data)
		if err != nil {
			if !r.isDown(err) {
				r.fail("worker %d: %v", w.id, err)
			}
			// An upload changes no address: nothing to resolve.
			w.pending = &crPending{seg: 0, what: "upload", started: started}
			return crToken{}, false
		}
		w.ack("upload")
		t := crToken{token: token, name: a.name, sha: sha, size: int64(len(data)), at: time.Now()}
		w.tokens = append(w.tokens, t)
		return t, true
	}
	attach := func(tok crToken) bool {
		after := maps.Clone(w.state[seg])
		what := "attach"
		if _, taken := after[crKey(a.locale, a.rel, tok.name)]; taken {
			what = "overwrite"
		}
		after[crKey(a.locale, a.rel, tok.name)] = tok.sha
		uncertain(after, what)
		body := map[string]string{"filetoken": tok.token, "locale": a.locale, "relativePath": a.rel}
		asset, err := rbAttach(r.pm, scope, seg, body)
		if err != nil {
			if !r.isDown(err) {
				r.fail("worker %d: %v", w.id, err)
			}
			return false
		}
		if asset.Size != tok.size || asset.Name != tok.name {
			r.fail("worker %d: attach answered %+v for a %d-byte upload", w.id, asset, tok.size)
		}
		w.ack(what)
		w.state[seg], w.pending = after, nil
		return true
	}
	del := func(all bool) bool {
		after := maps.Clone(w.state[seg])
		q := url.Values{"scope": {scope}}
		want := len(after)
		if all {
			clear(after)
		} else {
			if _, ok := after[key]; ok {
				want = 1
			} else {
				want = 0
			}
			delete(after, key)
			q.Set("filename", a.name)
			if a.locale != "" {
				q.Set("locale", a.locale)
			}
			if a.rel != "" {
				q.Set("relativePath", a.rel)
			}
		}
		uncertain(after, map[bool]string{true: "delete all", false: "delete"}[all])
		resp, body, err := rbDo(r.c, "DELETE", fmt.Sprintf("/api/resources/assets/%d?%s", seg, q.Encode()), h, nil)
		if err != nil {
			if !r.isDown(err) {
				r.fail("worker %d: %v", w.id, err)
			}
			return false
		}
		if resp.StatusCode != 200 {
			r.fail("worker %d: delete: status %d: %s", w.id, resp.StatusCode, truncate(body))
			w.pending = nil
			return false
		}
		if got := resp.Header.Get("X-Deleted-Count"); got != strconv.Itoa(want) {
			r.fail("worker %d: %s of segment %d deleted %s assets, the model says %d", w.id, w.pending.what, seg, got, want)
		}
		w.ack(w.pending.what)
		w.state[seg], w.pending = after, nil
		return true
	}

	switch p := w.rng.IntN(100); {
	case p < 40: // a new content, attached (an overwrite when the address is taken)
		data := make([]byte, w.size())
		w.src.Read(data)
		tok, ok := upload(data)
		return ok && attach(tok)
	case p < 52: // a content other workers upload too: one blob for all
		tok, ok := upload(r.shared[w.rng.IntN(len(r.shared))])
		return ok && attach(tok)
	case p < 66: // an earlier file token attached again, elsewhere
		var fresh []crToken
		for _, tok := range w.tokens {
			if tok.fresh() {
				fresh = append(fresh, tok)
			}
		}
		if len(fresh) == 0 {
			return true
		}
		return attach(fresh[w.rng.IntN(len(fresh))])
	case p < 84:
		return del(false)
	case p < 90:
		return del(true)
	default: // an upload never attached
		data := make([]byte, w.size())
		w.src.Read(data)
		_, ok := upload(data)
		return ok
	}
}

// isDown reports whether err is the transport failing, which only the kill causes here,
// as opposed to an answer with a wrong status.
func (r *crRun) isDown(err error) bool {
	var st *rbStatusError
	return !errors.As(err, &st)
}

// verify checks the restarted server against the workers' models and the data directory,
// and resolves each pending write to what the server shows. An empty data skips the checks
// of the data directory (for backends that keep no files of their own).
func (r *crRun) verify(data string, workers []*crWorker) crTotals {
	account, segs := r.account, r.segs
	t := r.t
	tot := crTotals{landedBy: map[string]int{}, lostBy: map[string]int{}}
	bad := func(format string, args ...any) {
		tot.inconsistencies++
		t.Errorf(format, args...)
	}
	// (a) every listed asset downloads completely, as bytes a client uploaded.
	ids := make([]string, len(segs))
	for i, s := range segs {
		ids[i] = strconv.FormatInt(s, 10)
	}
	var list []wire.Asset
	r.pm.do("GET", fmt.Sprintf("/api/resources/assets/list?scope=pr%d&segmentIds=%s", projectID, strings.Join(ids, ",")), nil).
		expect(t, 200).json(t, &list)
	observed := map[int64]crSegState{}
	for _, s := range segs {
		observed[s] = crSegState{}
	}
	listedSHA := map[string]bool{}
	treeWant := map[string]string{} // path below the account → content hash
	for _, a := range list {
		locale := ""
		if a.Locale != nil {
			locale = *a.Locale
		}
		rel := strings.ReplaceAll(a.RelativePath, `\`, "/")
		q := url.Values{"scope": {fmt.Sprintf("pr%d", projectID)}, "filename": {a.Name}}
		if locale != "" {
			q.Set("locale", locale)
		}
		if rel != "" {
			q.Set("relativePath", rel)
		}
		resp := r.pm.do("GET", fmt.Sprintf("/api/resources/assets/%d?%s", a.SegmentID, q.Encode()), nil)
		tot.assets++
		if resp.StatusCode != 200 {
			bad("listed asset %d/%s/%s/%s does not download: %d %s", a.SegmentID, locale, rel, a.Name, resp.StatusCode, truncate(resp.body))
			continue
		}
		sha := rbSHA256(resp.body)
		r.mu.Lock()
		size, uploaded := r.uploaded[sha]
		r.mu.Unlock()
		switch {
		case int64(len(resp.body)) != a.Size:
			bad("listed asset %d/%s: %d bytes downloaded, size %d listed", a.SegmentID, a.Name, len(resp.body), a.Size)
		case !uploaded || size != a.Size:
			bad("listed asset %d/%s: its %d bytes are no content a client uploaded", a.SegmentID, a.Name, len(resp.body))
		}
		observed[a.SegmentID][crKey(locale, rel, a.Name)] = sha
		listedSHA[sha] = true
		p := path.Join("projects", strconv.Itoa(projectID), "assets", strconv.Itoa(crDoc),
			strconv.FormatInt(a.SegmentID%1000, 10), strconv.FormatInt(a.SegmentID, 10))
		if locale != "" {
			p = path.Join(p, locale)
		}
		treeWant[path.Join(p, rel, a.Name)] = sha
	}
	// (b) what was acknowledged is there; the write in flight happened or did not.
	for _, w := range workers {
		for _, seg := range w.segs {
			got, want := observed[seg], w.state[seg]
			inFlight := w.pending != nil && w.pending.seg == seg
			switch {
			case inFlight && maps.Equal(want, w.pending.after):
				// The write would change nothing: either way is the same.
			case maps.Equal(got, want):
				if inFlight {
					tot.lost++
					tot.lostBy[w.pending.what]++
				}
			case inFlight && maps.Equal(got, w.pending.after):
				tot.landed++
				tot.landedBy[w.pending.what]++
			default:
				alt := "no write in flight"
				if w.pending != nil && w.pending.seg == seg {
					alt = fmt.Sprintf("or, had the %s in flight landed, %v", w.pending.what, w.pending.after)
				}
				bad("segment %d after the restart holds %v; acknowledged writes left %v %s", seg, got, want, alt)
			}
			w.state[seg] = got
		}
		w.pending = nil
		// Uploads answered 200 keep their tokens across the crash (until they expire).
		for _, tok := range w.tokens {
			if !tok.fresh() {
				continue
			}
			resp := r.pm.do("HEAD", "/api/media/get/"+tok.token, nil)
			tot.tokens++
			if resp.StatusCode != 200 || resp.Header.Get("Content-Length") != strconv.FormatInt(tok.size, 10) {
				bad("file token of a %d-byte upload: HEAD media/get answered %d, Content-Length %s",
					tok.size, resp.StatusCode, resp.Header.Get("Content-Length"))
			}
		}
	}
	r.listed = listedSHA
	if data == "" {
		return tot
	}
	// (c) the data directory holds exactly that.
	accounts, err := os.ReadDir(filepath.Join(data, "accounts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range accounts {
		if e.Name() != account {
			bad("unexpected account folder %s", e.Name())
		}
	}
	treeRoot := filepath.Join(data, "accounts", account)
	files, odd, err := rbRegularFiles(filepath.Join(treeRoot, "projects"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range odd {
		bad("the reference-material tree holds a non-regular file %s", o)
	}
	seen := map[string]bool{}
	for _, f := range files {
		p := "projects/" + f
		tot.files++
		want, ok := treeWant[p]
		if !ok {
			bad("%s is on disk but no listed asset lives there", p)
			continue
		}
		seen[p] = true
		got, _, err := rbFileSHA256(filepath.Join(treeRoot, filepath.FromSlash(p)))
		if err != nil || got != want {
			bad("%s holds other bytes than its asset (%v)", p, err)
		}
	}
	for p := range treeWant {
		if !seen[p] {
			bad("listed asset %s has no file in the reference-material tree", p)
		}
	}
	blobs := rbBlobHashes(t, data, account)
	for sha, paths := range blobs {
		tot.blobs += len(paths)
		r.mu.Lock()
		_, uploaded := r.uploaded[sha]
		r.mu.Unlock()
		switch {
		case len(paths) > 1:
			bad("one content is stored %d times: %v", len(paths), paths)
		case !listedSHA[sha] && !uploaded:
			bad("blob %v holds bytes that are neither a listed asset nor an upload", paths)
		}
	}
	for sha := range listedSHA {
		if _, ok := blobs[sha]; !ok {
			bad("a listed content (%s) has no blob file", sha[:12])
		}
	}
	tmp, err := os.ReadDir(filepath.Join(data, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tmp) > 0 {
		names := []string{}
		for _, e := range tmp {
			names = append(names, e.Name())
		}
		bad("tmp/ is not empty after the restart: %v", names)
	}
	return tot
}
