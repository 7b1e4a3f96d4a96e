package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// uiTestDir holds the browser tests of the web UI (node, playwright-core, axe-core; its
// node_modules come from scripts/ui-deps.sh).
const uiTestDir = "ui"

// TestUIBrowser runs the web UI's browser tests (e2e/ui/ui.test.mjs) against a real server:
// Debian's Chromium driven by playwright-core signs in, opens a segment, uploads an image, a
// PDF and a video by drag and drop and an image with the file picker, views, seeks, replaces,
// deletes and signs out, as a user with every right and as one with read only, in English
// and German, with axe-core on every state. Screenshots go to a temporary directory and,
// with REFSTORE_UPDATE_SCREENSHOTS=1, to docs/screenshots/.
func TestUIBrowser(t *testing.T) {
	node := uiNode(t)
	chromium := uiChromium(t)
	c := startCluster(t, backends[0])
	tn := newTenant(t, c)
	samples := t.TempDir()
	writeUISamples(t, samples)
	out := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test-reporter=spec", "ui.test.mjs")
	cmd.Dir = uiTestDir
	cmd.Env = append(os.Environ(),
		"REFSTORE_URL="+c.nodes[0].url,
		"REFSTORE_ACCOUNT="+tn.account,
		"REFSTORE_PM_KEY="+apiKey(tn.account, "pm"),
		"REFSTORE_READER_KEY="+apiKey(tn.account, "reader"),
		"UI_SAMPLES="+samples,
		"UI_OUT="+out,
		"CHROMIUM="+chromium,
		"NO_COLOR=1",
	)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	err := cmd.Run()
	t.Logf("node ui.test.mjs (%s):\n%s", time.Since(start).Round(time.Second), output.String())
	if err != nil {
		t.Fatalf("the browser tests failed: %v", err)
	}
	if !strings.Contains(output.String(), "fail 0") {
		t.Fatalf("the browser tests did not report `fail 0`")
	}
	checkScreenshots(t, out)
	if strings.Contains(c.nodes[0].logs(), `"level":"ERROR"`) {
		t.Errorf("the server logged errors during the browser tests:\n%s", c.nodes[0].logs())
	}
}

// uiScreenshots are the pages the browser tests photograph; the README and docs/ui.md show
// them from docs/screenshots/.
var uiScreenshots = []string{"signin", "signin-error", "home", "segment", "viewer-image", "viewer-video",
	"delete-confirm", "segment-de", "segment-readonly"}

// checkScreenshots checks that every screenshot was written and, when asked, copies them to
// docs/screenshots/.
func checkScreenshots(t *testing.T, dir string) {
	t.Helper()
	for _, name := range uiScreenshots {
		b, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 1280 || cfg.Height != 800 {
			t.Fatalf("screenshot %s is not a 1280×800 PNG: %v %+v", name, err, cfg)
		}
		if os.Getenv("REFSTORE_UPDATE_SCREENSHOTS") == "1" {
			dst := filepath.Join("..", "docs", "screenshots", name+".png")
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if os.Getenv("REFSTORE_UPDATE_SCREENSHOTS") == "1" {
		t.Logf("screenshots copied to docs/screenshots/")
	}
}

// uiNode finds node and checks that scripts/ui-deps.sh has installed the test packages.
func uiNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the web UI's browser tests need Node.js 20 or later (scripts/ui-deps.sh)")
	}
	for _, pkg := range []string{"playwright-core", "axe-core", "tus-js-client"} {
		if _, err := os.Stat(filepath.Join(uiTestDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("e2e/ui/node_modules/%s is missing: run scripts/ui-deps.sh (make test-deps)", pkg)
		}
	}
	return node
}

// uiChromium finds Debian's Chromium (CHROMIUM overrides).
func uiChromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run scripts/ui-deps.sh (apt-get install chromium)")
	return ""
}

