package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Sample files that content detection recognises.
var (
	jpegHead = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	mp4Head  = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00\x00\x08free")
	htmlPage = []byte("<!DOCTYPE html><html><head><script>alert(1)</script></head><body>hi</body></html>")
	svgImage = []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><script>alert(1)</script></svg>`)
	zipHead  = []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00")
)

// SPEC §5: download headers by type: Content-Type, Content-Disposition, CSP and the rest.
func TestDownloadHeaders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		for _, tc := range []struct {
			name        string
			data        []byte
			contentType string
			inline      bool
		}{
			{"shot.png", pngBytes(500), "image/png", true},
			{"photo.jpg", append(append([]byte{}, jpegHead...), randomBytes(500)...), "image/jpeg", true},
			{"clip.mp4", append(append([]byte{}, mp4Head...), randomBytes(500)...), "video/mp4", true},
			{"doc.pdf", []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), "application/pdf", true},
			{"notes.txt", []byte("just some text\n"), "text/plain; charset=utf-8", true},
			{"page.html", htmlPage, "text/html; charset=utf-8", false},
			{"icon.svg", svgImage, "image/svg+xml", false},
			{"bundle.zip", append(append([]byte{}, zipHead...), randomBytes(100)...), "application/zip", false},
			{"data.json", []byte(`{"a": [1, 2, 3]}`), "application/json", false},
			// HTML named like an image: the sniffed type wins and it is never inline.
			{"x.jpg", htmlPage, "text/html; charset=utf-8", false},
		} {
			a := pm.put("pr7214", segA1, tc.name, "", "", tc.data)
			if a.ContentType != tc.contentType {
				t.Fatalf("%s: asset contentType %q, want %q", tc.name, a.ContentType, tc.contentType)
			}
			for _, method := range []string{"GET", "HEAD"} {
				r := pm.do(method, segPath(segA1, "scope", "pr7214", "filename", tc.name), nil).expect(t, 200)
				if method == "GET" {
					r.wantBody(t, tc.data)
				} else if len(r.body) != 0 {
					t.Fatalf("HEAD %s: %d body bytes", tc.name, len(r.body))
				}
				r.wantHeader(t, "Content-Type", tc.contentType)
				r.wantHeader(t, "Content-Length", fmt.Sprint(len(tc.data)))
				r.wantHeader(t, "Accept-Ranges", "bytes")
				r.wantHeader(t, "X-Content-Type-Options", "nosniff")
				if tc.inline {
					r.wantHeader(t, "Content-Disposition", `inline; filename="`+tc.name+`"`)
					r.wantNoHeader(t, "Content-Security-Policy")
				} else {
					r.wantHeader(t, "Content-Disposition", `attachment; filename="`+tc.name+`"`)
					r.wantHeader(t, "Content-Security-Policy", "sandbox")
				}
				if et := r.Header.Get("ETag"); len(et) < 3 || et[0] != '"' || et[len(et)-1] != '"' {
					t.Fatalf("%s: ETag %q is not a strong quoted entity tag", tc.name, et)
				}
				lm, err := http.ParseTime(r.Header.Get("Last-Modified"))
				if err != nil {
					t.Fatalf("%s: Last-Modified %q: %v", tc.name, r.Header.Get("Last-Modified"), err)
				}
				md, _ := time.Parse("2006-01-02T15:04:05.0000000Z", a.ModifiedDate)
				if !lm.Equal(md.Truncate(time.Second)) {
					t.Fatalf("%s: Last-Modified %v, want modifiedDate %v", tc.name, lm, md)
				}
			}
		}
		// A name that is not plain ASCII gets filename* and an ASCII fallback.
		pm.put("pr7214", segA2, "écran 1.png", "", "", pngBytes(10))
		r := pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "écran 1.png"), nil).expect(t, 200)
		cd := r.Header.Get("Content-Disposition")
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil || disp != "inline" || params["filename"] != "écran 1.png" {
			t.Fatalf("Content-Disposition %q: %v %q %v", cd, err, disp, params)
		}
		if !strings.Contains(cd, "filename*=UTF-8''%C3%A9cran%201.png") {
			t.Fatalf("Content-Disposition %q lacks filename*=UTF-8''%%C3%%A9cran%%201.png", cd)
		}
		fallback, _, _ := strings.Cut(strings.TrimPrefix(cd, `inline; filename="`), `"`)
		if !strings.HasPrefix(cd, `inline; filename="`) || fallback == "" || !strings.HasSuffix(fallback, "cran 1.png") {
			t.Fatalf("Content-Disposition %q: no ASCII fallback filename", cd)
		}
		for _, ch := range fallback {
			if ch < 0x20 || ch > 0x7e {
				t.Fatalf("Content-Disposition fallback %q is not ASCII", fallback)
			}
		}
		// Quotes and backslashes in names cannot break out of the header.
		pm.put("pr7214", segA2, "it's;a=b,c.png", "", "", pngBytes(10))
		r = pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "it's;a=b,c.png"), nil).expect(t, 200)
		if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err != nil || params["filename"] != "it's;a=b,c.png" {
			t.Fatalf("Content-Disposition %q: %v %v", r.Header.Get("Content-Disposition"), params, err)
		}

		// A missing asset is a 404 with the error body, on GET; HEAD has no body.
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "missing.png"), nil).wantEnvelope(t, 404, "asset_not_found")
		pm.do("HEAD", segPath(segA1, "scope", "pr7214", "filename", "missing.png"), nil).expect(t, 404)
		pm.do("GET", segPath(segA1, "scope", "pr7214"), nil).reasonNames(t, "invalid_parameter", "filename")
	})
}

