package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// The soak's own document: two segments per client and two of hot assets every client
// reads, in project 7214 of its own tenant.
const (
	skDoc     = 19660
	skSeg0    = 27690001
	skHotSeg  = 27699001 // small hot assets
	skHotSeg2 = 27699002 // large hot assets
	skSegsPer = 2
	skUser0   = 100 // the clients' user ids start here
)

// skKinds are the kinds of request, in the order the figures print them.
var skKinds = []string{"login", "logout", "upload", "attach", "overwrite", "delete", "delete all", "list", "list many",
	"download small", "download small (Range)", "download large", "download large (Range)",
	"download (If-None-Match)", "HEAD"}

// skAddrs are the addresses the clients write in each of their segments.
var skAddrs = []struct{ locale, rel, name string }{
	{"", "", "shot.png"},
	{"en", "", "frame.bin"},
	{"", "ui/dialogs", "mock.bin"},
	{"fr-CA", "docs", "spec.pdf"},
	{"", "", "notes.txt"},
}

// skAsset is what the model says an address holds: bytes generated from seed.
type skAsset struct {
	locale, rel, name string
	seed              uint64
	size              int
	sha               string
}

func (a *skAsset) key() string { return a.locale + "|" + a.rel + "|" + a.name }

// skContent generates the bytes of a seed.
func skContent(seed uint64, size int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	copy(s[8:], "refstore-soak")
	b := make([]byte, size)
	rand.NewChaCha8(s).Read(b)
	return b
}

// skShared are the seeds and sizes of contents several clients upload (de-duplicated blobs
// that many assets share, deleted and re-uploaded all the time).
var skShared = func() [][2]int {
	var out [][2]int
	for i := range 12 {
		out = append(out, [2]int{1 << 40 * (i + 1), 3000 + i*40000})
	}
	return out
}()

// skHot is an asset every client downloads; it never changes.
type skHot struct {
	seg   int64
	name  string
	data  []byte
	sha   string
	etag  string
	large bool
}

// skKindStats is what one client saw of one kind of request.
type skKindStats struct {
	statuses map[int]int
	lat      []time.Duration
}

// skStats collects what the clients saw.
type skStats struct {
	mu       sync.Mutex
	kinds    map[string]*skKindStats
	errors   []string
	errCount int
	bytes    int64 // bytes downloaded
}

func (s *skStats) merge(o *skStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range o.kinds {
		m := s.kind(k)
		for st, n := range v.statuses {
			m.statuses[st] += n
		}
		m.lat = append(m.lat, v.lat...)
	}
	s.bytes += o.bytes
}

func (s *skStats) kind(k string) *skKindStats {
	if s.kinds == nil {
		s.kinds = map[string]*skKindStats{}
	}
	m := s.kinds[k]
	if m == nil {
		m = &skKindStats{statuses: map[int]int{}}
		s.kinds[k] = m
	}
	return m
}

func (s *skStats) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errCount++
	if len(s.errors) < 30 {
		s.errors = append(s.errors, fmt.Sprintf(format, args...))
	}
}

// skClient is one concurrent client: a user of its own with an API key, owning its
// segments, so that its model of them is exact.
type skClient struct {
	id      int
	account string
	key     string
	token   string
	base    string
	http    *http.Client
	rng     *rand.Rand
	segs    []int64
	model   map[int64]map[string]*skAsset
	hot     []*skHot
	stats   skStats // this client's own, merged at the end
	shared  *skStats
	seq     uint64
	tokens  []skToken // uploads answered 200 and attached, kept for attaching again
	scope   string
}

// skToken is a file token and the content it names.
type skToken struct {
	token string
	a     skAsset // its seed, size, sha and upload name
}

func (c *skClient) headers() http.Header {
	return http.Header{"X-Auth-Token": {c.token}, "X-Auth-AccountId": {c.account}}
}

