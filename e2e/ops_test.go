package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// SPEC §9: /healthz, /readyz and /metrics need no credentials.
func TestOpsHealth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		for _, n := range c.nodes {
			for _, h := range []http.Header{nil, {"X-Auth-Token": {"garbage"}, "X-Auth-AccountId": {"nobody"}},
				{"Authorization": {"Bearer wrong"}}} {
				for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
					doURL(t, "GET", n.url+p, h, nil).expect(t, 200)
					doURL(t, "HEAD", n.url+p, h, nil).expect(t, 200)
				}
			}
			r := doURL(t, "GET", n.url+"/healthz", nil, nil).expect(t, 200)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("/healthz Content-Type %q", ct)
			}
			if !n.ready() {
				t.Fatal("/readyz is not 200")
			}
		}
	})
}

var metricLabels = regexp.MustCompile(`\{([^}]*)\}`)

// SPEC §9: /metrics is Prometheus text and reveals no tenant data.
func TestOpsMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		name := "metricsprobe-" + tn.account + ".png"
		tok := pm.upload(name, pngBytes(100))
		a := pm.put("pr7214", segA1, name, "en", "secret-folder", pngBytes(120))
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", name, "locale", "en", "relativePath", "secret-folder"), nil).expect(t, 200)
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "missing-"+name), nil).expect(t, 404)
		pm.do("GET", "/api/media/get/"+tok, nil).expect(t, 200)
		pm.do("GET", "/api/assets/"+a.ID+"/download", nil).expect(t, 200)
		pm.do("GET", flexPath("19641", "27665601/list"), nil).expect(t, 200)
		pm.do("GET", "/api/no/such/"+name, nil).expect(t, 404)
		admin(t, c, "GET", "/admin/v1/accounts/"+tn.account, nil).expect(t, 200)
		do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": tn.account, "key": "wrong"})).expect(t, 401)

		secrets := []string{tn.account, name, "secret-folder", tok, a.ID, strings.TrimPrefix(a.ID, "re_"), pm.token,
			apiKey(tn.account, "pm"), adminToken}
		labelSecrets := []string{"7214", "19641", "27665601", "9927"}
		for _, n := range c.nodes {
			r := doURL(t, "GET", n.url+"/metrics", nil, nil).expect(t, 200)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("/metrics Content-Type %q, want Prometheus text", ct)
			}
			if !bytes.Contains(r.body, []byte("# TYPE refstore_http_requests_total counter")) ||
				!regexp.MustCompile(`(?m)^refstore_http_requests_total\{[^}]*\} [0-9.e+]+$`).Match(r.body) {
				t.Fatalf("/metrics lacks refstore_http_requests_total samples:\n%s", truncate(r.body))
			}
			// Which build each node runs (version, revision, Go version), for a dashboard.
			if !regexp.MustCompile(`(?m)^refstore_build_info\{[^}]*goversion="go1\.[^"]+"[^}]*\} 1$`).Match(r.body) {
				t.Fatalf("/metrics lacks refstore_build_info:\n%s", truncate(r.body))
			}
			for _, s := range secrets {
				if bytes.Contains(r.body, []byte(s)) {
					t.Fatalf("/metrics reveals %q", s)
				}
			}
			for _, m := range metricLabels.FindAllSubmatch(r.body, -1) {
				for _, s := range labelSecrets {
					if bytes.Contains(m[1], []byte(s)) {
						t.Fatalf("/metrics label set {%s} carries the id %s", m[1], s)
					}
				}
			}
		}
	})
}

// SPEC §1 storage layout: the filesystem backend keeps the reference-material tree on disk.
func TestOpsStorageLayout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		if c.backend.name != "embedded" {
			t.Skip("the on-disk layout is the filesystem backend's")
		}
		data := c.nodes[0].opts.Data
		tn := newTenant(t, c)
		pm := tn.as("pm")
		proj := filepath.Join(data, "accounts", tn.account, "projects")
		seg := filepath.Join(proj, "7214", "assets", "19641", "601", "27665601")
		bytesA := pngBytes(300)
		pm.put("pr7214", segA1, "shot.png", "en", "public/images", bytesA)
		wantFile(t, filepath.Join(seg, "en", "public", "images", "shot.png"), bytesA)
		// Neutral, at the segment root; folders given inside the name; backslashes.
		pm.put("pr7214", segA1, "root.txt", "", "", []byte("root"))
		wantFile(t, filepath.Join(seg, "root.txt"), []byte("root"))
		tok := pm.upload(`docs\pdfs\x.txt`, []byte("x"))
		pm.attach("pr7214", segA1, map[string]string{"filetoken": tok, "locale": "fr-CA"}).expect(t, 200)
		wantFile(t, filepath.Join(seg, "fr-CA", "docs", "pdfs", "x.txt"), []byte("x"))
		// "/etc" is a folder under the segment, never the host's.
		pm.put("pr7300", segC1, "passwd", "", "/etc", []byte("not a host file"))
		wantFile(t, filepath.Join(proj, "7300", "assets", "19700", "1", "27670001", "etc", "passwd"), []byte("not a host file"))
		// An overwrite replaces the file; a locale given as en-us is stored as en-US.
		newer := pngBytes(50)
		pm.put("pr7214", segA1, "shot.png", "en", `public\images`, newer)
		wantFile(t, filepath.Join(seg, "en", "public", "images", "shot.png"), newer)
		pm.put("pr7214", segB1, "us.txt", "en-us", "", []byte("us"))
		wantFile(t, filepath.Join(proj, "7214", "assets", "19642", "1", "27666001", "en-US", "us.txt"), []byte("us"))

		got := treeFiles(t, proj)
		want := []string{
			"7214/assets/19641/601/27665601/en/public/images/shot.png",
			"7214/assets/19641/601/27665601/root.txt",
			"7214/assets/19641/601/27665601/fr-CA/docs/pdfs/x.txt",
			"7214/assets/19642/1/27666001/en-US/us.txt",
			"7300/assets/19700/1/27670001/etc/passwd",
		}
		if len(got) != len(want) {
			t.Fatalf("tree holds %v, want %v", keysOfBool(got), want)
		}
		for _, w := range want {
			if !got[filepath.FromSlash(w)] {
				t.Fatalf("tree holds %v, want %v", keysOfBool(got), want)
			}
		}
		// Deleting removes the file, and delete-all the segment's files.
		pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "root.txt"), nil).expect(t, 200)
		if _, err := os.Stat(filepath.Join(seg, "root.txt")); !os.IsNotExist(err) {
			t.Fatalf("deleted asset's file: %v", err)
		}
		pm.do("DELETE", segPath(segA1, "scope", "pr7214"), nil).expect(t, 200).wantHeader(t, "X-Deleted-Count", "2")
		if files := treeFiles(t, seg); len(files) != 0 {
			t.Fatalf("files left after delete-all: %v", keysOfBool(files))
		}
	})
}

