package e2e

// Scale-out: several stateless nodes on PostgreSQL and shared files or S3 serve the same
// data, and a change through one node shows through every other on the very next request.
// These tests talk to chosen nodes (soPin) rather than rotating over the cluster.

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testenv"
	"github.com/refstore/refstore/wire"
)

// TestScaleOutCrossNode writes through one node and reads through the other, on both
// multi-node backends: file tokens, overwrites (bytes and ETag), deletes and sessions
// cross nodes at once.
func TestScaleOutCrossNode(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"postgres-files", "postgres-s3"} {
		t.Run(name, func(t *testing.T) {
			c := sharedCluster(t, soBackend(t, name))
			a, b := soPin(c, 0), soPin(c, 1)
			if a.nodes[0].url == b.nodes[0].url {
				t.Fatal("the cluster's two nodes share a URL")
			}
			scope := fmt.Sprintf("pr%d", projectID)
			// The catalog goes in through A; B knows it at once: a login through B works.
			tn := newTenant(t, a)
			pmB := soLogin(t, b, tn, "pm")
			pmA := soVia(pmB, a)

			// Upload on A, attach on B.
			v1 := randomBytes(200_001)
			token := pmA.upload("shared.bin", v1)
			pmB.do("GET", "/api/media/get/"+token, nil).expect(t, 200).wantBody(t, v1)
			var first wire.Asset
			pmB.attach(scope, segA1, map[string]string{"filetoken": token}).expect(t, 200).json(t, &first)
			got := soDownload(pmA, scope, segA1, "shared.bin").expect(t, 200)
			got.wantBody(t, v1)
			etag1 := `"` + rbVersion(t, first) + `"`
			got.wantHeader(t, "ETag", etag1)

			// Overwrite on B; the very next request, on A, gets the new bytes and ETag.
			v2 := randomBytes(150_003)
			second := pmB.put(scope, segA1, "shared.bin", "", "", v2)
			if second.ID != first.ID || second.CreatedDate != first.CreatedDate || second.ModifiedDate == first.ModifiedDate {
				t.Fatalf("overwrite: id %s→%s, created %s→%s, modified %s→%s", first.ID, second.ID,
					first.CreatedDate, second.CreatedDate, first.ModifiedDate, second.ModifiedDate)
			}
			etag2 := `"` + rbVersion(t, second) + `"`
			got = soDownload(pmA, scope, segA1, "shared.bin").expect(t, 200)
			got.wantBody(t, v2)
			got.wantHeader(t, "ETag", etag2)
			if etag1 == etag2 {
				t.Fatalf("the overwrite kept the ETag %s", etag1)
			}
			// A revalidation with the old ETag on A gets the new bytes; the new ETag is current on both.
			pmA.doH("GET", segPath(segA1, "scope", scope, "filename", "shared.bin"), http.Header{"If-None-Match": {etag1}}, nil).
				expect(t, 200).wantBody(t, v2)
			for _, s := range []*session{pmA, pmB} {
				s.doH("GET", segPath(segA1, "scope", scope, "filename", "shared.bin"), http.Header{"If-None-Match": {etag2}}, nil).
					expect(t, 304)
			}
			// The old version's URL is no longer immutable on A.
			pmA.do("GET", segPath(segA1, "scope", scope, "filename", "shared.bin", "v", rbVersion(t, first)), nil).
				expect(t, 200).wantHeader(t, "Cache-Control", "private, no-cache")
			list := pmA.listAssets(scope, segA1)
			if len(list) != 1 || list[0].Size != int64(len(v2)) || list[0].ModifiedDate != second.ModifiedDate {
				t.Fatalf("list on A after the overwrite on B: %+v", list)
			}
			pmA.do("GET", "/api/assets/"+first.ID+"/download", nil).expect(t, 200).wantBody(t, v2)

			// Delete on A; B answers 404 at once.
			pmA.do("DELETE", segPath(segA1, "scope", scope, "filename", "shared.bin"), nil).expect(t, 200)
			soDownload(pmB, scope, segA1, "shared.bin").expectError(t, 404, "asset_not_found")
			if l := pmB.listAssets(scope, segA1); len(l) != 0 {
				t.Fatalf("list on B after the delete on A: %+v", l)
			}
			if code := rbErrorCode(pmB.do("GET", "/api/assets/"+first.ID+"/download", nil).expect(t, 404).body); code != "asset_not_found" {
				t.Fatalf("download by id on B after the delete on A: code %q", code)
			}

			// A session logged in on A works on B; logout on B ends it on A.
			pm2A := soLogin(t, a, tn, "pm")
			pm2B := soVia(pm2A, b)
			pm2B.listAssets(scope, segA2)
			pm2B.do("DELETE", "/api/auth/token", nil).expect(t, 200)
			pm2A.do("GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", segA2, scope), nil).expectError(t, 401, "unauthorized")
			pm2B.do("GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", segA2, scope), nil).expectError(t, 401, "unauthorized")
			// The first session is untouched.
			pmA.listAssets(scope, segA2)
		})
	}
}

