package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/refstore/refstore/wire"
)

// checkFlexJSON checks one Flex asset JSON exactly and returns it decoded.
func checkFlexJSON(t testing.TB, raw json.RawMessage, flexID string, project, doc, seg int64, locale, relPath, name string, size int64) wire.FlexAsset {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("Flex asset JSON %s: %v", raw, err)
	}
	wantKeys(t, "Flex asset JSON", m, "projectId", "documentId", "segmentId", "locale", "relativePath", "fileName",
		"fileSizeInBytes", "contentType", "createdDate", "modifiedDate", "downloadUrl", "id")
	want := map[string]string{
		"projectId": fmt.Sprint(project), "documentId": fmt.Sprintf("%q", fmt.Sprint(doc)), "segmentId": fmt.Sprint(seg),
		"fileSizeInBytes": fmt.Sprint(size), "locale": "null",
	}
	if locale != "" {
		want["locale"] = fmt.Sprintf("%q", locale)
	}
	rp, _ := json.Marshal(relPath)
	want["relativePath"] = string(rp)
	nm, _ := json.Marshal(name)
	want["fileName"] = string(nm)
	for k, v := range want {
		if string(m[k]) != v {
			t.Fatalf("Flex asset JSON %s = %s, want %s (in %s)", k, m[k], v, raw)
		}
	}
	var a wire.FlexAsset
	json.Unmarshal(raw, &a)
	if !assetIDPattern.MatchString(a.ID) {
		t.Fatalf("Flex asset id %q", a.ID)
	}
	checkDownloadURL(t, a.DownloadURL, fmt.Sprintf("/api/apps/wbflex/documents/%s/assets/%d", flexID, seg),
		locale, "", name, relPath, netTicks(t, a.ModifiedDate))
	return a
}