// SPEC §5: Range, conditional requests and If-Range.
func TestDownloadRanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		data := pngBytes(10000)
		n := len(data)
		a := pm.put("pr7214", segA1, "big.png", "en", "", data)
		path := segPath(segA1, "scope", "pr7214", "filename", "big.png", "locale", "en")
		get := func(h http.Header) *response { return pm.doH("GET", path, h, nil) }
		full := get(nil).expect(t, 200)
		etag, lastMod := full.Header.Get("ETag"), full.Header.Get("Last-Modified")

		// Single ranges.
		for _, tc := range []struct {
			spec       string
			start, end int // inclusive
		}{
			{"bytes=0-0", 0, 0},
			{"bytes=10-19", 10, 19},
			{"bytes=9990-", 9990, n - 1},
			{"bytes=-5", n - 5, n - 1},
			{fmt.Sprintf("bytes=%d-%d", n-3, n+100), n - 3, n - 1},
			{"bytes=0-", 0, n - 1},
		} {
			r := get(http.Header{"Range": {tc.spec}}).expect(t, 206)
			r.wantHeader(t, "Content-Range", fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, n))
			r.wantHeader(t, "Content-Length", fmt.Sprint(tc.end-tc.start+1))
			r.wantBody(t, data[tc.start:tc.end+1])
			r.wantHeader(t, "Content-Type", "image/png")
		}

		// Several ranges: multipart/byteranges with each part right.
		r := get(http.Header{"Range": {"bytes=0-4,100-199,-10"}}).expect(t, 206)
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/byteranges" {
			t.Fatalf("multi-range Content-Type %q", r.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
		for _, want := range [][2]int{{0, 4}, {100, 199}, {n - 10, n - 1}} {
			part, err := mr.NextPart()
			if err != nil {
				t.Fatalf("multi-range part %v: %v", want, err)
			}
			if cr := part.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", want[0], want[1], n) {
				t.Fatalf("part Content-Range %q, want %v", cr, want)
			}
			if ct := part.Header.Get("Content-Type"); ct != "image/png" {
				t.Fatalf("part Content-Type %q", ct)
			}
			b, _ := io.ReadAll(part)
			if !bytes.Equal(b, data[want[0]:want[1]+1]) {
				t.Fatalf("part %v: wrong bytes", want)
			}
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Fatalf("more parts than ranges: %v", err)
		}

		// Unsatisfiable.
		for _, spec := range []string{fmt.Sprintf("bytes=%d-", n), fmt.Sprintf("bytes=%d-%d", n+10, n+20)} {
			r := get(http.Header{"Range": {spec}}).expect(t, 416)
			r.wantHeader(t, "Content-Range", fmt.Sprintf("bytes */%d", n))
		}

		// Conditional requests.
		for _, h := range []http.Header{
			{"If-None-Match": {etag}},
			{"If-None-Match": {`"other", ` + etag}},
			{"If-None-Match": {"*"}},
			{"If-Modified-Since": {lastMod}},
		} {
			r := get(h).expect(t, 304)
			if len(r.body) != 0 {
				t.Fatalf("304 with a body of %d bytes", len(r.body))
			}
			r.wantHeader(t, "ETag", etag)
		}
		for _, h := range []http.Header{
			{"If-None-Match": {`"stale"`}},
			{"If-Modified-Since": {time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)}},
			// If-None-Match wins over If-Modified-Since.
			{"If-None-Match": {`"stale"`}, "If-Modified-Since": {lastMod}},
		} {
			get(h).expect(t, 200).wantBody(t, data)
		}
		// If-Range: the current ETag keeps the range, a stale one gets the whole file.
		r = get(http.Header{"Range": {"bytes=5-9"}, "If-Range": {etag}}).expect(t, 206)
		r.wantBody(t, data[5:10])
		r = get(http.Header{"Range": {"bytes=5-9"}, "If-Range": {`"stale"`}}).expect(t, 200)
		r.wantBody(t, data)

		// HEAD with a range answers the range's headers without a body.
		r = pm.doH("HEAD", path, http.Header{"Range": {"bytes=10-19"}}, nil).expect(t, 206)
		r.wantHeader(t, "Content-Range", fmt.Sprintf("bytes 10-19/%d", n))
		if len(r.body) != 0 {
			t.Fatalf("HEAD body of %d bytes", len(r.body))
		}

		// After an overwrite the old ETag no longer matches.
		newer := pngBytes(20)
		pm.put("pr7214", segA1, "big.png", "en", "", newer)
		get(http.Header{"If-None-Match": {etag}}).expect(t, 200).wantBody(t, newer)
		get(http.Header{"Range": {"bytes=0-3"}, "If-Range": {etag}}).expect(t, 200).wantBody(t, newer)
		_ = a
	})
}