// TestScaleOutSlidingSession: a session used through either node stays alive past its
// lifetime, because every use slides its expiry for every node; left idle, it expires on
// both.
func TestScaleOutSlidingSession(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	opts := nodeOptions{Data: t.TempDir(), Args: []string{"--metadata", soPostgres(t), "--token-ttl", ttl.String()}}
	c := &cluster{backend: backend{name: "postgres-files", nodes: 2}}
	for range 2 {
		c.nodes = append(c.nodes, startNode(t, opts))
	}
	a, b := soPin(c, 0), soPin(c, 1)
	tn := newTenant(t, a)
	pmA := soLogin(t, a, tn, "pm")
	pmB := soVia(pmA, b)
	listPath := fmt.Sprintf("/api/resources/assets/%d/list?scope=pr%d", segA1, projectID)
	// Used every 500 ms, alternately through each node, for twice the lifetime.
	for start, i := time.Now(), 0; time.Since(start) < 2*ttl; i++ {
		s := pmA
		if i%2 == 1 {
			s = pmB
		}
		s.do("GET", listPath, nil).expect(t, 200)
		time.Sleep(ttl / 4)
	}
	time.Sleep(ttl + 500*time.Millisecond)
	pmA.do("GET", listPath, nil).expectError(t, 401, "unauthorized")
	pmB.do("GET", listPath, nil).expectError(t, 401, "unauthorized")
}