// call sends one request and reads the whole body (hashing it when sink is set, instead
// of keeping it). It records the status and latency under kind; a transport failure or a
// status other than want is an error.
func (c *skClient) call(kind, method, path string, h http.Header, body io.Reader, want int, sink io.Writer) (*http.Response, []byte, bool) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.shared.fail("%s: %v", kind, err)
		return nil, nil, false
	}
	req.Header = h
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.shared.fail("%s %s %s: %v", kind, method, path, err)
		c.stats.kind(kind).statuses[0]++
		return nil, nil, false
	}
	var b []byte
	if sink != nil {
		var n int64
		n, err = io.Copy(sink, resp.Body)
		c.stats.bytes += n
	} else {
		b, err = io.ReadAll(resp.Body)
		c.stats.bytes += int64(len(b))
	}
	resp.Body.Close()
	d := time.Since(start)
	k := c.stats.kind(kind)
	k.statuses[resp.StatusCode]++
	k.lat = append(k.lat, d)
	if err != nil {
		c.shared.fail("%s %s %s: reading the body: %v", kind, method, path, err)
		return resp, b, false
	}
	if resp.StatusCode != want {
		c.shared.fail("%s %s %s: status %d, want %d: %s", kind, method, path, resp.StatusCode, want, truncate(b))
		return resp, b, false
	}
	return resp, b, true
}

func (c *skClient) step() {
	switch p := c.rng.IntN(1000); {
	case p < 250:
		c.downloadHot(false)
	case p < 330:
		c.downloadHot(true)
	case p < 440:
		c.downloadOwn()
	case p < 470:
		c.conditional()
	case p < 490:
		c.head()
	case p < 610:
		c.write()
	case p < 640:
		c.upload(c.newContent(), "unattached.bin")
	case p < 700:
		c.attachAgain()
	case p < 770:
		c.delete(false)
	case p < 780:
		c.delete(true)
	case p < 900:
		c.list()
	case p < 980:
		c.listMany()
	default:
		c.relogin()
	}
}

// newContent picks the bytes of a new version: mostly unique, sometimes a shared content.
func (c *skClient) newContent() *skAsset {
	if c.rng.IntN(5) == 0 {
		s := skShared[c.rng.IntN(len(skShared))]
		return &skAsset{seed: uint64(s[0]), size: s[1]}
	}
	c.seq++
	size := 1 + c.rng.IntN(128<<10)
	if c.rng.IntN(8) == 0 {
		size = 256<<10 + c.rng.IntN(2<<20)
	}
	return &skAsset{seed: uint64(c.id+1)<<32 | c.seq, size: size}
}

func (c *skClient) upload(a *skAsset, name string) (string, bool) {
	data := skContent(a.seed, a.size)
	if a.sha == "" {
		a.sha = rbSHA256(data)
	}
	body, ct := rbMultipart(name, data)
	h := c.headers()
	h.Set("Content-Type", ct)
	_, b, ok := c.call("upload", "POST", "/api/media/upload", h, body, 200, nil)
	if !ok {
		return "", false
	}
	var out wire.UploadResponse
	if err := json.Unmarshal(b, &out); err != nil || len(out.Result.Token) != 32 || out.Result.Name != name {
		c.shared.fail("upload %s: response %s", name, truncate(b))
		return "", false
	}
	return out.Result.Token, true
}

// write uploads a new version and attaches it: a new asset, or an overwrite.
func (c *skClient) write() {
	seg := c.segs[c.rng.IntN(len(c.segs))]
	addr := skAddrs[c.rng.IntN(len(skAddrs))]
	a := c.newContent()
	a.locale, a.rel, a.name = addr.locale, addr.rel, addr.name
	token, ok := c.upload(a, a.name)
	if !ok {
		return
	}
	c.attach(seg, a, token)
}

// attachAgain attaches an earlier file token (the asset takes its upload's name) at
// another locale and folder, maybe of the other segment.
func (c *skClient) attachAgain() {
	if len(c.tokens) == 0 {
		c.write()
		return
	}
	t := c.tokens[c.rng.IntN(len(c.tokens))]
	a := t.a
	addr := skAddrs[c.rng.IntN(len(skAddrs))]
	a.locale, a.rel = addr.locale, addr.rel
	c.attach(c.segs[c.rng.IntN(len(c.segs))], &a, t.token)
}

