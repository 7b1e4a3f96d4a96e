package e2e

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/refstore/refstore/wire"
)

var fileTokenPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// SPEC §4: the upload response is {"result": {"token": …, "name": …}}.
func TestMediaUploadResponse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		r := pm.uploadResp("shot.png", "", []byte("\x89PNG\r\n\x1a\nrest"))
		r.expect(t, 200)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("upload Content-Type %q", ct)
		}
		top := r.jsonObject(t)
		wantKeys(t, "upload response", top, "result")
		var result map[string]any
		r2 := map[string]map[string]any{}
		r.json(t, &r2)
		result = r2["result"]
		if len(result) != 2 {
			t.Fatalf("result %v: want exactly token and name", result)
		}
		token, _ := result["token"].(string)
		if !fileTokenPattern.MatchString(token) {
			t.Fatalf("token %q is not 32 lower-case hex characters", token)
		}
		if result["name"] != "shot.png" {
			t.Fatalf("name %v, want shot.png", result["name"])
		}
		// Each upload gets its own token, even for the same bytes.
		t2, _ := pm.uploadResp("shot.png", "", []byte("\x89PNG\r\n\x1a\nrest")).uploadResult(t)
		if t2 == token {
			t.Fatal("two uploads got the same file token")
		}
		// Any authenticated user may upload, even without any grant.
		tn.as("nogrant").upload("free.txt", []byte("anyone"))
	})
}

// SPEC §4: the filename query parameter overrides the part's name; folders in the name
// become the relativePath unless the attach gives one.
func TestMediaUploadNames(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		tok, name := pm.uploadResp("part-name.png", query("filename", "override.txt"), []byte("text")).uploadResult(t)
		if name != "override.txt" {
			t.Fatalf("name %q, want override.txt", name)
		}
		var a wire.Asset
		pm.attach("pr7214", segA1, map[string]string{"filetoken": tok}).expect(t, 200).json(t, &a)
		if a.Name != "override.txt" || a.RelativePath != "" || a.ContentType != "text/plain; charset=utf-8" && a.ContentType != "text/plain" {
			t.Fatalf("asset %+v", a)
		}

		for _, up := range []struct{ part, query string }{
			{"docs/pdfs/x.txt", ""},
			{`docs\pdfs\x.txt`, ""},
			{"ignored.txt", query("filename", "docs/pdfs/x.txt")},
			{"ignored.txt", query("filename", "/docs//pdfs/x.txt")},
		} {
			tok, name := pm.uploadResp(up.part, up.query, []byte("pdf text")).uploadResult(t)
			if name != "docs/pdfs/x.txt" {
				t.Fatalf("upload of %q %q: name %q, want docs/pdfs/x.txt", up.part, up.query, name)
			}
			r := pm.attach("pr7214", segA2, map[string]string{"filetoken": tok}).expect(t, 200)
			if !bytes.Contains(r.body, []byte(`"relativePath":"docs\\pdfs"`)) {
				t.Fatalf("attach body %s: want relativePath \"docs\\\\pdfs\" in the JSON", r.body)
			}
			var a wire.Asset
			r.json(t, &a)
			if a.Name != "x.txt" || a.RelativePath != `docs\pdfs` {
				t.Fatalf("asset from %q: name %q relativePath %q", up.part, a.Name, a.RelativePath)
			}
			// An explicit relativePath wins over the folders of the name.
			var b wire.Asset
			pm.attach("pr7214", segA3, map[string]string{"filetoken": tok, "relativePath": "shots/v2"}).expect(t, 200).json(t, &b)
			if b.Name != "x.txt" || b.RelativePath != `shots\v2` {
				t.Fatalf("attach with relativePath: name %q relativePath %q", b.Name, b.RelativePath)
			}
		}
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "x.txt", "relativePath", `docs\pdfs`), nil).
			expect(t, 200).wantBody(t, []byte("pdf text"))
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "docs/pdfs/x.txt"), nil).
			expect(t, 200).wantBody(t, []byte("pdf text"))
		pm.do("GET", segPath(segA3, "scope", "pr7214", "filename", "x.txt", "relativePath", "shots/v2"), nil).
			expect(t, 200).wantBody(t, []byte("pdf text"))
		pm.do("GET", segPath(segA3, "scope", "pr7214", "filename", "x.txt", "relativePath", `docs\pdfs`), nil).
			expectError(t, 404, "asset_not_found")

		// A name that breaks the path rules is refused at upload, naming filename.
		pm.uploadResp("a.txt", query("filename", "../x.txt"), []byte("x")).reasonNames(t, "invalid_parameter", "filename")
		pm.uploadResp("a.txt", query("filename", "bad|name.txt"), []byte("x")).reasonNames(t, "invalid_parameter", "filename")
	})
}

