package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// ccVersion is one content written to the contended address.
type ccVersion struct {
	data         []byte
	sha          string
	etag         string // `"v"` of the attach response; "" until it came back
	lastModified string // the attach response's modifiedDate as an HTTP date
	v            int64
}

// ccVersions is the set of versions written so far, by content hash. A version is
// registered before its attach is sent, so a reader can never see bytes that are not in
// the set yet.
type ccVersions struct {
	mu     sync.RWMutex
	bySHA  map[string]*ccVersion
	bySize map[int][]*ccVersion
}

func (vs *ccVersions) add(v *ccVersion) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	vs.bySHA[v.sha] = v
	vs.bySize[len(v.data)] = append(vs.bySize[len(v.data)], v)
}

func (vs *ccVersions) attached(sha string, a wire.Asset) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v := vs.bySHA[sha]
	v.etag = `"` + rbVersionOf(a) + `"`
	v.v, _ = strconv.ParseInt(rbVersionOf(a), 10, 64)
	if mod, err := time.Parse("2006-01-02T15:04:05.0000000Z", a.ModifiedDate); err == nil {
		v.lastModified = mod.UTC().Format(http.TimeFormat)
	}
}

func (vs *ccVersions) lookup(sha string) *ccVersion {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	return vs.bySHA[sha]
}

// matchRange finds the versions of the given total size whose bytes [first, last] are body.
func (vs *ccVersions) matchRange(total, first, last int, body []byte) []*ccVersion {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	var out []*ccVersion
	for _, v := range vs.bySize[total] {
		if last < len(v.data) && bytes.Equal(v.data[first:last+1], body) {
			out = append(out, v)
		}
	}
	return out
}

// ccObservation is what a reader saw, checked against the attach responses at the end
// (the writer of a version may not have its response yet when a reader sees the bytes).
type ccObservation struct {
	sha          string
	etag         string
	lastModified string
	rangeRead    bool
}

// TestConcurrentOverwritesAndDownloads overwrites one address from 4 writers with random
// versions of different sizes while 8 readers download it, fully and by Range: every
// download must be exactly one version, with that version's length, ETag and
// Last-Modified.
func TestConcurrentOverwritesAndDownloads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		const (
			writers   = 4
			readers   = 8
			duration  = 3 * time.Second
			perWriter = 60 // at most this many versions per writer
			minSize   = 8 << 10
			maxSize   = 384 << 10
		)
		name := "contended.bin"
		scope := fmt.Sprintf("pr%d", projectID)
		downloadPath := fmt.Sprintf("/api/resources/assets/%d?scope=%s&filename=%s", segA1, scope, name)
		vs := &ccVersions{bySHA: map[string]*ccVersion{}, bySize: map[int][]*ccVersion{}}

		write := func(src *rand.ChaCha8) error {
			data := make([]byte, minSize+rand.New(src).IntN(maxSize-minSize))
			src.Read(data)
			v := &ccVersion{data: data, sha: rbSHA256(data)}
			vs.add(v)
			token, err := rbUpload(pm, name, data)
			if err != nil {
				return err
			}
			a, err := rbAttach(pm, scope, segA1, map[string]string{"filetoken": token})
			if err != nil {
				return err
			}
			if a.Size != int64(len(data)) || a.Name != name {
				return fmt.Errorf("attach answered %+v for %d bytes", a, len(data))
			}
			vs.attached(v.sha, a)
			return nil
		}
		// The address exists before the readers start.
		if err := write(ccSource(0)); err != nil {
			t.Fatal(err)
		}

		var (
			writersDone = make(chan struct{})
			errs        = make(chan error, writers+readers)
			obsMu       sync.Mutex
			observed    []ccObservation
			fullReads   atomic.Int64
			rangeReads  atomic.Int64
			versions    atomic.Int64
		)
		versions.Add(1)
		var wwg sync.WaitGroup
		deadline := time.Now().Add(duration)
		for w := range writers {
			wwg.Add(1)
			go func() {
				defer wwg.Done()
				src := ccSource(w + 1)
				for i := 0; i < perWriter && time.Now().Before(deadline); i++ {
					if err := write(src); err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
					versions.Add(1)
				}
			}()
		}
		var rwg sync.WaitGroup
		for r := range readers {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				rng := rand.New(rand.NewPCG(uint64(r)+100, uint64(time.Now().UnixNano())))
				for i := 0; ; i++ {
					select {
					case <-writersDone:
						return
					default:
					}
					var obs ccObservation
					var err error
					if i%2 == 0 {
						obs, err = ccFullRead(c, pm, downloadPath, vs)
						fullReads.Add(1)
					} else {
						obs, err = ccRangeRead(c, pm, downloadPath, vs, rng)
						rangeReads.Add(1)
					}
					if err != nil {
						errs <- fmt.Errorf("reader %d: %w", r, err)
						return
					}
					obsMu.Lock()
					observed = append(observed, obs)
					obsMu.Unlock()
				}
			}()
		}
		wwg.Wait()
		close(writersDone)
		rwg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			return
		}

		// Every version has its own v, and what the readers saw matches the attach
		// response of the version whose bytes they got.
		byETag := map[string]*ccVersion{}
		var latest *ccVersion
		for _, v := range vs.bySHA {
			if v.etag == "" {
				t.Fatalf("version %s has no attach response", v.sha[:12])
			}
			if other, dup := byETag[v.etag]; dup {
				t.Errorf("versions %s and %s share the ETag %s", v.sha[:12], other.sha[:12], v.etag)
			}
			byETag[v.etag] = v
			if latest == nil || v.v > latest.v {
				latest = v
			}
		}
		for _, o := range observed {
			v := vs.bySHA[o.sha]
			if o.etag != v.etag {
				t.Errorf("a download of version %s (range=%t) carried ETag %s; its attach answered %s", o.sha[:12], o.rangeRead, o.etag, v.etag)
			}
			if o.lastModified != v.lastModified {
				t.Errorf("a download of version %s carried Last-Modified %q; its attach answered %q", o.sha[:12], o.lastModified, v.lastModified)
			}
		}
		// The last overwrite (highest v) is what stays.
		final := pm.do("GET", downloadPath, nil).expect(t, 200)
		if !bytes.Equal(final.body, latest.data) || final.Header.Get("ETag") != latest.etag {
			t.Errorf("after the writers the address holds %d bytes with ETag %s; the last version (v %d) has %d bytes",
				len(final.body), final.Header.Get("ETag"), latest.v, len(latest.data))
		}
		var list []wire.Asset
		pm.do("GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", segA1, scope), nil).expect(t, 200).json(t, &list)
		if len(list) != 1 || list[0].Size != int64(len(latest.data)) || rbVersionOf(list[0]) != strconv.FormatInt(latest.v, 10) {
			t.Errorf("list after the overwrites: %+v", list)
		}
		if c.backend.name == "embedded" {
			for _, p := range rbTreeProblems(t, c, pm, nil) {
				t.Errorf("reference-material tree after the overwrites: %s", p)
			}
		}
		t.Logf("%d versions written by %d writers; %d full and %d Range downloads by %d readers, all of exactly one version",
			versions.Load(), writers, fullReads.Load(), rangeReads.Load(), readers)
	})
}