func (c *skClient) attach(seg int64, a *skAsset, token string) {
	kind := "attach"
	if _, taken := c.model[seg][a.key()]; taken {
		kind = "overwrite"
	}
	body := map[string]string{"filetoken": token, "locale": a.locale, "relativePath": a.rel}
	h := c.headers()
	h.Set("Content-Type", "application/json")
	_, b, ok := c.call(kind, "POST", fmt.Sprintf("/api/resources/assets/%d?scope=%s", seg, c.scope), h, jsonBody(body), 200, nil)
	if !ok {
		return
	}
	var got wire.Asset
	if err := json.Unmarshal(b, &got); err != nil || got.Size != int64(a.size) || got.Name != a.name || got.SegmentID != seg {
		c.shared.fail("%s of %d bytes as %s to %d answered %s", kind, a.size, a.name, seg, truncate(b))
		return
	}
	c.model[seg][a.key()] = a
	if t := (skToken{token, *a}); len(c.tokens) < 20 {
		c.tokens = append(c.tokens, t)
	} else {
		c.tokens[c.rng.IntN(len(c.tokens))] = t
	}
}

func skQuery(scope, locale, rel, name string) string {
	q := url.Values{"scope": {scope}, "filename": {name}}
	if locale != "" {
		q.Set("locale", locale)
	}
	if rel != "" {
		q.Set("relativePath", rel)
	}
	return q.Encode()
}

func (c *skClient) delete(all bool) {
	seg := c.segs[c.rng.IntN(len(c.segs))]
	path := fmt.Sprintf("/api/resources/assets/%d?scope=%s", seg, c.scope)
	want := len(c.model[seg])
	kind := "delete all"
	var addrKey string
	if !all {
		kind = "delete"
		addr := skAddrs[c.rng.IntN(len(skAddrs))]
		a := skAsset{locale: addr.locale, rel: addr.rel, name: skAddrs[c.rng.IntN(len(skAddrs))].name}
		addrKey = a.key()
		want = 0
		if _, ok := c.model[seg][addrKey]; ok {
			want = 1
		}
		path = fmt.Sprintf("/api/resources/assets/%d?%s", seg, skQuery(c.scope, a.locale, a.rel, a.name))
	}
	resp, _, ok := c.call(kind, "DELETE", path, c.headers(), nil, 200, nil)
	if !ok {
		return
	}
	if got := resp.Header.Get("X-Deleted-Count"); got != strconv.Itoa(want) {
		c.shared.fail("%s in segment %d: X-Deleted-Count %s, the model says %d", kind, seg, got, want)
	}
	if all {
		clear(c.model[seg])
	} else {
		delete(c.model[seg], addrKey)
	}
}

// ownAsset picks one of the client's assets, or nil.
func (c *skClient) ownAsset() (int64, *skAsset) {
	seg := c.segs[c.rng.IntN(len(c.segs))]
	keys := make([]string, 0, len(c.model[seg]))
	for k := range c.model[seg] {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	slices.Sort(keys)
	return seg, c.model[seg][keys[c.rng.IntN(len(keys))]]
}

func skSizeKind(size int, ranged bool) string {
	k := "download small"
	if size >= 1<<20 {
		k = "download large"
	}
	if ranged {
		k += " (Range)"
	}
	return k
}

// get downloads an asset whole or by a random Range and checks the bytes against data
// (or, for a whole download, against sha when data is nil).
func (c *skClient) get(seg int64, locale, rel, name string, size int, sha string, data func() []byte) {
	path := fmt.Sprintf("/api/resources/assets/%d?%s", seg, skQuery(c.scope, locale, rel, name))
	h := c.headers()
	if c.rng.IntN(3) > 0 || size < 2 {
		kind := skSizeKind(size, false)
		hash := sha256.New()
		resp, _, ok := c.call(kind, "GET", path, h, nil, 200, hash)
		if !ok {
			return
		}
		if got := hex.EncodeToString(hash.Sum(nil)); got != sha || resp.ContentLength != int64(size) {
			c.shared.fail("%s %d/%s: %d bytes with sha256 %.12s, want %d bytes with %.12s", kind, seg, name,
				resp.ContentLength, got, size, sha)
		}
		return
	}
	first := c.rng.IntN(size)
	last := first + c.rng.IntN(min(size-first, 1<<20))
	h.Set("Range", fmt.Sprintf("bytes=%d-%d", first, last))
	kind := skSizeKind(size, true)
	resp, b, ok := c.call(kind, "GET", path, h, nil, 206, nil)
	if !ok {
		return
	}
	want := data()[first : last+1]
	if !bytes.Equal(b, want) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", first, last, size) {
		c.shared.fail("%s %d/%s bytes %d-%d: %d bytes (Content-Range %s) that are not the asset's", kind, seg, name,
			first, last, len(b), resp.Header.Get("Content-Range"))
	}
}