// SPEC §4: limits — maxsize in bytes and the server's hard limit — give 413 and keep
// nothing; a malformed or truncated body is a 400 and keeps nothing.
func TestMediaUploadLimits(t *testing.T) {
	forEachBackendWith(t, []string{"--max-upload-size", "1MiB"}, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		embedded := c.backend.name == "embedded"
		snapshot := func() map[string]bool {
			if !embedded {
				return nil
			}
			return dataFiles(t, c.nodes[0].opts.Data)
		}
		keptNothing := func(before map[string]bool) {
			t.Helper()
			if embedded {
				wantNoNewFiles(t, before, snapshot())
			}
		}

		// maxsize: exactly maxsize passes, one more byte is a 413.
		data := randomBytes(1000)
		tok, _ := pm.uploadResp("m.bin", "maxsize=1000", data).uploadResult(t)
		pm.do("GET", "/api/media/get/"+tok, nil).expect(t, 200).wantBody(t, data)
		before := snapshot()
		pm.uploadResp("m.bin", "maxsize=1000", randomBytes(1001)).expectError(t, 413, "too_large")
		pm.uploadResp("m.bin", "maxsize=1", randomBytes(64<<10)).expectError(t, 413, "too_large")
		keptNothing(before)
		pm.uploadResp("m.bin", "maxsize=0", data).reasonNames(t, "invalid_parameter", "maxsize")
		pm.uploadResp("m.bin", "maxsize=-5", data).reasonNames(t, "invalid_parameter", "maxsize")
		pm.uploadResp("m.bin", "maxsize=1kb", data).reasonNames(t, "invalid_parameter", "maxsize")

		// The server's hard limit (1 MiB here), also when maxsize is larger.
		big := randomBytes(1 << 20)
		tok, _ = pm.uploadResp("h.bin", "", big).uploadResult(t)
		pm.do("GET", "/api/media/get/"+tok, nil).expect(t, 200).wantBody(t, big)
		before = snapshot()
		pm.uploadResp("h.bin", "", randomBytes(1<<20+1)).expectError(t, 413, "too_large")
		pm.uploadResp("h.bin", "maxsize=10000000", randomBytes(1<<20+1)).expectError(t, 413, "too_large")
		pm.uploadResp("h.bin", "", randomBytes(3<<20)).expectError(t, 413, "too_large")
		keptNothing(before)

		// Not multipart: 415.
		pm.rawUpload("application/octet-stream", "", "raw bytes").expectError(t, 415, "unsupported_media")
		pm.rawUpload("application/json", "", `{"file":"x"}`).expectError(t, 415, "unsupported_media")
		pm.rawUpload("multipart/form-data", "", "no boundary").expectError(t, 415, "unsupported_media")
		pm.rawUpload("multipart/mixed; boundary=B", "", "--B--\r\n").expectError(t, 415, "unsupported_media")

		// Multipart without a file part: 400.
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("comment", "no file here")
		w.Close()
		pm.rawUpload(w.FormDataContentType(), "", buf.String()).expectError(t, 400, "invalid_parameter")
		pm.rawUpload("multipart/form-data; boundary=B", "", "--B--\r\n").expectError(t, 400, "invalid_parameter")

		// Truncated multipart bodies: 400 and nothing kept.
		before = snapshot()
		head := "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.bin\"\r\n" +
			"Content-Type: application/octet-stream\r\n\r\n"
		payload := string(randomBytes(200 << 10))
		for _, body := range []string{
			head + payload,                 // no closing delimiter
			head + payload + "\r\n--B",     // cut inside the closing delimiter
			head + payload + "\r\n--B\r\n", // cut after a delimiter that announces another part
		} {
			pm.rawUpload("multipart/form-data; boundary=B", "", body).expectError(t, 400, "invalid_body")
		}
		// Cut inside a part's headers.
		for _, body := range []string{head[:30], "--B\r\nContent-Disposition: form-data", "--B\r\n",
			"--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--B\r\nContent-Dis"} {
			pm.rawUpload("multipart/form-data; boundary=B", "", body).expectError(t, 400, "invalid_body")
		}
		keptNothing(before)
		// Complete forms of the same body are fine: with or without a line end after the
		// closing delimiter, and with a field after the file.
		for _, body := range []string{
			head + payload + "\r\n--B--\r\n",
			head + payload + "\r\n--B--",
			head + payload + "\r\n--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--B--\r\n",
			"--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n" + head + payload + "\r\n--B--\r\n",
			// An epilogue after the closing delimiter is allowed (RFC 2046), short or long.
			head + payload + "\r\n--B--\r\nepilogue\r\n",
			head + payload + "\r\n--B--\r\n" + strings.Repeat("epilogue --B\r\n", 100),
		} {
			tok, name := pm.rawUpload("multipart/form-data; boundary=B", "", body).uploadResult(t)
			if name != "t.bin" {
				t.Fatalf("name %q, want t.bin", name)
			}
			pm.do("GET", "/api/media/get/"+tok, nil).expect(t, 200).wantBody(t, []byte(payload))
		}
	})
}