// ccSource is a random source of its own for each goroutine.
func ccSource(i int) *rand.ChaCha8 {
	var seed [32]byte
	copy(seed[:], randomBytes(32))
	seed[0] ^= byte(i)
	return rand.NewChaCha8(seed)
}

func ccFullRead(c *cluster, s *session, path string, vs *ccVersions) (ccObservation, error) {
	resp, body, err := rbDo(c, "GET", path, rbAuthHeaders(s), nil)
	if err != nil {
		return ccObservation{}, err
	}
	if resp.StatusCode != 200 {
		return ccObservation{}, fmt.Errorf("GET: status %d: %s", resp.StatusCode, truncate(body))
	}
	sha := rbSHA256(body)
	v := vs.lookup(sha)
	if v == nil {
		return ccObservation{}, fmt.Errorf("GET returned %d bytes that are no version written (sha %s)", len(body), sha[:12])
	}
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(v.data)) {
		return ccObservation{}, fmt.Errorf("GET of a %d-byte version sent Content-Length %s", len(v.data), cl)
	}
	return ccObservation{sha: sha, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}, nil
}

func ccRangeRead(c *cluster, s *session, path string, vs *ccVersions, rng *rand.Rand) (ccObservation, error) {
	// Every version is at least 8 KiB, so the first byte is always satisfiable; the end
	// may lie past a small version's last byte and is then clamped.
	first := rng.IntN(8 << 10)
	last := first + rng.IntN(200<<10)
	h := rbAuthHeaders(s)
	h.Set("Range", fmt.Sprintf("bytes=%d-%d", first, last))
	resp, body, err := rbDo(c, "GET", path, h, nil)
	if err != nil {
		return ccObservation{}, err
	}
	if resp.StatusCode != 206 {
		return ccObservation{}, fmt.Errorf("Range GET: status %d: %s", resp.StatusCode, truncate(body))
	}
	var gotFirst, gotLast, total int
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &gotFirst, &gotLast, &total); err != nil {
		return ccObservation{}, fmt.Errorf("Content-Range %q: %v", resp.Header.Get("Content-Range"), err)
	}
	if gotFirst != first || gotLast != min(last, total-1) || len(body) != gotLast-gotFirst+1 ||
		resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		return ccObservation{}, fmt.Errorf("Range bytes=%d-%d answered Content-Range %q, Content-Length %s with %d bytes",
			first, last, resp.Header.Get("Content-Range"), resp.Header.Get("Content-Length"), len(body))
	}
	match := vs.matchRange(total, gotFirst, gotLast, body)
	if len(match) != 1 {
		return ccObservation{}, fmt.Errorf("Range bytes=%d-%d of a %d-byte file matches %d versions, want exactly 1",
			first, last, total, len(match))
	}
	return ccObservation{sha: match[0].sha, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified"),
		rangeRead: true}, nil
}