func (c *skClient) downloadHot(large bool) {
	var pick []*skHot
	for _, h := range c.hot {
		if h.large == large {
			pick = append(pick, h)
		}
	}
	h := pick[c.rng.IntN(len(pick))]
	c.get(h.seg, "", "", h.name, len(h.data), h.sha, func() []byte { return h.data })
}

func (c *skClient) downloadOwn() {
	seg, a := c.ownAsset()
	if a == nil {
		c.write()
		return
	}
	c.get(seg, a.locale, a.rel, a.name, a.size, a.sha, func() []byte { return skContent(a.seed, a.size) })
}

func (c *skClient) conditional() {
	h := c.hot[c.rng.IntN(len(c.hot))]
	hd := c.headers()
	hd.Set("If-None-Match", h.etag)
	c.call("download (If-None-Match)", "GET", fmt.Sprintf("/api/resources/assets/%d?%s", h.seg, skQuery(c.scope, "", "", h.name)),
		hd, nil, 304, nil)
}

func (c *skClient) head() {
	h := c.hot[c.rng.IntN(len(c.hot))]
	resp, _, ok := c.call("HEAD", "HEAD", fmt.Sprintf("/api/resources/assets/%d?%s", h.seg, skQuery(c.scope, "", "", h.name)),
		c.headers(), nil, 200, nil)
	if ok && resp.Header.Get("Content-Length") != strconv.Itoa(len(h.data)) {
		c.shared.fail("HEAD %s: Content-Length %s, want %d", h.name, resp.Header.Get("Content-Length"), len(h.data))
	}
}

