package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// TestStreaming1GiBUploadAndDownload uploads 1 GiB (generated on the fly from a seeded
// ChaCha8 stream and hashed as it goes, never held by the client), attaches it, downloads
// it whole and by a Range from the middle, and checks the SHA-256 of each against the
// generator's. The server's peak RSS (VmHWM) must stay under 100 MB: uploads and downloads
// are streamed, not buffered.
func TestStreaming1GiBUploadAndDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GiB through the server; skipped with -short")
	}
	const (
		size     = 1 << 30
		chunk    = 1 << 20
		rangeOff = size/2 - 3<<20 + 12345 // an unaligned 8 MiB window in the middle
		rangeLen = 8 << 20
		maxRSS   = 100 << 20
		name     = "big.bin"
	)
	seed := [32]byte{'r', 'e', 'f', 's', 't', 'o', 'r', 'e', '-', '1', 'G', 'i', 'B'}
	n := startNode(t, nodeOptions{})
	c := &cluster{backend: backend{name: "embedded", nodes: 1}, nodes: []*node{n}}
	pm := newTenant(t, c).as("pm")
	rss := func(stage string) int64 {
		peak := n.peakRSS(t)
		t.Logf("server peak RSS (VmHWM) %s: %.1f MiB", stage, float64(peak)/(1<<20))
		return peak
	}
	rss("after start")

	// The multipart body: its head and tail are measured with the same boundary, so the
	// request carries an exact Content-Length, as curl would send it.
	partHeader := textproto.MIMEHeader{}
	partHeader.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	partHeader.Set("Content-Type", "application/octet-stream")
	var frame bytes.Buffer
	dry := multipart.NewWriter(&frame)
	if _, err := dry.CreatePart(partHeader); err != nil {
		t.Fatal(err)
	}
	headLen := frame.Len()
	frame.Reset()
	dry.Close()
	contentLength := int64(headLen) + size + int64(frame.Len())

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	if err := mw.SetBoundary(dry.Boundary()); err != nil {
		t.Fatal(err)
	}
	type generated struct {
		sha    string
		window []byte // the bytes of the Range window, kept for the Range check
		err    error
	}
	gen := make(chan generated, 1)
	go func() {
		var g generated
		defer func() { gen <- g }()
		part, err := mw.CreatePart(partHeader)
		if err != nil {
			g.err = err
			pw.CloseWithError(err)
			return
		}
		src := rand.NewChaCha8(seed)
		h := sha256.New()
		buf := make([]byte, chunk)
		g.window = make([]byte, 0, rangeLen)
		for off := int64(0); off < size; off += chunk {
			src.Read(buf)
			h.Write(buf)
			if lo, hi := max(off, rangeOff), min(off+chunk, rangeOff+rangeLen); lo < hi {
				g.window = append(g.window, buf[lo-off:hi-off]...)
			}
			if _, err := part.Write(buf); err != nil {
				g.err = err
				pw.CloseWithError(err)
				return
			}
		}
		g.err = mw.Close()
		pw.CloseWithError(g.err)
		g.sha = hex.EncodeToString(h.Sum(nil))
	}()
	req, err := http.NewRequest("POST", c.url()+"/api/media/upload", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = contentLength
	req.Header = rbAuthHeaders(pm)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	g := <-gen
	if g.err != nil {
		t.Fatalf("generating the upload: %v", g.err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("upload: status %d: %s", resp.StatusCode, truncate(body))
	}
	var up wire.UploadResponse
	if err := json.Unmarshal(body, &up); err != nil || up.Result.Name != name {
		t.Fatalf("upload response %s", truncate(body))
	}
	t.Logf("uploaded 1 GiB in %v (sha256 %s…)", time.Since(start).Round(time.Millisecond), g.sha[:16])
	peak := rss("after the upload")

	a := pm.attach(fmt.Sprintf("pr%d", projectID), segA1, map[string]string{"filetoken": up.Result.Token})
	a.expect(t, 200)
	var asset wire.Asset
	a.json(t, &asset)
	if asset.Size != size {
		t.Fatalf("the attached asset has size %d, want %d", asset.Size, int64(size))
	}

	path := fmt.Sprintf("/api/resources/assets/%d?scope=pr%d&filename=%s", segA1, projectID, name)
	start = time.Now()
	sha, got, headers := stStream(t, c, pm, path, "")
	if headers.Get("Content-Length") != strconv.Itoa(size) || got != size || sha != g.sha {
		t.Fatalf("download: Content-Length %s, %d bytes, sha256 %s; want %d bytes, sha256 %s",
			headers.Get("Content-Length"), got, sha, size, g.sha)
	}
	t.Logf("downloaded 1 GiB in %v, sha256 matches", time.Since(start).Round(time.Millisecond))
	peak = max(peak, rss("after the download"))

	rangeHeader := fmt.Sprintf("bytes=%d-%d", rangeOff, rangeOff+rangeLen-1)
	sha, got, headers = stStream(t, c, pm, path, rangeHeader)
	wantSum := sha256.Sum256(g.window)
	if want := fmt.Sprintf("bytes %d-%d/%d", rangeOff, rangeOff+rangeLen-1, size); headers.Get("Content-Range") != want ||
		got != rangeLen || sha != hex.EncodeToString(wantSum[:]) {
		t.Fatalf("Range %s: Content-Range %q, %d bytes, sha256 %s; want %q, %d bytes, sha256 %x",
			rangeHeader, headers.Get("Content-Range"), got, sha, want, rangeLen, wantSum)
	}
	peak = max(peak, rss("after the Range read"))
	if peak >= maxRSS {
		t.Errorf("the server's peak RSS was %.1f MiB, want under %d MiB", float64(peak)/(1<<20), maxRSS>>20)
	}
}

// stStream downloads path as s (with a Range header when rangeHeader is set), hashing the
// body as it arrives, and returns its SHA-256, its length and the response headers.
func stStream(t *testing.T, c *cluster, s *session, path, rangeHeader string) (string, int64, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", c.url()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = rbAuthHeaders(s)
	want := 200
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
		want = 206
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET %s (Range %q): status %d, want %d: %s", path, rangeHeader, resp.StatusCode, want, truncate(b))
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body after %d bytes: %v", path, n, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, resp.Header
}

// TestStreamingAbortedUploadLeavesNothing cuts an upload off after 64 MiB of a 256 MiB body:
// the server must drop the partial file (tmp/ empty, no blob) and keep serving.
func TestStreamingAbortedUploadLeavesNothing(t *testing.T) {
	const (
		declared = 256 << 20
		sent     = 64 << 20
	)
	n := startNode(t, nodeOptions{})
	c := &cluster{backend: backend{name: "embedded", nodes: 1}, nodes: []*node{n}}
	pm := newTenant(t, c).as("pm")
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", "cut.bin")
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		src := rand.NewChaCha8([32]byte{1})
		buf := make([]byte, 1<<20)
		for off := 0; off < sent; off += len(buf) {
			src.Read(buf)
			if _, err := part.Write(buf); err != nil {
				return
			}
		}
		pw.CloseWithError(fmt.Errorf("the client gives up"))
	}()
	req, err := http.NewRequest("POST", c.url()+"/api/media/upload", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = declared
	req.Header = rbAuthHeaders(pm)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, err := httpClient.Do(req); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("a cut-off upload answered %d: %s", resp.StatusCode, truncate(body))
	}
	// The handler notices the cut and cleans up on its own time: wait for it.
	data := n.opts.Data
	var leftovers []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		leftovers = leftovers[:0]
		for _, dir := range []string{"tmp", filepath.Join("accounts", pm.account, "blobs")} {
			files, _, err := rbRegularFiles(filepath.Join(data, dir))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				leftovers = append(leftovers, filepath.Join(dir, f))
			}
		}
		if len(leftovers) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(leftovers) > 0 {
		t.Errorf("a cut-off upload left files behind: %v", leftovers)
	}
	small := randomBytes(1234)
	token := pm.upload("after.bin", small)
	got := pm.do("GET", "/api/media/get/"+token, nil).expect(t, 200)
	if !bytes.Equal(got.body, small) {
		t.Errorf("after the cut-off upload, media get returned %d bytes that are not the upload's", len(got.body))
	}
	if peak := n.peakRSS(t); peak >= 100<<20 {
		t.Errorf("the server's peak RSS was %.1f MiB, want under 100 MiB", float64(peak)/(1<<20))
	}
}
