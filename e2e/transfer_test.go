package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refstore/refstore/internal/testenv"
	"github.com/refstore/refstore/wire"
)

// TestMoveEmbeddedToCluster is the move an operator makes with the real binary: export
// the embedded default as a zip on stdout while its server runs, stop the server, import
// the zip into PostgreSQL + S3, start a node there, and find through the API the same
// assets (ids, versions, dates, bytes) and working API keys.
func TestMoveEmbeddedToCluster(t *testing.T) {
	data := t.TempDir()
	src := &cluster{backend: backend{name: "embedded", nodes: 1}, nodes: []*node{startNode(t, nodeOptions{Data: data})}}
	tn := newTenant(t, src)
	var issued struct{ Key string }
	admin(t, src, "POST", "/admin/v1/accounts/"+tn.account+"/users/2/keys", nil).expect(t, 200).json(t, &issued)
	pm := tn.as("pm")
	shot := randomBytes(300_000)
	pm.put("pr7214", segA1, "shot.png", "", "", shot)
	pm.put("pr7214", segA1, "shot.png", "en", "", shot)
	pm.put("pr7214", segA1, "logo.svg", "", `public\images`, []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))
	pm.put("pr7214", segA2, "notes.txt", "fr-CA", "a/b", []byte("first"))
	pm.put("pr7214", segA2, "notes.txt", "fr-CA", "a/b", []byte("second, overwriting the first"))
	pm.put("pr7214", segB1, "big.bin", "", "", randomBytes(9<<20+17))
	pm.put("pr7300", segC1, "über ü.png", "de", "", randomBytes(1000))
	// Another tenant, so that the move carries more than one account.
	other := newTenant(t, src)
	other.as("pm").put("pr7214", segA1, "shot.png", "", "", randomBytes(500))
	before := xferView(t, tn, "pm")
	if len(before.assets) != 6 {
		t.Fatalf("listed %d assets before the move, want 6", len(before.assets))
	}

	// Export while the server runs: the zip goes to stdout.
	zipPath := filepath.Join(t.TempDir(), "export.zip")
	out, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	export := exec.Command(binPath, "export", "--data", data, "--zip", "-")
	export.Stdout, export.Stderr = out, &stderr
	if err := export.Run(); err != nil {
		t.Fatalf("refstore export while the server runs: %v\n%s", err, stderr.String())
	}
	out.Close()
	if !src.nodes[0].ready() {
		t.Fatal("the server is not ready after the export")
	}
	xferView(t, tn, "pm") // and still serves

	// Importing into the data directory of a running server is refused, saying why.
	refused := exec.Command(binPath, "import", "--data", data, "--from", zipPath)
	msg, err := refused.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "stop it") {
		t.Fatalf("import into the running server's data directory: %v\n%s", err, msg)
	}
	src.nodes[0].stop()

	// Into PostgreSQL + S3.
	pg := testenv.Postgres(t)
	gw := testenv.StartS3(t)
	clusterArgs := []string{"--metadata", pg, "--blobs", gw.URL()}
	imp := exec.Command(binPath, append([]string{"import", "--from", zipPath, "--data", t.TempDir()}, clusterArgs...)...)
	imp.Env = append(os.Environ(), gw.Env()...)
	if msg, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("refstore import: %v\n%s", err, msg)
	} else if !strings.Contains(string(msg), "assets=7") {
		t.Fatalf("refstore import reported:\n%s", msg)
	}
	dst := &cluster{backend: backend{name: "postgres-s3", nodes: 1}, nodes: []*node{startNode(t, nodeOptions{Args: clusterArgs, Env: gw.Env()})}}
	moved := &tenant{t: t, c: dst, account: tn.account}
	after := xferView(t, moved, "pm")
	xferSameView(t, after, before)
	for _, user := range []string{"reader", "uploader", "jobber", "codyt", "deleter"} {
		moved.as(user)
	}
	resp := do(t, dst, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": tn.account, "key": issued.Key}))
	resp.expect(t, 200)
	(&tenant{t: t, c: dst, account: other.account}).as("pm")

	// On PostgreSQL the import runs while nodes serve; again, it changes nothing.
	imp = exec.Command(binPath, append([]string{"import", "--from", zipPath, "--data", t.TempDir()}, clusterArgs...)...)
	imp.Env = append(os.Environ(), gw.Env()...)
	if msg, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("refstore import while a node serves: %v\n%s", err, msg)
	} else if !strings.Contains(string(msg), "assets_unchanged=7") || !strings.Contains(string(msg), "bytes_stored=0") {
		t.Fatalf("importing again reported:\n%s", msg)
	}
	xferSameView(t, xferView(t, moved, "pm"), before)

	// An export of the cluster, through the binary, is the same tree.
	again := filepath.Join(t.TempDir(), "again")
	exp2 := exec.Command(binPath, append([]string{"export", "--out", again, "--account", tn.account}, clusterArgs...)...)
	exp2.Env = append(os.Environ(), gw.Env()...)
	if msg, err := exp2.CombinedOutput(); err != nil {
		t.Fatalf("refstore export from the cluster: %v\n%s", err, msg)
	}
	var files []string
	filepath.WalkDir(again, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(again, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	a := "accounts/" + tn.account + "/projects/"
	want := []string{
		a + "7214/assets/19641/601/27665601/en/shot.png",
		a + "7214/assets/19641/601/27665601/public/images/logo.svg",
		a + "7214/assets/19641/601/27665601/shot.png",
		a + "7214/assets/19641/602/27665602/fr-CA/a/b/notes.txt",
		a + "7214/assets/19642/1/27666001/big.bin",
		a + "7300/assets/19700/1/27670001/de/über ü.png",
		"refstore-export.json",
	}
	slices.Sort(files)
	if !slices.Equal(files, want) {
		t.Fatalf("export of the cluster:\n got %q\nwant %q", files, want)
	}
}

// xferState is what a user sees of a tenant's assets through the API.
type xferState struct {
	assets []wire.Asset      // every segment's list, in order
	bytes  map[string][]byte // by asset id, downloaded through each downloadUrl
	urls   map[string]string // downloadUrl without scheme and host, by asset id
}

// xferView lists every segment of the fixture and downloads every asset as user.
func xferView(t *testing.T, tn *tenant, user string) xferState {
	t.Helper()
	s := tn.as(user)
	st := xferState{bytes: map[string][]byte{}, urls: map[string]string{}}
	for _, q := range []struct {
		scope    string
		segments []int64
	}{{"pr7214", []int64{segA1, segA2, segA3, segB1, segB2}}, {"pr7300", []int64{segC1, segC2}}} {
		ids := make([]string, len(q.segments))
		for i, id := range q.segments {
			ids[i] = fmt.Sprint(id)
		}
		resp := s.do("GET", "/api/resources/assets/list?"+query("scope", q.scope, "segmentIds", strings.Join(ids, ",")), nil).expect(t, 200)
		var list []wire.Asset
		resp.json(t, &list)
		st.assets = append(st.assets, list...)
		for _, a := range list {
			u, err := url.Parse(a.DownloadURL)
			if err != nil {
				t.Fatal(err)
			}
			st.urls[a.ID] = u.RequestURI()
			got := s.do("GET", u.RequestURI(), nil).expect(t, 200)
			if got.Header.Get("Cache-Control") != "private, max-age=31536000, immutable" {
				t.Fatalf("%s: the downloadUrl's v is not the asset's version (Cache-Control %q)", a.Name, got.Header.Get("Cache-Control"))
			}
			st.bytes[a.ID] = got.body
			byID := s.do("GET", "/api/assets/"+a.ID+"/download", nil).expect(t, 200)
			if !bytes.Equal(byID.body, got.body) {
				t.Fatalf("%s: download by id differs from download by address", a.ID)
			}
		}
	}
	return st
}

// xferSameView fails the test unless two views show the same assets: ids, addresses,
// sizes, types, dates, versions and bytes (download URLs differ only in their host).
func xferSameView(t *testing.T, got, want xferState) {
	t.Helper()
	strip := func(as []wire.Asset) []byte {
		out := slices.Clone(as)
		for i := range out {
			out[i].DownloadURL = ""
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if g, w := strip(got.assets), strip(want.assets); string(g) != string(w) {
		t.Fatalf("assets after the move:\n got %s\nwant %s", g, w)
	}
	for id, u := range want.urls {
		if got.urls[id] != u {
			t.Errorf("asset %s: downloadUrl %s, was %s", id, got.urls[id], u)
		}
		if !bytes.Equal(got.bytes[id], want.bytes[id]) {
			t.Errorf("asset %s: %d other bytes, was %d", id, len(got.bytes[id]), len(want.bytes[id]))
		}
	}
}
