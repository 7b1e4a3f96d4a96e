package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/refstore/refstore/wire"
)

var assetIDPattern = regexp.MustCompile(`^re_[0-9]+$`)

// pngBytes is a file that content detection takes for a PNG image.
func pngBytes(n int) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), randomBytes(n)...)
}

// checkAssetJSON checks the project-route asset JSON of an attach or list field by field.
func checkAssetJSON(t testing.TB, raw json.RawMessage, scope string, project, doc, seg int64, locale, relPath, name string, size int64, contentType string) wire.Asset {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("asset JSON %s: %v", raw, err)
	}
	wantKeys(t, "asset JSON", m, "projectId", "documentId", "segmentId", "locale", "relativePath", "name", "size",
		"contentType", "createdDate", "modifiedDate", "downloadUrl", "id")
	wantRaw := func(k, want string) {
		t.Helper()
		if string(m[k]) != want {
			t.Fatalf("asset JSON %s = %s, want %s (in %s)", k, m[k], want, raw)
		}
	}
	wantRaw("projectId", fmt.Sprint(project))
	wantRaw("documentId", fmt.Sprint(doc))
	wantRaw("segmentId", fmt.Sprint(seg))
	if locale == "" {
		wantRaw("locale", "null")
	} else {
		wantRaw("locale", fmt.Sprintf("%q", locale))
	}
	rp, _ := json.Marshal(relPath)
	wantRaw("relativePath", string(rp))
	nm, _ := json.Marshal(name)
	wantRaw("name", string(nm))
	wantRaw("size", fmt.Sprint(size))
	if contentType != "" {
		wantRaw("contentType", fmt.Sprintf("%q", contentType))
	}
	var a wire.Asset
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if !assetIDPattern.MatchString(a.ID) {
		t.Fatalf("asset id %q is not re_ followed by digits", a.ID)
	}
	created, modified := netTicks(t, a.CreatedDate), netTicks(t, a.ModifiedDate)
	if created > modified {
		t.Fatalf("createdDate %s after modifiedDate %s", a.CreatedDate, a.ModifiedDate)
	}
	checkDownloadURL(t, a.DownloadURL, segPath(seg), locale, scope, name, relPath, modified)
	return a
}