// writeUISamples writes the files the browser tests upload: two PNGs of different sizes
// (the second replaces the first), a PNG for the German folder, a one-page PDF written by
// hand, and a 12-second WebM from ffmpeg's test source, large enough (about 6 MB) that the
// browser seeks in it with range requests instead of holding it whole.
func writeUISamples(t *testing.T, dir string) {
	t.Helper()
	writePNG(t, filepath.Join(dir, "login-screen.png"), 640, 400, color.RGBA{0x0b, 0x57, 0xa4, 0xff})
	writePNG(t, filepath.Join(dir, "login-screen-v2.png"), 800, 500, color.RGBA{0x1b, 0x6e, 0x35, 0xff})
	writePNG(t, filepath.Join(dir, "startseite.png"), 480, 300, color.RGBA{0xa8, 0x23, 0x1b, 0xff})
	if err := os.WriteFile(filepath.Join(dir, "style-guide.pdf"), samplePDF("refstore style guide: button labels"), 0o644); err != nil {
		t.Fatal(err)
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is not installed (apt-get install ffmpeg): the browser tests upload a video it makes")
	}
	out, err := exec.Command(ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi",
		"-i", "testsrc2=duration=12:size=640x360:rate=25", "-c:v", "libvpx", "-b:v", "4M", "-minrate", "4M",
		"-maxrate", "4M", "-g", "25", filepath.Join(dir, "walkthrough.webm")).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// writePNG draws a picture that is not flat: a background, a lighter frame and diagonal
// stripes, so that thumbnails and screenshots show something.
func writePNG(t *testing.T, path string, w, h int, bg color.RGBA) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	light := color.RGBA{min(bg.R+90, 255), min(bg.G+90, 255), min(bg.B+90, 255), 255}
	for y := range h {
		for x := range w {
			c := bg
			if x < 16 || y < 16 || x >= w-16 || y >= h-16 || (x+y)/24%4 == 0 {
				c = light
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// samplePDF writes a one-page PDF showing text, with a correct cross-reference table.
func samplePDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (%s) Tj ET", text)
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// TestUIScopeRights checks GET /api/browse/scopes/{scope}, which the UI asks to offer only
// the controls a caller has the right for: each caller's own rights, and the same refusals
// as listing the scope.
func TestUIScopeRights(t *testing.T) {
	c := startCluster(t, backends[0])
	tn := newTenant(t, c)
	type rights struct {
		Scope     string   `json:"scope"`
		ProjectID int64    `json:"projectId"`
		Rights    []string `json:"rights"`
	}
	cases := []struct {
		user, scope string
		status      int
		code        string
		rights      []string
		project     int64
	}{
		{"pm", "pr7214", 200, "", []string{"read", "upload", "delete"}, projectID},
		{"reader", "pr7214", 200, "", []string{"read"}, projectID},
		{"uploader", "pr7214", 200, "", []string{"read", "upload"}, projectID},
		{"deleter", "pr7214", 200, "", []string{"read", "delete"}, projectID},
		{"jobber", "jbs9927", 200, "", []string{"read", "upload", "delete"}, projectID},
		{"jobber", "pr7214", 403, "forbidden", nil, 0}, // a job grant gives nothing on the project scope
		{"codyt", "jbc500", 200, "", []string{"read", "upload", "delete"}, otherProject},
		{"pm", "jbs9927", 200, "", []string{"read", "upload", "delete"}, projectID}, // project grant covers its jobs
		{"nogrant", "pr7214", 403, "forbidden", nil, 0},
		{"reader", "pr7300", 403, "forbidden", nil, 0},
		{"pm", "pr99999", 404, "scope_not_found", nil, 0},
		{"pm", "jbs500", 404, "scope_not_found", nil, 0}, // a Codyt job's id is not a standard job's
		{"pm", "7214", 400, "invalid_parameter", nil, 0},
	}
	for _, tc := range cases {
		s := tn.as(tc.user)
		r := s.do("GET", "/api/browse/scopes/"+tc.scope, nil)
		if tc.status != 200 {
			r.expectError(t, tc.status, tc.code)
			continue
		}
		r.expect(t, 200)
		if cc := r.Header.Get("Cache-Control"); cc != "private, no-store" {
			t.Errorf("%s on %s: Cache-Control %q", tc.user, tc.scope, cc)
		}
		var got rights
		r.json(t, &got)
		if got.Scope != tc.scope || got.ProjectID != tc.project || !slices.Equal(got.Rights, tc.rights) {
			t.Errorf("%s on %s: %+v, want rights %v in project %d", tc.user, tc.scope, got, tc.rights, tc.project)
		}
	}
	do(t, c, "GET", "/api/browse/scopes/pr7214", nil, nil).expectError(t, 401, "unauthorized")
	// Another account's session, sent with this account's id, is refused.
	other := newTenant(t, c)
	b := other.as("reader")
	h := http.Header{"X-Auth-Token": {b.token}, "X-Auth-AccountId": {tn.account}}
	do(t, c, "GET", "/api/browse/scopes/pr7214", h, nil).expectError(t, 401, "unauthorized")
}

// TestUIServedByTheBinary checks the page and its files as the binary serves them: the CSP
// and the other security headers, revalidation by ETag, the worker's scope header, and that
// a path under /ui/ that is no file is a 404 while the API keeps its own 404.
func TestUIServedByTheBinary(t *testing.T) {
	c := startCluster(t, backends[0])
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; " +
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	for _, p := range []string{"/", "/ui/app.js", "/ui/app.css", "/ui/sw.js", "/ui/i18n/de.json", "/ui/vendor/tus.min.js"} {
		r := do(t, c, "GET", p, nil, nil).expect(t, 200)
		r.wantHeader(t, "Content-Security-Policy", csp)
		r.wantHeader(t, "X-Content-Type-Options", "nosniff")
		r.wantHeader(t, "Referrer-Policy", "no-referrer")
		r.wantHeader(t, "Cache-Control", "no-cache")
		etag := r.Header.Get("ETag")
		if etag == "" || len(r.body) == 0 {
			t.Fatalf("%s: ETag %q, %d bytes", p, etag, len(r.body))
		}
		do(t, c, "GET", p, http.Header{"If-None-Match": {etag}}, nil).expect(t, 304)
	}
	do(t, c, "GET", "/", nil, nil).wantHeader(t, "Content-Type", "text/html; charset=utf-8")
	do(t, c, "GET", "/ui/app.js", nil, nil).wantHeader(t, "Content-Type", "text/javascript; charset=utf-8")
	do(t, c, "GET", "/ui/sw.js", nil, nil).wantHeader(t, "Service-Worker-Allowed", "/")
	do(t, c, "GET", "/ui/nothing.js", nil, nil).expect(t, 404)
	do(t, c, "POST", "/", nil, nil).expect(t, 405)
	do(t, c, "GET", "/nothing", nil, nil).expectError(t, 404, "not_found")
}