// SPEC §1 storage layout: the same bytes attached many times are stored once, as hard links.
func TestOpsHardLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		if c.backend.name != "embedded" {
			t.Skip("hard links are the filesystem backend's")
		}
		data := c.nodes[0].opts.Data
		tn := newTenant(t, c)
		// 20 more segments in document 19641.
		var segs []int64
		for i := int64(0); i < 20; i++ {
			segs = append(segs, 27665700+i)
		}
		admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{
			"id": tn.account, "projects": []map[string]any{{"id": projectID,
				"documents": []map[string]any{{"id": docA, "segments": segs}}}}}}}).expect(t, 200)
		pm := tn.as("pm")
		content := pngBytes(64 << 10)
		tok := pm.upload("same.png", content)
		var paths []string
		locales := []string{"", "en", "fr", "de-CH"}
		for i, seg := range segs {
			locale := locales[i%len(locales)]
			folder := ""
			if i%3 == 1 {
				folder = fmt.Sprintf("f%d/g", i)
			}
			pm.attach("pr7214", seg, map[string]string{"filetoken": tok, "locale": locale, "relativePath": folder}).expect(t, 200)
			p := filepath.Join(data, "accounts", tn.account, "projects", "7214", "assets", "19641",
				fmt.Sprint(seg%1000), fmt.Sprint(seg))
			if locale != "" {
				p = filepath.Join(p, locale)
			}
			if folder != "" {
				p = filepath.Join(p, filepath.FromSlash(folder))
			}
			paths = append(paths, filepath.Join(p, "same.png"))
		}
		if files := treeFiles(t, filepath.Join(data, "accounts", tn.account, "projects")); len(files) != 20 {
			t.Fatalf("tree holds %d files, want 20", len(files))
		}
		blobs := treeFiles(t, filepath.Join(data, "accounts", tn.account, "blobs"))
		if len(blobs) != 1 {
			t.Fatalf("account holds %d blobs for one content, want 1: %v", len(blobs), keysOfBool(blobs))
		}
		var blob string
		for b := range blobs {
			blob = filepath.Join(data, "accounts", tn.account, "blobs", b)
		}
		blobInfo, err := os.Stat(blob)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			wantFile(t, p, content)
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(info, blobInfo) {
				t.Fatalf("%s is not a hard link of the blob", p)
			}
		}
		if n := blobInfo.Sys().(*syscall.Stat_t).Nlink; n != 21 {
			t.Fatalf("the blob has %d links, want 21 (the blob and 20 tree entries)", n)
		}
		// Uploading the same bytes again adds no blob; deleting some assets drops their links.
		tok2 := pm.upload("again.png", content)
		pm.attach("pr7214", segA1, map[string]string{"filetoken": tok2}).expect(t, 200)
		if b := treeFiles(t, filepath.Join(data, "accounts", tn.account, "blobs")); len(b) != 1 {
			t.Fatalf("a second upload of the same bytes made %d blobs", len(b))
		}
		for _, seg := range segs[:5] {
			pm.do("DELETE", segPath(seg, "scope", "pr7214"), nil).expect(t, 200).wantHeader(t, "X-Deleted-Count", "1")
		}
		info, _ := os.Stat(blob)
		if n := info.Sys().(*syscall.Stat_t).Nlink; n != 17 {
			t.Fatalf("after 5 deletes and 1 more attach the blob has %d links, want 17", n)
		}
	})
}

// wantFile fails unless the file at p holds want.
func wantFile(t testing.TB, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading %s: %v", p, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s holds %d bytes that differ from the %d expected", p, len(got), len(want))
	}
}