// SPEC §5: Cache-Control follows the v rule.
func TestDownloadCacheControl(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		a := pm.put("pr7214", segA1, "c.png", "", "", pngBytes(10))
		v := fmt.Sprint(netTicks(t, a.ModifiedDate))
		cc := func(kv ...string) string {
			return pm.do("GET", segPath(segA1, append([]string{"scope", "pr7214", "filename", "c.png"}, kv...)...), nil).
				expect(t, 200).Header.Get("Cache-Control")
		}
		const immutable, revalidate = "private, max-age=31536000, immutable", "private, no-cache"
		for _, tc := range []struct {
			kv   []string
			want string
		}{
			{nil, revalidate},
			{[]string{"v", v}, immutable},
			{[]string{"v", fmt.Sprint(netTicks(t, a.ModifiedDate) - 1)}, revalidate},
			{[]string{"v", "0"}, revalidate},
			{[]string{"v", ""}, revalidate},
			{[]string{"v", "abc"}, revalidate},
		} {
			if got := cc(tc.kv...); got != tc.want {
				t.Fatalf("v %v: Cache-Control %q, want %q", tc.kv, got, tc.want)
			}
		}
		// HEAD follows the same rule.
		pm.do("HEAD", segPath(segA1, "scope", "pr7214", "filename", "c.png", "v", v), nil).expect(t, 200).
			wantHeader(t, "Cache-Control", immutable)
		// After an overwrite the old v is stale and the new one immutable.
		b := pm.put("pr7214", segA1, "c.png", "", "", pngBytes(11))
		if got := cc("v", v); got != revalidate {
			t.Fatalf("stale v after overwrite: Cache-Control %q", got)
		}
		if got := cc("v", fmt.Sprint(netTicks(t, b.ModifiedDate))); got != immutable {
			t.Fatalf("current v after overwrite: Cache-Control %q", got)
		}
	})
}