// SPEC §7: the Flex routes on a document id.
func TestFlexDocument(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		data := pngBytes(700)
		tok := pm.upload("flex.png", data)
		r := pm.do("POST", flexPath("19641", "27665601"), jsonBody(map[string]string{"filetoken": tok, "locale": "en", "relativePath": "ui/btn"})).expect(t, 200)
		a := checkFlexJSON(t, r.body, "19641", projectID, docA, segA1, "en", `ui\btn`, "flex.png", int64(len(data)))
		if a.ContentType != "image/png" {
			t.Fatalf("contentType %q", a.ContentType)
		}

		// The download URL works and follows the Flex cache rule.
		d := doURL(t, "GET", a.DownloadURL, pm.headers(), nil).expect(t, 200)
		d.wantBody(t, data)
		d.wantHeader(t, "Cache-Control", "private, max-age=31536000, immutable")
		d.wantHeader(t, "Content-Disposition", `inline; filename="flex.png"`)
		plain := flexPath("19641", "27665601", "filename", "flex.png", "locale", "en", "relativePath", "ui/btn")
		d = pm.do("GET", plain, nil).expect(t, 200)
		d.wantBody(t, data)
		d.wantHeader(t, "Cache-Control", "private, max-age=2592000")
		pm.do("GET", plain+"&v=1", nil).expect(t, 200).wantHeader(t, "Cache-Control", "private, no-cache")
		pm.do("HEAD", plain, nil).expect(t, 200).wantHeader(t, "Cache-Control", "private, max-age=2592000")
		pm.doH("GET", plain, map[string][]string{"Range": {"bytes=0-9"}}, nil).expect(t, 206).wantBody(t, data[:10])
		pm.do("GET", flexPath("19641", "27665601", "filename", "flex.png"), nil).wantEnvelope(t, 404, "asset_not_found")

		// The same asset on the project route is the same asset.
		p := pm.listAssets("pr7214", segA1)
		if len(p) != 1 || p[0].ID != a.ID || p[0].Name != a.FileName || p[0].Size != a.FileSizeInBytes {
			t.Fatalf("project list %+v vs Flex %+v", p, a)
		}

		// List one and list many.
		pm.do("POST", flexPath("19641", "27665602"), jsonBody(map[string]string{"filetoken": tok})).expect(t, 200)
		var list []json.RawMessage
		pm.do("GET", flexPath("19641", "27665601/list"), nil).expect(t, 200).json(t, &list)
		if len(list) != 1 {
			t.Fatalf("Flex list one: %d entries", len(list))
		}
		l := checkFlexJSON(t, list[0], "19641", projectID, docA, segA1, "en", `ui\btn`, "flex.png", int64(len(data)))
		if l.ID != a.ID || l.DownloadURL != a.DownloadURL {
			t.Fatalf("Flex list %+v differs from attach %+v", l, a)
		}
		r = pm.do("GET", flexPath("19641", "27665603/list"), nil).expect(t, 200)
		if strings.TrimSpace(string(r.body)) != "[]" {
			t.Fatalf("empty Flex list %q", r.body)
		}
		list = nil
		pm.do("GET", flexPath("19641", "list", "segmentIds", "27665601,27665602,27665603,27665601"), nil).expect(t, 200).json(t, &list)
		if len(list) != 2 {
			t.Fatalf("Flex list many: %d entries: %s", len(list), list)
		}
		checkFlexJSON(t, list[1], "19641", projectID, docA, segA2, "", "", "flex.png", int64(len(data)))
		pm.do("GET", flexPath("19641", "list", "segmentIds", "27665601,27666001"), nil).expectError(t, 404, "segment_not_found")
		pm.do("GET", flexPath("19641", "list", "segmentIds", "x"), nil).reasonNames(t, "invalid_parameter", "segmentIds")

		// A segment of another document, and documents that do not exist.
		for _, seg := range []string{"27666001", "27670001", "99999999"} {
			pm.do("GET", flexPath("19641", seg+"/list"), nil).expectError(t, 404, "segment_not_found")
			pm.do("POST", flexPath("19641", seg), jsonBody(map[string]string{"filetoken": tok})).expectError(t, 404, "segment_not_found")
			pm.do("DELETE", flexPath("19641", seg), nil).expectError(t, 404, "segment_not_found")
		}
		pm.do("GET", flexPath("19642", "27665601/list"), nil).expectError(t, 404, "segment_not_found")
		pm.do("GET", flexPath("99999", "27665601/list"), nil).expectError(t, 404, "scope_not_found")
		for _, id := range []string{"abc", "0", "c", "c0", "cx", "-1", "C500"} {
			pm.do("GET", flexPath(id, "27665601/list"), nil).reasonNames(t, "invalid_parameter", "id")
		}
		// Another account has its own document 19641, without this one's assets.
		r = newTenant(t, c).as("pm").do("GET", flexPath("19641", "27665601/list"), nil).expect(t, 200)
		if strings.TrimSpace(string(r.body)) != "[]" {
			t.Fatalf("another account sees %s", r.body)
		}

		// Delete one, then all.
		pm.do("POST", flexPath("19641", "27665601"), jsonBody(map[string]string{"filetoken": tok, "locale": "fr"})).expect(t, 200)
		r = pm.do("DELETE", flexPath("19641", "27665601", "filename", "flex.png", "locale", "fr"), nil).expect(t, 200)
		if len(r.body) != 0 {
			t.Fatalf("Flex delete body %q", r.body)
		}
		pm.do("GET", flexPath("19641", "27665601", "filename", "flex.png", "locale", "fr"), nil).expectError(t, 404, "asset_not_found")
		pm.do("GET", plain, nil).expect(t, 200)
		pm.do("DELETE", flexPath("19641", "27665601", "filename", ""), nil).reasonNames(t, "invalid_parameter", "filename")
		pm.do("DELETE", flexPath("19641", "27665601"), nil).expect(t, 200).wantHeader(t, "X-Deleted-Count", "1")
		pm.do("GET", plain, nil).expectError(t, 404, "asset_not_found")
	})
}