// TestScaleOutDedupS3: the same bytes uploaded several times in one account, through
// different nodes and even at once, leave one object in the bucket; in another account
// they are another object.
func TestScaleOutDedupS3(t *testing.T) {
	t.Parallel()
	c, gw := soS3Cluster(t, 2)
	a, b := soPin(c, 0), soPin(c, 1)
	scope := fmt.Sprintf("pr%d", projectID)
	t1, t2 := newTenant(t, a), newTenant(t, b)
	pm1A := soLogin(t, a, t1, "pm")
	pm1B := soVia(pm1A, b)
	pm2B := soLogin(t, b, t2, "pm")

	// A single-part object and a multipart one.
	for _, size := range []int{300_007, 9<<20 + 3} {
		t1before, t2before := len(soObjects(t, gw, t1.account)), len(soObjects(t, gw, t2.account))
		data := randomBytes(size)
		tokA := pm1A.upload("a.bin", data)
		tokB := pm1B.upload("b.bin", data)
		if n := len(soObjects(t, gw, t1.account)) - t1before; n != 1 {
			t.Fatalf("%d bytes uploaded twice in one account through two nodes: %d new objects, want 1", size, n)
		}
		// Attached through the other node, each token serves the one object.
		pm1B.attach(scope, segA1, map[string]string{"filetoken": tokA}).expect(t, 200)
		pm1A.attach(scope, segA2, map[string]string{"filetoken": tokB}).expect(t, 200)
		soDownload(pm1A, scope, segA1, "a.bin").expect(t, 200).wantBody(t, data)
		soDownload(pm1B, scope, segA2, "b.bin").expect(t, 200).wantBody(t, data)

		// Four uploads of the same bytes at once, two per node: still one object.
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := range 4 {
			s := pm1A
			if i%2 == 1 {
				s = pm1B
			}
			wg.Go(func() {
				if _, err := rbUpload(s, fmt.Sprintf("c%d.bin", i), data); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		objs := soObjectHashes(t, gw, t1.account)
		if n := len(objs) - t1before; n != 1 {
			t.Fatalf("%d bytes uploaded six times in one account: %d new objects, want 1: %v", size, n, objs)
		}
		found := false
		for _, h := range objs {
			found = found || h == soHash(data)
		}
		if !found {
			t.Fatalf("no object holds the uploaded bytes: %v", objs)
		}

		// The other account gets its own copy.
		pm2B.put(scope, segB1, "other.bin", "", "", data)
		if n := len(soObjects(t, gw, t2.account)) - t2before; n != 1 {
			t.Fatalf("the same bytes in a second account: %d new objects there, want 1", n)
		}
		if n := len(soObjects(t, gw, t1.account)) - t1before; n != 1 {
			t.Fatalf("an upload in the second account changed the first's objects: %d new", n)
		}
	}
}

// TestScaleOutDeferredDeletionS3: on S3, bytes that lost their last reference stay in the
// bucket for the delete grace (a reader on another node may still be fetching ranges) and
// are removed by the sweeper after it.
func TestScaleOutDeferredDeletionS3(t *testing.T) {
	t.Parallel()
	const grace, ttl = 2 * time.Second, 3 * time.Second
	c, gw := soS3Cluster(t, 2, "--delete-grace", grace.String(), "--sweep-interval", "300ms", "--file-token-ttl", ttl.String())
	a, b := soPin(c, 0), soPin(c, 1)
	scope := fmt.Sprintf("pr%d", projectID)
	tn := newTenant(t, a)
	pmA := soLogin(t, a, tn, "pm")
	pmB := soVia(pmA, b)

	kept, lonely := randomBytes(120_011), randomBytes(80_021)
	token := pmA.upload("kept.bin", kept)
	lonelyToken := pmB.upload("lonely.bin", lonely)
	pmB.attach(scope, segA1, map[string]string{"filetoken": token}).expect(t, 200)
	has := func(data []byte) bool {
		for _, h := range soObjectHashes(t, gw, tn.account) {
			if h == soHash(data) {
				return true
			}
		}
		return false
	}
	if !has(kept) || !has(lonely) {
		t.Fatal("the uploads have no objects")
	}

	// Once the file tokens expired, the never attached upload's object goes; the attached
	// one's stays.
	soEventually(t, 20*time.Second, "the file tokens expire", func() (bool, string) {
		r := pmA.do("GET", "/api/media/get/"+lonelyToken, nil)
		return r.StatusCode == 404, fmt.Sprintf("media get answers %d", r.StatusCode)
	})
	soEventually(t, 30*time.Second, "the expired, never attached upload's object is deleted", func() (bool, string) {
		return !has(lonely), "it is still in the bucket"
	})
	if !has(kept) {
		t.Fatal("the object of an attached upload was deleted when its file token expired")
	}
	soDownload(pmA, scope, segA1, "kept.bin").expect(t, 200).wantBody(t, kept)

	// The last reference goes: the object is still there right after, and gone later.
	deleted := time.Now()
	pmA.do("DELETE", segPath(segA1, "scope", scope, "filename", "kept.bin"), nil).expect(t, 200)
	stillThere := has(kept)
	if elapsed := time.Since(deleted); elapsed < grace {
		if !stillThere {
			t.Fatalf("the object was deleted %v after its last reference went, within the %v grace", elapsed, grace)
		}
	} else {
		t.Logf("the bucket was listed %v after the delete, past the grace: not checking that the object stayed", elapsed)
	}
	took := soEventually(t, 30*time.Second, "the unreferenced object is deleted after the grace", func() (bool, string) {
		return !has(kept), "it is still in the bucket"
	})
	t.Logf("the object went %v after its last reference (grace %v)", time.Since(deleted).Round(time.Millisecond), grace)
	_ = took
	if objs := soObjects(t, gw, tn.account); len(objs) != 0 {
		t.Fatalf("objects left: %v", objs)
	}

	// Bytes uploaded again after their object went are stored again, and serve.
	pmB.put(scope, segA2, "again.bin", "", "", kept)
	soDownload(pmA, scope, segA2, "again.bin").expect(t, 200).wantBody(t, kept)
}

// TestScaleOutPresignedDownloads: with --presign-downloads, a GET of an asset is a
// redirect to the object store that serves the bytes with the asset's headers; without it,
// the node streams.
func TestScaleOutPresignedDownloads(t *testing.T) {
	t.Parallel()
	c, _ := soS3Cluster(t, 2, "--presign-downloads", "1m")
	a, b := soPin(c, 0), soPin(c, 1)
	scope := fmt.Sprintf("pr%d", projectID)
	tn := newTenant(t, a)
	pmA := soLogin(t, a, tn, "pm")
	pmB := soVia(pmA, b)

	png := append([]byte("\x89PNG\r\n\x1a\n"), randomBytes(40_000)...)
	pdf := append([]byte("%PDF-1.7\n"), randomBytes(30_000)...)
	bin := randomBytes(50_000)
	files := []struct {
		name        string
		data        []byte
		contentType string
		disposition string
	}{
		{"shot.png", png, "image/png", `inline; filename="shot.png"`},
		{"Résumé.pdf", pdf, "application/pdf", `inline; filename="R_sum_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf`},
		{"data.bin", bin, "application/octet-stream", `attachment; filename="data.bin"`},
	}
	// The same files on the shared cluster without the flag, to compare.
	plain := sharedCluster(t, soBackend(t, "postgres-s3"))
	plainPM := newTenant(t, plain).as("pm")

	for i, f := range files {
		asset := pmA.put(scope, segA1, f.name, "", "", f.data)
		if asset.ContentType != f.contentType {
			t.Fatalf("%s: content type %q, want %q", f.name, asset.ContentType, f.contentType)
		}
		path := segPath(segA1, "scope", scope, "filename", f.name)
		s := []*session{pmA, pmB}[i%2]
		r, _ := soMust(t, soNoRedirect, "GET", s.c.nodes[0].url+path, s.headers(), nil)
		if r.StatusCode != http.StatusFound {
			t.Fatalf("%s: presigned download answered %d, want 302: %s", f.name, r.StatusCode, truncate(r.body))
		}
		r.wantHeader(t, "Cache-Control", "private, no-store")
		loc := r.Header.Get("Location")
		if !strings.HasPrefix(loc, "http://127.0.0.1:") || strings.Contains(loc, s.token) {
			t.Fatalf("%s: Location %q", f.name, loc)
		}
		// Fetched without any credentials, the URL serves the bytes with the asset's headers.
		obj, _ := soMust(t, soQuick, "GET", loc, nil, nil)
		obj.expect(t, 200)
		obj.wantBody(t, f.data)
		obj.wantHeader(t, "Content-Type", f.contentType)
		obj.wantHeader(t, "Content-Disposition", f.disposition)
		// A range of it, as a player or a resumed download would ask.
		part, _ := soMust(t, soQuick, "GET", loc, http.Header{"Range": {"bytes=100-199"}}, nil)
		part.expect(t, 206)
		part.wantBody(t, f.data[100:200])

		// Download by id: a redirect too, always as an attachment.
		r, _ = soMust(t, soNoRedirect, "GET", s.c.nodes[0].url+"/api/assets/"+asset.ID+"/download", s.headers(), nil)
		if r.StatusCode != http.StatusFound {
			t.Fatalf("%s: presigned download by id answered %d, want 302", f.name, r.StatusCode)
		}
		obj, _ = soMust(t, soQuick, "GET", r.Header.Get("Location"), nil, nil)
		obj.expect(t, 200)
		obj.wantBody(t, f.data)
		if cd := obj.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
			t.Fatalf("%s: download by id via the store: Content-Disposition %q", f.name, cd)
		}

		// HEAD is answered by the node.
		h, _ := soMust(t, soNoRedirect, "HEAD", s.c.nodes[0].url+path, s.headers(), nil)
		h.expect(t, 200)
		h.wantHeader(t, "Content-Type", f.contentType)

		// Without the flag the node streams, with the same headers.
		plainPM.put(scope, segA1, f.name, "", "", f.data)
		st, _ := soMust(t, soNoRedirect, "GET", plain.url()+path, plainPM.headers(), nil)
		st.expect(t, 200)
		st.wantBody(t, f.data)
		st.wantHeader(t, "Content-Type", f.contentType)
		st.wantHeader(t, "Content-Disposition", f.disposition)
	}
	// Errors are still the node's: a missing asset is a 404 with the envelope, no redirect.
	r, _ := soMust(t, soNoRedirect, "GET", a.nodes[0].url+segPath(segA1, "scope", scope, "filename", "missing.png"), pmA.headers(), nil)
	r.expectError(t, 404, "asset_not_found")
}

// TestScaleOutRangeS3: Range requests on S3 return exactly the bytes asked for.
func TestScaleOutRangeS3(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t, soBackend(t, "postgres-s3"))
	pm := newTenant(t, c).as("pm")
	scope := fmt.Sprintf("pr%d", projectID)
	const size = 20_000_000
	data := randomBytes(size)
	a := pm.put(scope, segA1, "big.bin", "", "", data)
	path := segPath(segA1, "scope", scope, "filename", "big.bin")

	// 1 MB from the middle.
	r := pm.doH("GET", path, http.Header{"Range": {"bytes=9500000-10499999"}}, nil).expect(t, 206)
	r.wantBody(t, data[9_500_000:10_500_000])
	r.wantHeader(t, "Content-Range", fmt.Sprintf("bytes 9500000-10499999/%d", size))
	r.wantHeader(t, "Content-Length", "1000000")

	// Open-ended and suffix ranges.
	pm.doH("GET", path, http.Header{"Range": {"bytes=19999000-"}}, nil).expect(t, 206).wantBody(t, data[19_999_000:])
	pm.doH("GET", path, http.Header{"Range": {"bytes=-777"}}, nil).expect(t, 206).wantBody(t, data[size-777:])

	// Several ranges: a multipart/byteranges body.
	r = pm.doH("GET", path, http.Header{"Range": {"bytes=0-99,10000000-10000999,19999500-"}}, nil).expect(t, 206)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("multi-range Content-Type %q", r.Header.Get("Content-Type"))
	}
	want := []struct{ from, to int }{{0, 99}, {10_000_000, 10_000_999}, {19_999_500, size - 1}}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("multi-range: %d parts, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("multi-range: more than %d parts", len(want))
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if cr := p.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes %d-%d/%d", w.from, w.to, size) {
			t.Fatalf("part %d: Content-Range %q", i, cr)
		}
		if !bytes.Equal(body, data[w.from:w.to+1]) {
			t.Fatalf("part %d (%d-%d): %d bytes that differ", i, w.from, w.to, len(body))
		}
	}

	// If-Range: the current ETag gets the range, an old one the whole file.
	etag := `"` + rbVersion(t, a) + `"`
	pm.doH("GET", path, http.Header{"Range": {"bytes=100-199"}, "If-Range": {etag}}, nil).expect(t, 206).wantBody(t, data[100:200])
	pm.doH("GET", path, http.Header{"Range": {"bytes=100-199"}, "If-Range": {`"1"`}}, nil).expect(t, 200).wantBody(t, data)
	// Past the end: 416.
	pm.doH("GET", path, http.Header{"Range": {fmt.Sprintf("bytes=%d-", size)}}, nil).expect(t, 416)
	// The whole file, and HEAD.
	pm.do("GET", path, nil).expect(t, 200).wantBody(t, data)
	h := pm.do("HEAD", path, nil).expect(t, 200)
	h.wantHeader(t, "Content-Length", fmt.Sprint(size))
	h.wantHeader(t, "Accept-Ranges", "bytes")
}