// assetIDError is the envelope of SPEC §6.
func (r *response) wantAssetIDError(t testing.TB, status int, code string) {
	t.Helper()
	r.expect(t, status)
	m := r.jsonObject(t)
	wantKeys(t, "download-by-id error", m, "code", "msg", "data", "success", "failed")
	var gotCode, msg string
	json.Unmarshal(m["code"], &gotCode)
	json.Unmarshal(m["msg"], &msg)
	if gotCode != code || msg == "" || string(m["data"]) != "null" || string(m["success"]) != "false" || string(m["failed"]) != "true" {
		t.Fatalf("download-by-id error %s: want code %q, a msg, data null, success false, failed true", r.body, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("download-by-id error Content-Type %q", ct)
	}
}

// SPEC §6: GET /api/assets/{assetId}/download.
func TestDownloadByID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		data := pngBytes(4000)
		a := pm.put("pr7214", segA1, "shot.png", "en", "img", data)
		b := pm.put("pr7214", segB1, "other.png", "", "", pngBytes(10))
		path := "/api/assets/" + a.ID + "/download"
		r := pm.do("GET", path, nil).expect(t, 200)
		r.wantBody(t, data)
		r.wantHeader(t, "Content-Type", "image/png")
		r.wantHeader(t, "Content-Length", fmt.Sprint(len(data)))
		r.wantHeader(t, "Content-Disposition", `attachment; filename="shot.png"`)
		r.wantHeader(t, "X-Content-Type-Options", "nosniff")
		r.wantHeader(t, "Accept-Ranges", "bytes")
		r = pm.doH("GET", path, http.Header{"Range": {"bytes=100-199"}}, nil).expect(t, 206)
		r.wantBody(t, data[100:200])
		r.wantHeader(t, "Content-Range", fmt.Sprintf("bytes 100-199/%d", len(data)))
		r = pm.do("HEAD", path, nil).expect(t, 200)
		r.wantHeader(t, "Content-Length", fmt.Sprint(len(data)))
		if len(r.body) != 0 {
			t.Fatal("HEAD with a body")
		}

		// Rights: a read grant on the project, or on a job covering the document.
		tn.as("reader").do("GET", path, nil).expect(t, 200).wantBody(t, data)
		jobber := tn.as("jobber")
		jobber.do("GET", path, nil).expect(t, 200).wantBody(t, data)
		jobber.do("GET", "/api/assets/"+b.ID+"/download", nil).wantAssetIDError(t, 403, "forbidden")
		tn.as("nogrant").do("GET", path, nil).wantAssetIDError(t, 403, "forbidden")
		tn.as("codyt").do("GET", path, nil).wantAssetIDError(t, 403, "forbidden")

		// Errors use the route's own envelope.
		pm.do("GET", "/api/assets/re_1/download", nil).wantAssetIDError(t, 404, "asset_not_found")
		for _, id := range []string{"nope", "re_", "re_abc", "RE_1", "1234", "re_-1", "re_99999999999999999999"} {
			pm.do("GET", "/api/assets/"+id+"/download", nil).wantAssetIDError(t, 400, "invalid_parameter")
		}
		do(t, c, "GET", path, nil, nil).wantAssetIDError(t, 401, "unauthorized")
		do(t, c, "GET", path, http.Header{"X-Auth-Token": {pm.token}}, nil).wantAssetIDError(t, 401, "unauthorized")
		other := newTenant(t, c).as("pm")
		other.do("GET", path, nil).wantAssetIDError(t, 404, "asset_not_found")
		do(t, c, "GET", path, http.Header{"X-Auth-Token": {pm.token}, "X-Auth-AccountId": {other.account}}, nil).
			wantAssetIDError(t, 401, "unauthorized")

		// The id survives an overwrite and dies with the asset.
		newer := pngBytes(30)
		pm.put("pr7214", segA1, "shot.png", "en", "img", newer)
		pm.do("GET", path, nil).expect(t, 200).wantBody(t, newer)
		pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "shot.png", "locale", "en", "relativePath", "img"), nil).expect(t, 200)
		pm.do("GET", path, nil).wantAssetIDError(t, 404, "asset_not_found")
	})
}