// SPEC §7: the c{jobId} form, for Codyt jobs.
func TestFlexCodytJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		cu := tn.as("codyt")
		data := []byte("codyt text\n")
		tok := cu.upload("c.txt", data)
		r := cu.do("POST", flexPath("c500", "27670001"), jsonBody(map[string]string{"filetoken": tok})).expect(t, 200)
		a := checkFlexJSON(t, r.body, "c500", otherProject, docC, segC1, "", "", "c.txt", int64(len(data)))
		doURL(t, "GET", a.DownloadURL, cu.headers(), nil).expect(t, 200).wantBody(t, data)
		d := cu.do("GET", flexPath("c500", "27670001", "filename", "c.txt"), nil).expect(t, 200)
		d.wantBody(t, data)
		d.wantHeader(t, "Cache-Control", "private, max-age=2592000")
		var list []wire.FlexAsset
		cu.do("GET", flexPath("c500", "list", "segmentIds", "27670001,27670002"), nil).expect(t, 200).json(t, &list)
		if len(list) != 1 || list[0].ID != a.ID || list[0].DocumentID != "19700" {
			t.Fatalf("c500 list many: %+v", list)
		}
		// The same asset through the document id, with the job grant covering it.
		r = cu.do("GET", flexPath("19700", "27670001/list"), nil).expect(t, 200)
		var viaDoc []json.RawMessage
		r.json(t, &viaDoc)
		if len(viaDoc) != 1 {
			t.Fatalf("list via document: %s", r.body)
		}
		checkFlexJSON(t, viaDoc[0], "19700", otherProject, docC, segC1, "", "", "c.txt", int64(len(data)))
		// And through the project routes' jbc scope.
		if l := cu.listAssets("jbc500", segC1); len(l) != 1 || l[0].ID != a.ID {
			t.Fatalf("jbc500 list: %+v", l)
		}
		// Segments outside the job, jobs that do not exist.
		cu.do("GET", flexPath("c500", "27665601/list"), nil).expectError(t, 404, "segment_not_found")
		cu.do("GET", flexPath("c9927", "27665601/list"), nil).expectError(t, 404, "scope_not_found")
		cu.do("GET", flexPath("c501", "27670001/list"), nil).expectError(t, 404, "scope_not_found")
		// pm holds the project grant on 7300, which reaches the job's documents too.
		tn.as("pm").do("GET", flexPath("c500", "27670001", "filename", "c.txt"), nil).expect(t, 200).wantBody(t, data)
		cu.do("DELETE", flexPath("c500", "27670001", "filename", "c.txt"), nil).expect(t, 200)
		cu.do("GET", flexPath("c500", "27670001", "filename", "c.txt"), nil).expectError(t, 404, "asset_not_found")
	})
}

// SPEC §7: rights are checked on the document: a project grant, or a job grant covering it.
func TestFlexRights(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		pm.put("pr7214", segA1, "a.png", "", "", pngBytes(5))
		pm.put("pr7214", segB1, "b.png", "", "", pngBytes(5))
		pm.put("pr7300", segC1, "c.png", "", "", pngBytes(5))
		get := func(s *session, doc string, seg int64, name string) *response {
			return s.do("GET", flexPath(doc, fmt.Sprint(seg), "filename", name), nil)
		}
		attach := func(s *session, doc string, seg int64) *response {
			tok := s.upload("new.png", pngBytes(3))
			return s.do("POST", flexPath(doc, fmt.Sprint(seg)), jsonBody(map[string]string{"filetoken": tok}))
		}
		jobber, reader, nogrant, codyt, uploader := tn.as("jobber"), tn.as("reader"), tn.as("nogrant"), tn.as("codyt"), tn.as("uploader")

		// jobber: a job grant covering docA only.
		get(jobber, "19641", segA1, "a.png").expect(t, 200)
		attach(jobber, "19641", segA1).expect(t, 200)
		get(jobber, "19642", segB1, "b.png").expectError(t, 403, "forbidden")
		attach(jobber, "19642", segB1).expectError(t, 403, "forbidden")
		jobber.do("DELETE", flexPath("19642", fmt.Sprint(segB1)), nil).expectError(t, 403, "forbidden")
		get(jobber, "19700", segC1, "c.png").expectError(t, 403, "forbidden")
		// reader: read on the project, nothing more.
		get(reader, "19642", segB1, "b.png").expect(t, 200)
		attach(reader, "19642", segB1).expectError(t, 403, "forbidden")
		reader.do("DELETE", flexPath("19642", fmt.Sprint(segB1)), nil).expectError(t, 403, "forbidden")
		// uploader: read and upload, no delete.
		attach(uploader, "19642", segB2).expect(t, 200)
		uploader.do("DELETE", flexPath("19642", fmt.Sprint(segB2)), nil).expectError(t, 403, "forbidden")
		// codyt: the Codyt job grant covers docC, by document id too.
		get(codyt, "19700", segC1, "c.png").expect(t, 200)
		get(codyt, "19641", segA1, "a.png").expectError(t, 403, "forbidden")
		// nogrant: nothing anywhere.
		for _, doc := range []string{"19641", "19642", "19700", "c500"} {
			nogrant.do("GET", flexPath(doc, "list", "segmentIds", "27665601"), nil).expectError(t, 403, "forbidden")
		}
		// Nothing changed by the refused calls.
		if n := len(pm.listAssets("pr7214", segB1)); n != 1 {
			t.Fatalf("segB1 holds %d assets", n)
		}
	})
}