// TestScaleOutStartupErrors: a metadata or blob URL that is wrong or unreachable stops
// start-up at once with a message that names it, and never shows a password.
func TestScaleOutStartupErrors(t *testing.T) {
	t.Parallel()
	gw := testenv.StartS3(t)
	const secret = "s3cretPassw0rd"
	cases := []struct {
		name    string
		args    []string
		env     []string
		mention []string
	}{
		{"unreachable postgres", []string{"--metadata", "postgres://refstore:" + secret + "@127.0.0.1:1/refstore?sslmode=disable"}, nil,
			[]string{"metadata store", "127.0.0.1:1", "unreachable"}},
		{"mysql", []string{"--metadata", "mysql://root:" + secret + "@db.example/refstore"}, nil,
			[]string{"metadata URL", `"mysql"`, "postgres://"}},
		{"missing bucket", []string{"--blobs", strings.Replace(gw.URL(), "s3://"+gw.Bucket, "s3://missing-bucket", 1)}, gw.Env(),
			[]string{"s3://missing-bucket", "does not exist"}},
		{"unreachable s3", []string{"--blobs", "s3://refstore?endpoint=http://127.0.0.1:1&path-style=true"}, gw.Env(),
			[]string{"s3://refstore", "unavailable"}},
		{"bad s3 parameter", []string{"--blobs", gw.URL() + "&colour=blue"}, gw.Env(),
			[]string{"blob URL", `"colour"`}},
		{"s3 credentials in the URL", []string{"--blobs", strings.Replace(gw.URL(), "s3://", "s3://"+gw.AccessKey+":"+secret+"@", 1)}, gw.Env(),
			[]string{"blob URL", "AWS_SECRET_ACCESS_KEY"}},
		{"ftp", []string{"--blobs", "ftp://x"}, nil, []string{"--blobs", "ftp://x", "file:PATH", "s3://"}},
		{"ftp with a password", []string{"--blobs", "ftp://user:" + secret + "@x/"}, nil, []string{"--blobs", "file:PATH", "s3://"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)
			code, out, took := soRun(t, 60*time.Second, tc.env, args...)
			if code == 0 {
				t.Fatalf("refstore started (exit 0):\n%s", out)
			}
			for _, m := range tc.mention {
				if !strings.Contains(out, m) {
					t.Errorf("the message does not say %q:\n%s", m, out)
				}
			}
			if strings.Contains(out, secret) {
				t.Errorf("the message shows the password:\n%s", out)
			}
			if strings.Contains(out, `"msg":"listening"`) || strings.Contains(out, "msg=listening") {
				t.Errorf("refstore listened before failing:\n%s", out)
			}
			t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), soOneLine(out))
		})
	}
}

// TestScaleOutPartBoundariesS3: uploads on S3 of sizes around the multipart part size
// (8 MiB by default), exact multiples included, store and serve every byte.
func TestScaleOutPartBoundariesS3(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t, soBackend(t, "postgres-s3"))
	pm := newTenant(t, c).as("pm")
	scope := fmt.Sprintf("pr%d", projectID)
	const part = 8 << 20
	for i, size := range []int{part - 1, part, part + 1, 2 * part} {
		data := randomBytes(size)
		name := fmt.Sprintf("p%d.bin", i)
		token := pm.upload(name, data)
		pm.do("GET", "/api/media/get/"+token, nil).expect(t, 200).wantBody(t, data)
		pm.attach(scope, segA2, map[string]string{"filetoken": token}).expect(t, 200)
		soDownload(pm, scope, segA2, name).expect(t, 200).wantBody(t, data)
	}
}