// skListed is the part of a listed asset the model predicts.
func skListed(a wire.Asset) string {
	locale := ""
	if a.Locale != nil {
		locale = *a.Locale
	}
	return fmt.Sprintf("%d|%s|%s|%s|%d", a.SegmentID, locale, strings.ReplaceAll(a.RelativePath, `\`, "/"), a.Name, a.Size)
}

func (c *skClient) modelListed(segs ...int64) []string {
	var out []string
	for _, s := range segs {
		for _, a := range c.model[s] {
			out = append(out, fmt.Sprintf("%d|%s|%s|%s|%d", s, a.locale, a.rel, a.name, a.size))
		}
	}
	sort.Strings(out)
	return out
}

func (c *skClient) list() {
	seg := c.segs[c.rng.IntN(len(c.segs))]
	_, b, ok := c.call("list", "GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", seg, c.scope), c.headers(), nil, 200, nil)
	if !ok {
		return
	}
	c.checkList("list", b, seg)
}

func (c *skClient) checkList(kind string, b []byte, segs ...int64) {
	var list []wire.Asset
	if err := json.Unmarshal(b, &list); err != nil {
		c.shared.fail("%s: %v: %s", kind, err, truncate(b))
		return
	}
	var got []string
	for _, a := range list {
		if slices.Contains(segs, a.SegmentID) {
			got = append(got, skListed(a))
		}
	}
	sort.Strings(got)
	if want := c.modelListed(segs...); !slices.Equal(got, want) {
		c.shared.fail("%s of %v: got %v, the model says %v", kind, segs, got, want)
	}
}

func (c *skClient) listMany() {
	ids := []string{strconv.FormatInt(skHotSeg, 10), strconv.FormatInt(skHotSeg2, 10)}
	for _, s := range c.segs {
		ids = append(ids, strconv.FormatInt(s, 10))
	}
	_, b, ok := c.call("list many", "GET", fmt.Sprintf("/api/resources/assets/list?scope=%s&segmentIds=%s", c.scope, strings.Join(ids, ",")),
		c.headers(), nil, 200, nil)
	if !ok {
		return
	}
	c.checkList("list many", b, c.segs...)
	var list []wire.Asset
	json.Unmarshal(b, &list)
	hot := 0
	for _, a := range list {
		if a.SegmentID == skHotSeg || a.SegmentID == skHotSeg2 {
			hot++
		}
	}
	if hot != len(c.hot) {
		c.shared.fail("list many: %d hot assets, want %d", hot, len(c.hot))
	}
}

// relogin gets a new token with the client's key and ends the old session.
func (c *skClient) relogin() {
	old := c.headers()
	h := http.Header{"Content-Type": {"application/json"}}
	_, b, ok := c.call("login", "POST", "/api/auth/token", h, jsonBody(map[string]string{"accountid": c.account, "key": c.key}), 200, nil)
	if !ok {
		return
	}
	var token string
	if err := json.Unmarshal(b, &token); err != nil || token == "" {
		c.shared.fail("login: %s", truncate(b))
		return
	}
	c.token = token
	if old.Get("X-Auth-Token") != "" {
		c.call("logout", "DELETE", "/api/auth/token", old, nil, 200, nil)
	}
}

// skRSS reads a process's current resident memory (VmRSS) in bytes.
func skRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// skHeap reads the server's Go heap in use from its /metrics, to tell growth of the Go
// heap from growth outside it (SQLite's page caches, the allocator's free pages).
func skHeap(base string) (int64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("no go_memstats_heap_inuse_bytes in %s/metrics", base)
}

func skPercentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// skBlobCache is the soak server's --blob-cache-size.
const skBlobCache = 2 << 20

// TestLoadSoak runs mixed traffic from many concurrent clients against one embedded server
// on loopback for a fixed time: downloads of small and large assets, whole, by Range and
// conditional, HEAD, uploads, attaches, overwrites, deletes, delete-alls, lists, list-manys,
// logins and logouts. Every answer is checked as it comes (status, and bytes against the
// clients' model) and, at the end, every asset is downloaded and hashed against the model,
// which each client keeps exactly since it alone writes its segments. It asserts no 5xx
// and no other failure, no lost or corrupted asset, and flat memory: sampled every second,
// the server's RSS over the last fifth of the run stays within 10% of its peak during the
// warm-up (the first half).
//
// REFSTORE_SOAK_DURATION sets the length (60s by default; `make soak` runs 10m),
// REFSTORE_SOAK_CLIENTS the number of clients (32).
func TestLoadSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a 60 s soak; skipped with -short")
	}
	duration := figEnvDuration(t, "REFSTORE_SOAK_DURATION", 60*time.Second)
	clients := figEnvInt(t, "REFSTORE_SOAK_CLIENTS", 32)
	// The small-blob cache (32 MiB by default) fills with the run's uploads for minutes, so
	// that RSS climbs past the warm-up's peak although nothing leaks: a 2 MiB cache is full
	// within the warm-up, and what the memory check then sees is growth that has no bound.
	n := startNode(t, nodeOptions{Args: []string{"--blob-cache-size", strconv.Itoa(skBlobCache)}})
	c := &cluster{backend: backends[0], nodes: []*node{n}}
	tn := newTenant(t, c)

	// The catalog: a user with a key of its own per client, two segments per client.
	segs := []int64{skHotSeg, skHotSeg2}
	var users, grants []map[string]any
	for i := range clients {
		for j := range skSegsPer {
			segs = append(segs, skSeg0+int64(i*skSegsPer+j))
		}
		id := skUser0 + i
		users = append(users, map[string]any{"id": id, "name": fmt.Sprintf("client%d", i), "apiKey": apiKey(tn.account, fmt.Sprintf("client%d", i))})
		grants = append(grants, map[string]any{"userId": id, "projectId": projectID, "rights": []string{"read", "upload", "delete"}})
	}
	rbUpsert(t, c, map[string]any{"accounts": []map[string]any{{"id": tn.account, "users": users, "grants": grants,
		"projects": []map[string]any{{"id": projectID, "documents": []map[string]any{{"id": skDoc, "segments": segs}}}}}}})

	// The hot assets: small ones (served from the blob cache) and large ones.
	pm := tn.as("pm")
	scope := fmt.Sprintf("pr%d", projectID)
	var hot []*skHot
	for i, size := range []int{700, 9000, 40000, 100000, 200000, 250000, 300000, 600000, 3 << 20, 8 << 20} {
		h := &skHot{seg: skHotSeg, name: fmt.Sprintf("hot%d.bin", i), data: randomBytes(size), large: size >= 1<<20}
		if h.large {
			h.seg = skHotSeg2
		}
		h.sha = rbSHA256(h.data)
		pm.put(scope, h.seg, h.name, "", "", h.data)
		resp := pm.do("HEAD", fmt.Sprintf("/api/resources/assets/%d?%s", h.seg, skQuery(scope, "", "", h.name)), nil).expect(t, 200)
		h.etag = resp.Header.Get("ETag")
		hot = append(hot, h)
	}

	transport := &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 2 * time.Minute}
	var all skStats
	cls := make([]*skClient, clients)
	for i := range cls {
		cl := &skClient{id: i, account: tn.account, key: apiKey(tn.account, fmt.Sprintf("client%d", i)), base: n.url,
			http: client, rng: rand.New(ccSource(3000 + i)), model: map[int64]map[string]*skAsset{}, hot: hot,
			shared: &all, scope: scope}
		for j := range skSegsPer {
			seg := skSeg0 + int64(i*skSegsPer+j)
			cl.segs = append(cl.segs, seg)
			cl.model[seg] = map[string]*skAsset{}
		}
		cl.relogin()
		if cl.token == "" {
			t.Fatalf("client %d could not log in: %v", i, all.errors)
		}
		cls[i] = cl
	}
	all = skStats{}

	// Memory, every second, from the start of the traffic.
	// The warm-up is the first half: in the 60 s form, RSS was still climbing 12 s in
	// while the bounded caches (sessions, segments, headers, SQLite pages) filled.
	warmup, tail := duration/2, duration/5
	type sample struct {
		at        time.Duration
		rss, heap int64
	}
	var samples []sample
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if rss, err := skRSS(n.pid()); err == nil {
				heap, _ := skHeap(n.url)
				samples = append(samples, sample{time.Since(start), rss, heap})
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for _, cl := range cls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				cl.step()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	<-sampled
	for _, cl := range cls {
		all.merge(&cl.stats)
	}

	// Every asset, as the model says, hashed.
	verified, lost, corrupted, extra := 0, 0, 0, 0
	vc := &skClient{account: tn.account, base: n.url, http: client, shared: &all, scope: scope}
	for _, cl := range cls {
		vc.token = cl.token
		for _, seg := range cl.segs {
			var list []wire.Asset
			_, b, ok := vc.call("final list", "GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", seg, scope), vc.headers(), nil, 200, nil)
			if ok {
				json.Unmarshal(b, &list)
			}
			found := map[string]bool{}
			for _, a := range list {
				locale := ""
				if a.Locale != nil {
					locale = *a.Locale
				}
				k := (&skAsset{locale: locale, rel: strings.ReplaceAll(a.RelativePath, `\`, "/"), name: a.Name}).key()
				if cl.model[seg][k] == nil {
					extra++
					t.Errorf("segment %d holds %s, which the model says was deleted or never written", seg, k)
				}
				found[k] = true
			}
			for k, a := range cl.model[seg] {
				if !found[k] {
					lost++
					t.Errorf("segment %d: asset %s (%d bytes) is lost", seg, k, a.size)
					continue
				}
				hash := sha256.New()
				resp, _, ok := vc.call("final download", "GET", fmt.Sprintf("/api/resources/assets/%d?%s", seg, skQuery(scope, a.locale, a.rel, a.name)),
					vc.headers(), nil, 200, hash)
				verified++
				if got := hex.EncodeToString(hash.Sum(nil)); !ok || got != a.sha || resp.ContentLength != int64(a.size) {
					corrupted++
					t.Errorf("segment %d: asset %s does not hold its %d bytes (sha256 %.12s, got %.12s)", seg, k, a.size, a.sha, got)
				}
			}
		}
	}
	for _, h := range hot {
		hash := sha256.New()
		vc.call("final download", "GET", fmt.Sprintf("/api/resources/assets/%d?%s", h.seg, skQuery(scope, "", "", h.name)), vc.headers(), nil, 200, hash)
		verified++
		if hex.EncodeToString(hash.Sum(nil)) != h.sha {
			corrupted++
			t.Errorf("hot asset %s does not hold its bytes", h.name)
		}
	}
	all.merge(&vc.stats)
	hwm := n.peakRSS(t)
	fsck := newCPFsck(t, n.opts)
	fsck.check(t, c, "after the soak")

	// The figures.
	var lines []string
	total, fiveXX := 0, 0
	lines = append(lines, fmt.Sprintf("%-26s %8s %8s %8s  %s", "kind", "requests", "p50", "p99", "statuses"))
	for _, k := range append(skKinds, "final list", "final download") {
		ks := all.kinds[k]
		if ks == nil {
			continue
		}
		slices.Sort(ks.lat)
		var st []string
		n := 0
		for _, code := range slices.Sorted(func(yield func(int) bool) {
			for code := range ks.statuses {
				if !yield(code) {
					return
				}
			}
		}) {
			st = append(st, fmt.Sprintf("%d: %d", code, ks.statuses[code]))
			n += ks.statuses[code]
			if code >= 500 || code == 0 {
				fiveXX += ks.statuses[code]
			}
		}
		if !strings.HasPrefix(k, "final") {
			total += n
		}
		lines = append(lines, fmt.Sprintf("%-26s %8d %8v %8v  %s", k, n,
			skPercentile(ks.lat, 0.50).Round(10*time.Microsecond), skPercentile(ks.lat, 0.99).Round(10*time.Microsecond), strings.Join(st, ", ")))
	}
	// Flat means the end of the run (its last fifth) stays within 10% of the warm-up's
	// peak. A peak in between is reported but not judged: 32 uploads that happen to coincide
	// after a GC emptied the buffer pool take 32 MiB at once, a bounded burst, not growth.
	var warmPeak, runPeak, endPeak, last int64
	var runAt time.Duration
	for _, s := range samples {
		if s.at <= warmup {
			warmPeak = max(warmPeak, s.rss)
		}
		if s.at >= elapsed-tail {
			endPeak = max(endPeak, s.rss)
		}
		if s.rss > runPeak {
			runPeak, runAt = s.rss, s.at
		}
		last = s.rss
	}
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	// The peak of each tenth of the run shows the shape: a plateau, or a slope.
	var tenths, heapTenths []string
	for i := range 10 {
		var p, h int64
		for _, s := range samples {
			if s.at >= elapsed*time.Duration(i)/10 && s.at < elapsed*time.Duration(i+1)/10 {
				p, h = max(p, s.rss), max(h, s.heap)
			}
		}
		tenths = append(tenths, fmt.Sprintf("%.0f", float64(p)/(1<<20)))
		heapTenths = append(heapTenths, fmt.Sprintf("%.0f", float64(h)/(1<<20)))
	}
	lines = append(lines,
		fmt.Sprintf("clients: %d, each a user with its own API key; run: %v; requests: %d (%.0f/s), %.0f MiB/s downloaded",
			clients, elapsed.Round(time.Millisecond), total, float64(total)/elapsed.Seconds(), float64(all.bytes)/(1<<20)/elapsed.Seconds()),
		fmt.Sprintf("errors (5xx, transport failures, unexpected statuses or bytes): %d; 5xx or no answer: %d", all.errCount, fiveXX),
		fmt.Sprintf("final check: %d assets downloaded and hashed against the model; lost %d, corrupted %d, unexpected %d",
			verified, lost, corrupted, extra),
		fmt.Sprintf("server RSS (blob cache %d MiB; sampled every 1 s, %d samples): peak of the warm-up (first %v) %s; peak of the last %v %s; peak of the run %s (at %v); at the end %s; VmHWM %s",
			skBlobCache>>20, len(samples), warmup, mib(warmPeak), tail, mib(endPeak), mib(runPeak), runAt.Round(time.Second), mib(last), mib(hwm)),
		"server RSS, peak of each tenth of the run (MiB): "+strings.Join(tenths, " "),
		"server Go heap in use, peak of each tenth of the run (MiB): "+strings.Join(heapTenths, " "),
		"fsck after the soak: "+fsck.summary(),
	)
	figReport(t, fmt.Sprintf("load soak, embedded, %v", duration), lines)

	for _, e := range all.errors {
		t.Error(e)
	}
	if all.errCount > len(all.errors) {
		t.Errorf("… and %d more errors", all.errCount-len(all.errors))
	}
	if warmPeak == 0 || endPeak == 0 || float64(endPeak) > 1.10*float64(warmPeak) {
		t.Errorf("memory is not flat: over the last %v the RSS peaked at %s, more than 10%% over the warm-up's peak of %s",
			tail, mib(endPeak), mib(warmPeak))
	}
}