// SPEC §4: GET /api/media/get/{token} returns the bytes to their uploader only.
func TestMediaGet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm, reader := tn.as("pm"), tn.as("reader")
		other := newTenant(t, c).as("pm")
		data := randomBytes(70000)
		tok := pm.upload("clip.bin", data)
		r := pm.do("GET", "/api/media/get/"+tok, nil).expect(t, 200)
		r.wantBody(t, data)
		r.wantHeader(t, "Content-Length", fmt.Sprint(len(data)))
		r.wantHeader(t, "X-Content-Type-Options", "nosniff")
		// Another user of the same account, or of another account: not found.
		reader.do("GET", "/api/media/get/"+tok, nil).expectError(t, 404, "file_token_invalid")
		other.do("GET", "/api/media/get/"+tok, nil).expectError(t, 404, "file_token_invalid")
		// A second session of the uploader may fetch it.
		tn.as("pm").do("GET", "/api/media/get/"+tok, nil).expect(t, 200).wantBody(t, data)
		pm.do("GET", "/api/media/get/"+strings.ToUpper(tok), nil).expectError(t, 404, "file_token_invalid")
		pm.do("GET", "/api/media/get/nope", nil).expectError(t, 404, "file_token_invalid")
		// Nor can another user attach it.
		tn.as("uploader").attach("pr7214", segA1, map[string]string{"filetoken": tok}).expectError(t, 404, "file_token_invalid")
		pm.do("GET", "/api/media/get/"+tok, nil).expect(t, 200)
		r = do(t, c, "GET", "/api/media/get/"+tok, http.Header{}, nil)
		r.expectError(t, 401, "unauthorized")
	})
}

// SPEC §1, §4: a file token can be attached many times.
func TestMediaTokenReusable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		data := randomBytes(5000)
		tok := pm.upload("shared.bin", data)
		targets := []struct {
			scope          string
			seg            int64
			locale, folder string
		}{
			{"pr7214", segA1, "", ""}, {"pr7214", segA2, "fr", ""}, {"pr7214", segA3, "de", "x/y"},
			{"jbs9927", segA1, "en", ""}, {"pr7300", segC1, "", "z"}, {"jbc500", segC2, "", ""},
		}
		ids := map[string]bool{}
		for _, tg := range targets {
			body := map[string]string{"filetoken": tok, "locale": tg.locale, "relativePath": tg.folder}
			var a wire.Asset
			pm.attach(tg.scope, tg.seg, body).expect(t, 200).json(t, &a)
			ids[a.ID] = true
			pm.do("GET", segPath(tg.seg, "scope", tg.scope, "filename", "shared.bin", "locale", tg.locale, "relativePath", tg.folder), nil).
				expect(t, 200).wantBody(t, data)
		}
		if len(ids) != len(targets) {
			t.Fatalf("%d attaches made %d distinct asset ids", len(targets), len(ids))
		}
		// Deleting some attachments leaves the others and the token intact.
		pm.do("DELETE", segPath(segA1, "scope", "pr7214"), nil).expect(t, 200)
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "shared.bin", "locale", "fr"), nil).expect(t, 200).wantBody(t, data)
		pm.attach("pr7214", segA1, map[string]string{"filetoken": tok}).expect(t, 200)
		pm.do("GET", "/api/media/get/"+tok, nil).expect(t, 200).wantBody(t, data)
	})
}