// TestConcurrentAttachesIntoOneSegment attaches many different names into one segment at
// once (some in a locale, some in folders): every attach succeeds and the list ends with
// all of them, each with its own bytes.
func TestConcurrentAttachesIntoOneSegment(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		const n = 24
		scope := fmt.Sprintf("pr%d", projectID)
		type item struct {
			name, locale, rel string
			data              []byte
			token             string
		}
		items := make([]*item, n)
		for i := range items {
			it := &item{name: fmt.Sprintf("shot-%02d.bin", i), data: randomBytes(1000 + 97*i)}
			switch i % 4 {
			case 1:
				it.locale = "de"
			case 2:
				it.rel = "img/" + strconv.Itoa(i%3)
			case 3:
				it.locale, it.rel = "fr", "ui"
			}
			it.token = pm.upload(it.name, it.data)
			items[i] = it
		}
		start := make(chan struct{})
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for _, it := range items {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				body := map[string]string{"filetoken": it.token}
				if it.locale != "" {
					body["locale"] = it.locale
				}
				if it.rel != "" {
					body["relativePath"] = it.rel
				}
				if _, err := rbAttach(pm, scope, segA2, body); err != nil {
					errs <- fmt.Errorf("%s: %w", it.name, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var list []wire.Asset
		pm.do("GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", segA2, scope), nil).expect(t, 200).json(t, &list)
		if len(list) != n {
			t.Fatalf("the segment lists %d assets, want %d", len(list), n)
		}
		ids := map[string]bool{}
		for _, a := range list {
			ids[a.ID] = true
		}
		if len(ids) != n {
			t.Errorf("%d distinct ids among %d assets", len(ids), n)
		}
		for _, it := range items {
			q := fmt.Sprintf("/api/resources/assets/%d?scope=%s&filename=%s", segA2, scope, it.name)
			if it.locale != "" {
				q += "&locale=" + it.locale
			}
			if it.rel != "" {
				q += "&relativePath=" + it.rel
			}
			got := pm.do("GET", q, nil).expect(t, 200)
			if !bytes.Equal(got.body, it.data) {
				t.Errorf("%s: downloaded %d bytes that are not the %d attached", it.name, len(got.body), len(it.data))
			}
			found := false
			for _, a := range list {
				loc := ""
				if a.Locale != nil {
					loc = *a.Locale
				}
				if a.Name == it.name && loc == it.locale && a.RelativePath == strings.ReplaceAll(it.rel, "/", `\`) {
					found = a.Size == int64(len(it.data))
				}
			}
			if !found {
				t.Errorf("%s (locale %q, folder %q) is not listed with its size", it.name, it.locale, it.rel)
			}
		}
		if c.backend.name == "embedded" {
			for _, p := range rbTreeProblems(t, c, pm, nil) {
				t.Errorf("reference-material tree after the attaches: %s", p)
			}
		}
	})
}

// TestConcurrentWritesToOneAddress runs many short bursts of simultaneous overwrites and
// deletes of one address. After each burst the address holds one of the attached contents
// or nothing, and on the embedded backend the reference-material tree says the same as
// the metadata: the tree applies a segment's writes in the order they committed.
func TestConcurrentWritesToOneAddress(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		scope := fmt.Sprintf("pr%d", projectID)
		const bursts, writers = 250, 4
		var tokens []string
		contents := map[string]int{} // sha → size
		for i := range writers {
			data := randomBytes(1000 + 111*i)
			contents[rbSHA256(data)] = len(data)
			tokens = append(tokens, pm.upload("same.bin", data))
		}
		path := fmt.Sprintf("/api/resources/assets/%d?scope=%s&filename=same.bin", segA3, scope)
		problems := 0
		for burst := range bursts {
			start := make(chan struct{})
			errs := make(chan error, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					var err error
					if w == writers-1 && burst%2 == 1 {
						var resp *http.Response
						var body []byte
						if resp, body, err = rbDo(c, "DELETE", path, rbAuthHeaders(pm), nil); err == nil && resp.StatusCode != 200 {
							err = fmt.Errorf("delete: status %d: %s", resp.StatusCode, truncate(body))
						}
					} else {
						_, err = rbAttach(pm, scope, segA3, map[string]string{"filetoken": tokens[(burst+w)%writers]})
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("burst %d: %v", burst, err)
			}
			var list []wire.Asset
			pm.do("GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", segA3, scope), nil).expect(t, 200).json(t, &list)
			switch len(list) {
			case 0:
				pm.do("GET", path, nil).expectError(t, 404, "asset_not_found")
			case 1:
				got := pm.do("GET", path, nil).expect(t, 200)
				if size, ok := contents[rbSHA256(got.body)]; !ok || int64(size) != list[0].Size {
					t.Fatalf("burst %d: the address holds %d bytes that are no attached content (listed size %d)",
						burst, len(got.body), list[0].Size)
				}
			default:
				t.Fatalf("burst %d: one address lists %d assets", burst, len(list))
			}
			if c.backend.name == "embedded" {
				for _, p := range rbTreeProblems(t, c, pm, nil) {
					problems++
					t.Errorf("burst %d: reference-material tree: %s", burst, p)
				}
			}
		}
		t.Logf("%d bursts of %d simultaneous writes to one address; tree mismatches: %d", bursts, writers, problems)
	})
}