// checkDownloadURL checks an absolute download URL: its path, and the query parameters
// locale, scope, filename, relativePath and v, present exactly when set and in that order.
func checkDownloadURL(t testing.TB, raw, path, locale, scope, name, relPath string, ticks int64) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		t.Fatalf("downloadUrl %q is not an absolute http URL", raw)
	}
	if u.Path != path {
		t.Fatalf("downloadUrl %q: path %q, want %q", raw, u.Path, path)
	}
	type kv struct{ k, v string }
	var want []kv
	if locale != "" {
		want = append(want, kv{"locale", locale})
	}
	if scope != "" {
		want = append(want, kv{"scope", scope})
	}
	want = append(want, kv{"filename", name})
	if relPath != "" {
		want = append(want, kv{"relativePath", relPath})
	}
	want = append(want, kv{"v", fmt.Sprint(ticks)})
	var got []kv
	for _, p := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(p, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			t.Fatalf("downloadUrl %q: bad query escape", raw)
		}
		got = append(got, kv{dk, dv})
	}
	if len(got) != len(want) {
		t.Fatalf("downloadUrl %q: query %v, want %v", raw, got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.k == "relativePath" && w.k == "relativePath" {
			// Either separator addresses the same folders.
			g.v = strings.ReplaceAll(g.v, "/", `\`)
		}
		if g != w {
			t.Fatalf("downloadUrl %q: query %v, want %v (in this order)", raw, got, want)
		}
	}
}

// sameAsset compares two asset JSONs field by field (locale by value).
// sameAsset compares two asset JSONs. The host of downloadUrl is the node's that answered
// (without --public-url), so on a cluster only its path and query must agree.
func sameAsset(a, b wire.Asset) bool {
	la, lb := a.Locale, b.Locale
	a.Locale, b.Locale = nil, nil
	a.DownloadURL, b.DownloadURL = withoutHost(a.DownloadURL), withoutHost(b.DownloadURL)
	return a == b && (la == nil) == (lb == nil) && (la == nil || *la == *lb)
}

func withoutHost(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[i+3+j:]
		}
	}
	return u
}

// SPEC §5: the asset JSON of attach, in each kind of scope.
func TestAssetAttachJSON(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm, jobber, codyt := tn.as("pm"), tn.as("jobber"), tn.as("codyt")
		for _, tc := range []struct {
			s               *session
			scope           string
			project, doc    int64
			seg             int64
			locale, relPath string
			wantRel, name   string
			wantLocale      string
			data            []byte
			contentType     string
		}{
			{s: pm, scope: "pr7214", project: projectID, doc: docA, seg: segA1, locale: "en", relPath: "public/images",
				wantRel: `public\images`, name: "shot.png", wantLocale: "en", data: pngBytes(3000), contentType: "image/png"},
			{s: pm, scope: "pr7214", project: projectID, doc: docB, seg: segB1, name: "notes.txt",
				data: []byte("plain notes\n"), contentType: "text/plain; charset=utf-8"},
			{s: jobber, scope: "jbs9927", project: projectID, doc: docA, seg: segA2, locale: "fr-CA", relPath: `a\b\c`,
				wantRel: `a\b\c`, name: "deep.png", wantLocale: "fr-CA", data: pngBytes(10), contentType: "image/png"},
			{s: codyt, scope: "jbc500", project: otherProject, doc: docC, seg: segC1, locale: "de",
				name: "report.pdf", wantLocale: "de", data: []byte("%PDF-1.4\n%…\n"), contentType: "application/pdf"},
		} {
			tok := tc.s.upload(tc.name, tc.data)
			body := map[string]string{"filetoken": tok}
			if tc.locale != "" {
				body["locale"] = tc.locale
			}
			if tc.relPath != "" {
				body["relativePath"] = tc.relPath
			}
			r := tc.s.attach(tc.scope, tc.seg, body).expect(t, 200)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("attach Content-Type %q", ct)
			}
			a := checkAssetJSON(t, r.body, tc.scope, tc.project, tc.doc, tc.seg, tc.wantLocale, tc.wantRel, tc.name,
				int64(len(tc.data)), tc.contentType)
			// The download URL works as given.
			got := doURL(t, "GET", a.DownloadURL, tc.s.headers(), nil).expect(t, 200)
			got.wantBody(t, tc.data)
			got.wantHeader(t, "Cache-Control", "private, max-age=31536000, immutable")
			// The list shows the same JSON.
			var list []json.RawMessage
			tc.s.do("GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", tc.seg, tc.scope), nil).expect(t, 200).json(t, &list)
			if len(list) != 1 {
				t.Fatalf("list of %d: %d entries", tc.seg, len(list))
			}
			l := checkAssetJSON(t, list[0], tc.scope, tc.project, tc.doc, tc.seg, tc.wantLocale, tc.wantRel, tc.name,
				int64(len(tc.data)), tc.contentType)
			if !sameAsset(l, a) {
				t.Fatalf("list %+v differs from attach %+v", l, a)
			}
		}
		// The same asset seen through another scope carries that scope in its URL.
		var viaJob []json.RawMessage
		pm.do("GET", "/api/resources/assets/27665601/list?scope=jbs9927", nil).expect(t, 200).json(t, &viaJob)
		if len(viaJob) != 1 {
			t.Fatalf("job list: %d entries", len(viaJob))
		}
		var a wire.Asset
		json.Unmarshal(viaJob[0], &a)
		checkDownloadURL(t, a.DownloadURL, segPath(segA1), "en", "jbs9927", "shot.png", `public\images`, netTicks(t, a.ModifiedDate))
		doURL(t, "GET", a.DownloadURL, jobber.headers(), nil).expect(t, 200)
	})
}

// SPEC §1, §5: overwriting keeps the id and createdDate and moves modifiedDate and v.
func TestAssetOverwrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		first := pm.put("pr7214", segA1, "shot.png", "en", "img", pngBytes(100))
		newer := pngBytes(200)
		second := pm.put("pr7214", segA1, "shot.png", "en", "img", newer)
		if second.ID != first.ID || second.CreatedDate != first.CreatedDate {
			t.Fatalf("overwrite changed id or createdDate: %+v → %+v", first, second)
		}
		if netTicks(t, second.ModifiedDate) <= netTicks(t, first.ModifiedDate) {
			t.Fatalf("modifiedDate did not move forward: %s → %s", first.ModifiedDate, second.ModifiedDate)
		}
		if second.DownloadURL == first.DownloadURL || second.Size != int64(len(newer)) {
			t.Fatalf("overwrite kept the download URL or size: %+v", second)
		}
		checkDownloadURL(t, second.DownloadURL, segPath(segA1), "en", "pr7214", "shot.png", "img", netTicks(t, second.ModifiedDate))
		doURL(t, "GET", second.DownloadURL, pm.headers(), nil).expect(t, 200).wantBody(t, newer)
		// The old URL now reaches the new bytes, and may not be cached.
		old := doURL(t, "GET", first.DownloadURL, pm.headers(), nil).expect(t, 200)
		old.wantBody(t, newer)
		old.wantHeader(t, "Cache-Control", "private, no-cache")
		if l := pm.listAssets("pr7214", segA1); len(l) != 1 || !sameAsset(l[0], second) {
			t.Fatalf("list after overwrite: %+v", l)
		}
		// Overwriting with the same bytes still moves the version.
		third := pm.put("pr7214", segA1, "shot.png", "en", "img", newer)
		if third.ID != first.ID || netTicks(t, third.ModifiedDate) <= netTicks(t, second.ModifiedDate) {
			t.Fatalf("second overwrite: %+v", third)
		}
	})
}

// SPEC §5: list one, sorted by locale (neutral first), relativePath, name; empty is [].
func TestAssetListOne(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		r := pm.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expect(t, 200)
		if strings.TrimSpace(string(r.body)) != "[]" {
			t.Fatalf("empty segment lists as %q, want []", r.body)
		}
		type entry struct{ locale, rel, name string }
		// Attached out of order.
		for _, e := range []entry{
			{"en", "a", "c.txt"}, {"", "x", "a.txt"}, {"de", "", "z.txt"}, {"", "", "b.txt"},
			{"en", "", "a.txt"}, {"", "", "a.txt"}, {"", "x/y", "a.txt"}, {"de", "", "m.txt"},
		} {
			pm.put("pr7214", segA1, e.name, e.locale, e.rel, []byte(e.locale+e.rel+e.name))
		}
		want := []entry{
			{"", "", "a.txt"}, {"", "", "b.txt"}, {"", "x", "a.txt"}, {"", `x\y`, "a.txt"},
			{"de", "", "m.txt"}, {"de", "", "z.txt"}, {"en", "", "a.txt"}, {"en", "a", "c.txt"},
		}
		list := pm.listAssets("pr7214", segA1)
		var got []entry
		for _, a := range list {
			l := ""
			if a.Locale != nil {
				l = *a.Locale
				if l == "" {
					t.Fatalf("locale \"\" instead of null: %+v", a)
				}
			}
			got = append(got, entry{l, a.RelativePath, a.Name})
		}
		if !slices.Equal(got, want) {
			t.Fatalf("list order\n got %v\nwant %v", got, want)
		}
		// Other segments stay empty.
		if l := pm.listAssets("pr7214", segA2); len(l) != 0 {
			t.Fatalf("segA2 lists %+v", l)
		}
	})
}

// SPEC §5: list many.
func TestAssetListMany(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		a1 := pm.put("pr7214", segA1, "one.txt", "", "", []byte("1"))
		a2 := pm.put("pr7214", segA2, "two.txt", "en", "", []byte("2"))
		a3 := pm.put("pr7214", segA2, "three.txt", "", "", []byte("3"))
		b1 := pm.put("pr7214", segB1, "b.txt", "", "", []byte("b"))
		listMany := func(scope, ids string) *response {
			return pm.do("GET", "/api/resources/assets/list?"+query("scope", scope, "segmentIds", ids), nil)
		}
		ids := func(r *response) []string {
			r.expect(t, 200)
			var l []wire.Asset
			r.json(t, &l)
			var out []string
			for _, a := range l {
				out = append(out, a.ID)
			}
			return out
		}
		got := ids(listMany("pr7214", "27665601,27665602,27666001"))
		want := []string{a1.ID, a3.ID, a2.ID, b1.ID}
		if !slices.Equal(got, want) {
			t.Fatalf("list many: %v, want %v", got, want)
		}
		// Duplicates are ignored.
		if got := ids(listMany("pr7214", "27665601,27665602,27665601,27665602,27666001")); !slices.Equal(got, want) {
			t.Fatalf("list many with duplicates: %v, want %v", got, want)
		}
		if got := ids(listMany("pr7214", "27665603")); len(got) != 0 {
			t.Fatalf("empty segment: %v", got)
		}
		r := listMany("pr7214", "27665603")
		if strings.TrimSpace(string(r.body)) != "[]" {
			t.Fatalf("empty list many is %q, want []", r.body)
		}
		// In a job scope only the job's documents are reachable.
		if got := ids(listMany("jbs9927", "27665601,27665602")); !slices.Equal(got, []string{a1.ID, a3.ID, a2.ID}) {
			t.Fatalf("job list many: %v", got)
		}
		listMany("jbs9927", "27665601,27666001").expectError(t, 404, "segment_not_found")
		listMany("pr7214", "27665601,27670001").expectError(t, 404, "segment_not_found")
		listMany("pr7214", "27665601,99999999").expectError(t, 404, "segment_not_found")
		listMany("pr7214", "27665601,abc").reasonNames(t, "invalid_parameter", "segmentIds")
		listMany("pr7214", "27665601,-5").reasonNames(t, "invalid_parameter", "segmentIds")
		listMany("pr7214", "").reasonNames(t, "invalid_parameter", "segmentIds")
		pm.do("GET", "/api/resources/assets/list?scope=pr7214", nil).reasonNames(t, "invalid_parameter", "segmentIds")
		listMany("px7214", "27665601").reasonNames(t, "invalid_parameter", "scope")
		listMany("pr1", "27665601").expectError(t, 404, "scope_not_found")

		// Up to 1000 distinct ids; a document of 1001 segments is added for that.
		const base = 90000000
		segs := make([]int64, 1001)
		for i := range segs {
			segs[i] = base + int64(i)
		}
		admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{
			"id": tn.account, "projects": []map[string]any{{"id": projectID,
				"documents": []map[string]any{{"id": 50000, "segments": segs}}}}}}}).expect(t, 200)
		last := pm.put("pr7214", segs[999], "last.txt", "", "", []byte("last"))
		strs := make([]string, len(segs))
		for i, s := range segs {
			strs[i] = fmt.Sprint(s)
		}
		if got := ids(listMany("pr7214", strings.Join(strs[:1000], ","))); !slices.Equal(got, []string{last.ID}) {
			t.Fatalf("list of 1000 ids: %v", got)
		}
		// 1000 distinct ids spelled with duplicates are still 1000.
		if got := ids(listMany("pr7214", strings.Join(append(strs[:1000:1000], strs[:10]...), ","))); len(got) != 1 {
			t.Fatalf("list of 1000 ids with duplicates: %v", got)
		}
		listMany("pr7214", strings.Join(strs, ",")).reasonNames(t, "invalid_parameter", "segmentIds")
	})
}

// SPEC §5: delete one, delete all, and the empty filename.
func TestAssetDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		pm.put("pr7214", segA1, "a.txt", "", "", []byte("a"))
		pm.put("pr7214", segA1, "a.txt", "en", "", []byte("a-en"))
		pm.put("pr7214", segA1, "b.txt", "fr", "x/y", []byte("b-fr"))
		pm.put("pr7214", segA1, "c.txt", "de", "", []byte("c-de"))
		keep := pm.put("pr7214", segA2, "keep.txt", "", "", []byte("keep"))

		// One asset: only the address named goes.
		r := pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "a.txt", "locale", "en"), nil).expect(t, 200)
		if len(r.body) != 0 {
			t.Fatalf("delete body %q, want empty", r.body)
		}
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "a.txt", "locale", "en"), nil).expectError(t, 404, "asset_not_found")
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "a.txt"), nil).expect(t, 200).wantBody(t, []byte("a"))
		if n := len(pm.listAssets("pr7214", segA1)); n != 3 {
			t.Fatalf("%d assets left, want 3", n)
		}
		// Deleting what is not there is fine.
		r = pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "a.txt", "locale", "en"), nil).expect(t, 200)
		if len(r.body) != 0 {
			t.Fatalf("delete body %q, want empty", r.body)
		}
		pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "never.txt"), nil).expect(t, 200)
		// The address must match: b.txt lives in fr and x\y.
		pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "b.txt", "locale", "fr"), nil).expect(t, 200)
		pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "b.txt", "relativePath", "x/y"), nil).expect(t, 200)
		if n := len(pm.listAssets("pr7214", segA1)); n != 3 {
			t.Fatalf("%d assets left after deleting other addresses, want 3", n)
		}

		// filename= present but empty is a 400, not a delete-all.
		pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", ""), nil).reasonNames(t, "invalid_parameter", "filename")
		pm.do("DELETE", "/api/resources/assets/27665601?scope=pr7214&filename", nil).reasonNames(t, "invalid_parameter", "filename")
		if n := len(pm.listAssets("pr7214", segA1)); n != 3 {
			t.Fatalf("%d assets left after an empty filename, want 3", n)
		}

		// Without filename: every asset of the segment, in all locales.
		r = pm.do("DELETE", segPath(segA1, "scope", "pr7214"), nil).expect(t, 200)
		r.wantHeader(t, "X-Deleted-Count", "3")
		if len(r.body) != 0 {
			t.Fatalf("delete-all body %q, want empty", r.body)
		}
		if n := len(pm.listAssets("pr7214", segA1)); n != 0 {
			t.Fatalf("%d assets left after delete-all", n)
		}
		pm.do("DELETE", segPath(segA1, "scope", "pr7214"), nil).expect(t, 200).wantHeader(t, "X-Deleted-Count", "0")
		// Other segments are untouched.
		if l := pm.listAssets("pr7214", segA2); len(l) != 1 || l[0].ID != keep.ID {
			t.Fatalf("segA2 after delete-all of segA1: %+v", l)
		}
		// In a job scope, delete-all works on a covered segment and 404s outside.
		jobber := newTenantSession(t, pm, "jobber")
		pm.put("pr7214", segB1, "b.txt", "", "", []byte("b"))
		jobber.do("DELETE", segPath(segB1, "scope", "jbs9927"), nil).expectError(t, 404, "segment_not_found")
		jobber.do("DELETE", segPath(segA2, "scope", "jbs9927"), nil).expect(t, 200).wantHeader(t, "X-Deleted-Count", "1")
		if len(pm.listAssets("pr7214", segB1)) != 1 {
			t.Fatal("a refused delete-all removed assets")
		}
	})
}

// newTenantSession logs another fixture user of the same tenant in.
func newTenantSession(t testing.TB, s *session, user string) *session {
	t.Helper()
	tn := &tenant{t: t, c: s.c, account: s.account}
	return tn.as(user)
}

// SPEC §5: the path rules, through the API.
func TestAssetPathRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		tok := pm.upload("ok.txt", []byte("ok"))
		bad := []string{
			".", "..", "a/../b.txt", "./b.txt", "a/./b.txt",
			"C:", `C:\b.txt`, "c:b.txt", `\\server\share\b.txt`, "//server/b.txt",
			"a\x01b.txt", "a\x1fb.txt", "a\x7fb.txt", "a\nb.txt", "a\tb.txt", "a\x00b.txt", "a\u0085b.txt",
			"a<b.txt", "a>b.txt", "a:b.txt", `a"b.txt`, "a|b.txt", "a?b.txt", "a*b.txt",
			"b.txt.", "b.txt ", "dir./b.txt", "dir /b.txt",
			strings.Repeat("n", 252) + ".txt", // 256 bytes
			strings.Repeat("é", 128) + ".txt", // 260 bytes, 132 characters
			strings.Repeat(strings.Repeat("d", 250)+"/", 5) + "b.txt",
		}
		for _, name := range bad {
			pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", name), nil).reasonNames(t, "invalid_parameter", "filename")
			pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", name), nil).reasonNames(t, "invalid_parameter", "filename")
			pm.uploadResp("x.txt", query("filename", name), []byte("x")).reasonNames(t, "invalid_parameter", "filename")
		}
		badFolders := []string{
			".", "..", "a/../b", "a/./b", "C:", `C:\x`, `\\server\share`, "//server/share", "a\x01b", "a\x7f",
			"a<b", "a>b", "a:b", `a"b`, "a|b", "a?b", "a*b", "dir.", "dir ", "x/dir./y",
			strings.Repeat("d", 256),
			strings.Repeat(strings.Repeat("d", 250)+"/", 5),
		}
		for _, rel := range badFolders {
			pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "ok.txt", "relativePath", rel), nil).
				reasonNames(t, "invalid_parameter", "relativePath")
			pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "ok.txt", "relativePath", rel), nil).
				reasonNames(t, "invalid_parameter", "relativePath")
			pm.attach("pr7214", segA1, map[string]string{"filetoken": tok, "relativePath": rel}).
				reasonNames(t, "invalid_parameter", "relativePath")
		}
		for _, loc := range []string{"not a locale", "@@", "e", "123", "en-", "xx-!!", "en/US", "../en", strings.Repeat("a", 70)} {
			pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "ok.txt", "locale", loc), nil).
				reasonNames(t, "invalid_parameter", "locale")
			pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "ok.txt", "locale", loc), nil).
				reasonNames(t, "invalid_parameter", "locale")
			pm.attach("pr7214", segA1, map[string]string{"filetoken": tok, "locale": loc}).
				reasonNames(t, "invalid_parameter", "locale")
		}
		if l := pm.listAssets("pr7214", segA1); len(l) != 0 {
			t.Fatalf("refused calls attached %+v", l)
		}

		// At the limits: a 255-byte name and a 1024-byte folder path are fine.
		long := strings.Repeat("n", 251) + ".txt"
		folders := strings.Repeat(strings.Repeat("d", 255)+"/", 3) + strings.Repeat("e", 254) + "/f" // 1024 bytes
		if len(long) != 255 || len(folders) != 1024 {
			t.Fatalf("bad test data: %d, %d", len(long), len(folders))
		}
		data := []byte("at the limits")
		a := pm.put("pr7214", segA2, long, "", folders, data)
		if a.Name != long || a.RelativePath != strings.ReplaceAll(folders, "/", `\`) {
			t.Fatalf("asset at the limits: %+v", a)
		}
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", long, "relativePath", folders), nil).expect(t, 200).wantBody(t, data)
		doURL(t, "GET", a.DownloadURL, pm.headers(), nil).expect(t, 200).wantBody(t, data)
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "x"+long, "relativePath", folders), nil).
			reasonNames(t, "invalid_parameter", "filename")
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", long, "relativePath", folders+"g"), nil).
			reasonNames(t, "invalid_parameter", "relativePath")
	})
}

// SPEC §5: separators, case and locales address assets the way the SPEC says.
func TestAssetAddressing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		data := pngBytes(50)
		a := pm.put("pr7214", segA1, "x.png", "", "/public/images/", data)
		if a.RelativePath != `public\images` {
			t.Fatalf("relativePath %q, want public\\images", a.RelativePath)
		}
		for _, kv := range [][]string{
			{"filename", "x.png", "relativePath", `public\images`},
			{"filename", "x.png", "relativePath", "public/images"},
			{"filename", "x.png", "relativePath", "/public/images"},
			{"filename", "x.png", "relativePath", `\public\\images\`},
			{"filename", "x.png", "relativePath", "public//images"},
			{"filename", "public/images/x.png"},
			{"filename", `public\images\x.png`},
			{"filename", "/public/images/x.png"},
			{"filename", "other/x.png", "relativePath", "public/images"}, // relativePath wins
		} {
			pm.do("GET", segPath(segA1, append([]string{"scope", "pr7214"}, kv...)...), nil).expect(t, 200).wantBody(t, data)
		}
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "x.png"), nil).expectError(t, 404, "asset_not_found")
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "x.png", "relativePath", "public"), nil).expectError(t, 404, "asset_not_found")
		// Overwriting through the other spelling hits the same asset.
		b := pm.put("pr7214", segA1, "x.png", "", `public\images`, pngBytes(60))
		if b.ID != a.ID {
			t.Fatalf("public\\images made a new asset %s next to %s", b.ID, a.ID)
		}
		if n := len(pm.listAssets("pr7214", segA1)); n != 1 {
			t.Fatalf("%d assets, want 1", n)
		}

		// Names are matched exactly, case included.
		upper := pm.put("pr7214", segA2, "Shot.PNG", "", "", []byte("upper"))
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "shot.png"), nil).expectError(t, 404, "asset_not_found")
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "Shot.png"), nil).expectError(t, 404, "asset_not_found")
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "Shot.PNG"), nil).expect(t, 200).wantBody(t, []byte("upper"))
		lower := pm.put("pr7214", segA2, "shot.png", "", "", []byte("lower"))
		if lower.ID == upper.ID {
			t.Fatal("shot.png overwrote Shot.PNG")
		}
		pm.do("GET", segPath(segA2, "scope", "pr7214", "filename", "shot.png"), nil).expect(t, 200).wantBody(t, []byte("lower"))
		pm.do("DELETE", segPath(segA2, "scope", "pr7214", "filename", "SHOT.PNG"), nil).expect(t, 200)
		if n := len(pm.listAssets("pr7214", segA2)); n != 2 {
			t.Fatalf("a delete of SHOT.PNG removed something: %d left", n)
		}
		// Folder names too.
		pm.put("pr7214", segA3, "f.txt", "", "Dir", []byte("dir"))
		pm.do("GET", segPath(segA3, "scope", "pr7214", "filename", "f.txt", "relativePath", "dir"), nil).expectError(t, 404, "asset_not_found")

		// Locales are canonical BCP 47: en-us finds en-US, and is stored as en-US.
		us := pm.put("pr7214", segA3, "us.txt", "en-US", "", []byte("us"))
		for _, loc := range []string{"en-US", "en-us", "EN-us"} {
			pm.do("GET", segPath(segA3, "scope", "pr7214", "filename", "us.txt", "locale", loc), nil).expect(t, 200).wantBody(t, []byte("us"))
		}
		pm.do("GET", segPath(segA3, "scope", "pr7214", "filename", "us.txt", "locale", "en"), nil).expectError(t, 404, "asset_not_found")
		pm.do("GET", segPath(segA3, "scope", "pr7214", "filename", "us.txt"), nil).expectError(t, 404, "asset_not_found")
		again := pm.put("pr7214", segA3, "us.txt", "en-us", "", []byte("us2"))
		if again.ID != us.ID || again.Locale == nil || *again.Locale != "en-US" {
			t.Fatalf("attach with en-us: %+v, want an overwrite of %s in en-US", again, us.ID)
		}
		// An empty locale means language-neutral.
		neutral := pm.put("pr7214", segA3, "n.txt", "", "", []byte("n"))
		pm.do("GET", segPath(segA3, "scope", "pr7214", "filename", "n.txt", "locale", ""), nil).expect(t, 200)
		if neutral.Locale != nil {
			t.Fatalf("neutral asset has locale %q", *neutral.Locale)
		}
	})
}

// SPEC §5, storage layout: addresses that would need a file and a folder at the same place
// are a 409.
func TestAssetLayoutConflict(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		attach := func(seg int64, name, locale, rel string) *response {
			tok := pm.upload(name, []byte(name+locale+rel))
			return pm.attach("pr7214", seg, map[string]string{"filetoken": tok, "locale": locale, "relativePath": rel})
		}
		// A file named "en" at the root, then a locale-en asset.
		attach(segA1, "en", "", "").expect(t, 200)
		attach(segA1, "x.png", "en", "").expectError(t, 409, "conflict")
		// The other order.
		attach(segA2, "x.png", "en", "").expect(t, 200)
		attach(segA2, "en", "", "").expectError(t, 409, "conflict")
		// Locale en against folder en, same name.
		attach(segA3, "y.png", "en", "").expect(t, 200)
		attach(segA3, "y.png", "", "en").expectError(t, 409, "conflict")
		// A file where a folder is needed.
		attach(segB1, "docs", "", "").expect(t, 200)
		attach(segB1, "z.txt", "", "docs").expectError(t, 409, "conflict")
		attach(segB2, "z.txt", "", "docs/sub").expect(t, 200)
		attach(segB2, "sub", "", "docs").expectError(t, 409, "conflict")
		// Nothing of the refused attaches was kept, and unrelated neighbours are fine.
		for _, seg := range []int64{segA1, segA2, segA3, segB1, segB2} {
			if n := len(pm.listAssets("pr7214", seg)); n != 1 {
				t.Fatalf("segment %d holds %d assets, want 1", seg, n)
			}
		}
		attach(segA3, "y.png", "", "fr-folder").expect(t, 200)
		attach(segA1, "x.png", "fr", "").expect(t, 200)
		// Once the clashing asset is gone, the address is free.
		pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "en"), nil).expect(t, 200)
		attach(segA1, "x.png", "en", "").expect(t, 200)
	})
}

// SPEC §1, §2, §5: scopes and segments that do not exist or do not fit.
func TestAssetScopes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		tok := pm.upload("s.txt", []byte("s"))
		type call func(scope, seg string) *response
		calls := map[string]call{
			"download": func(scope, seg string) *response {
				return pm.do("GET", "/api/resources/assets/"+seg+"?"+query("scope", scope, "filename", "s.txt"), nil)
			},
			"list": func(scope, seg string) *response {
				return pm.do("GET", "/api/resources/assets/"+seg+"/list?"+query("scope", scope), nil)
			},
			"delete": func(scope, seg string) *response {
				return pm.do("DELETE", "/api/resources/assets/"+seg+"?"+query("scope", scope, "filename", "s.txt"), nil)
			},
			"attach": func(scope, seg string) *response {
				return pm.do("POST", "/api/resources/assets/"+seg+"?"+query("scope", scope), jsonBody(map[string]string{"filetoken": tok}))
			},
		}
		for name, f := range calls {
			t.Run(name, func(t *testing.T) {
				for _, sc := range []string{"pr1", "pr7215", "jbs1", "jbc1", "jbs500", "jbc9927"} {
					f(sc, "27665601").expectError(t, 404, "scope_not_found")
				}
				for _, sc := range []string{"", "px7214", "pr", "pr0", "pr07214", "PR7214", "pr-1", "pr+1", "jb9927", "jbx9927",
					"pr7214x", "pr 7214", "pr99999999999999999999", "7214"} {
					f(sc, "27665601").reasonNames(t, "invalid_parameter", "scope")
				}
				f("pr7214", "27670001").expectError(t, 404, "segment_not_found")  // in project 7300
				f("pr7300", "27665601").expectError(t, 404, "segment_not_found")  // in project 7214
				f("jbs9927", "27666001").expectError(t, 404, "segment_not_found") // docB: not in the job
				f("jbc500", "27665601").expectError(t, 404, "segment_not_found")
				f("pr7214", "99999999").expectError(t, 404, "segment_not_found")
				for _, seg := range []string{"abc", "0", "-1", "1.5", "0x10", "99999999999999999999"} {
					f("pr7214", seg).reasonNames(t, "invalid_parameter", "segmentid")
				}
			})
		}
		// A segment of another account is unknown here.
		other := newTenant(t, c).as("pm")
		other.put("pr7214", segA1, "theirs.txt", "", "", []byte("theirs"))
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "theirs.txt"), nil).expectError(t, 404, "asset_not_found")
		if len(pm.listAssets("pr7214", segA1)) != 0 {
			t.Fatal("another account's asset is listed")
		}
		// Attach input checks.
		pm.attach("pr7214", segA1, map[string]string{"filetoken": "XYZ"}).reasonNames(t, "invalid_parameter", "filetoken")
		pm.attach("pr7214", segA1, map[string]string{"filetoken": strings.ToUpper(tok)}).reasonNames(t, "invalid_parameter", "filetoken")
		pm.attach("pr7214", segA1, map[string]string{"filetoken": strings.Repeat("f", 32)}).expectError(t, 404, "file_token_invalid")
		if !bytes.Equal(pm.do("GET", "/api/media/get/"+tok, nil).expect(t, 200).body, []byte("s")) {
			t.Fatal("media changed")
		}
	})
}
