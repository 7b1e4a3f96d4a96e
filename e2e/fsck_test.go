package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/refstore/refstore/internal/testenv"
)

// fsckRun is one run of `refstore fsck`.
type fsckRun struct {
	code  int
	lines []string // problem lines
	sum   string   // the summary line
	out   string
}

// runFsck runs fsck on a node's stores with extra flags.
func runFsck(t *testing.T, opts nodeOptions, extra ...string) fsckRun {
	t.Helper()
	args := append([]string{"fsck"}, (&cpFsck{opts: opts}).storeArgs()...)
	cmd := exec.Command(binPath, append(args, extra...)...)
	cmd.Env = append(cmd.Environ(), opts.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := fsckRun{out: stdout.String() + stderr.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if strings.HasPrefix(l, "fsck: ") {
			r.sum = l
		} else if l != "" {
			r.lines = append(r.lines, l)
		}
	}
	return r
}

// fsckExpect is one problem fsck must report: its kind and target, and whether --repair
// fixes it.
type fsckExpect struct {
	kind, target string
	fixable      bool
}

var fsckLine = regexp.MustCompile(`^([a-z-]+) (\S+)(: .*?)?( \[repaired\]| \[NOT repaired: .*\])?$`)

// checkFsck asserts that a run reported exactly the expected problems, and after a repair
// that each fixable one was repaired and each other one was not.
func checkFsck(t *testing.T, what string, r fsckRun, want []fsckExpect, repair bool) {
	t.Helper()
	got := map[string]string{} // "kind target" → outcome
	for _, l := range r.lines {
		m := fsckLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("%s: unparsable line %q", what, l)
			continue
		}
		got[m[1]+" "+m[2]] = m[4]
	}
	wantCode := 0
	for _, w := range want {
		key := w.kind + " " + w.target
		outcome, ok := got[key]
		delete(got, key)
		if !ok {
			t.Errorf("%s: fsck did not report %s", what, key)
			continue
		}
		switch {
		case repair && w.fixable && outcome != " [repaired]":
			t.Errorf("%s: %s not repaired:%s", what, key, outcome)
			wantCode = 1
		case repair && !w.fixable:
			if !strings.HasPrefix(outcome, " [NOT repaired") {
				t.Errorf("%s: %s: outcome %q, want NOT repaired", what, key, outcome)
			}
			wantCode = 1
		case !repair:
			wantCode = 1
		}
	}
	for k := range got {
		t.Errorf("%s: unexpected problem %s", what, k)
	}
	if r.code != wantCode || r.sum == "" {
		t.Errorf("%s: exit status %d, want %d; summary %q\n%s", what, r.code, wantCode, r.sum, r.out)
	}
}

// TestFsck damages the stores of each backend by hand, in every way fsck knows, and
// checks that fsck names each problem precisely (exit 1), that --repair fixes what can be
// fixed without losing data and names what it could not, and that fsck afterwards reports
// only those.
func TestFsck(t *testing.T) {
	for _, name := range []string{"embedded", "postgres-files", "postgres-s3"} {
		t.Run(name, func(t *testing.T) { fsckScenario(t, name) })
	}
}

func fsckScenario(t *testing.T, backendName string) {
	opts := nodeOptions{Data: t.TempDir()}
	var gw *testenv.S3
	dsn := ""
	switch backendName {
	case "postgres-files":
		dsn = testenv.Postgres(t)
		opts.Args = []string{"--metadata", dsn}
	case "postgres-s3":
		dsn = testenv.Postgres(t)
		gw = testenv.StartS3(t)
		opts.Args, opts.Env = []string{"--metadata", dsn, "--blobs", gw.URL()}, gw.Env()
	}
	nodes := 1
	if dsn != "" {
		nodes = 2
	}
	c := &cluster{backend: backend{name: backendName, nodes: nodes}}
	for range nodes {
		c.nodes = append(c.nodes, startNode(t, opts))
	}
	tn := newTenant(t, c)
	pm := tn.as("pm")
	scope := fmt.Sprintf("pr%d", projectID)
	content := map[string][]byte{}
	put := func(seg int64, name string) {
		content[name] = randomBytes(3000 + len(content)*1111)
		pm.put(scope, seg, name, "", "", content[name])
	}
	for _, n := range []string{"fine.bin", "gone.bin", "saved.bin"} {
		put(segA1, n)
	}
	for _, n := range []string{"short.bin", "flipped.bin"} {
		put(segA2, n)
	}
	for _, n := range []string{"copy.bin", "unlinked.bin"} {
		put(segA3, n)
	}
	pm.upload("expired.bin", randomBytes(4444))

	// Clean, and checked while the servers run: fsck only reads.
	if r := runFsck(t, opts); r.code != 0 || len(r.lines) != 0 || !strings.Contains(r.sum, "; clean;") {
		t.Fatalf("fsck on the undamaged stores, servers running: status %d\n%s", r.code, r.out)
	}
	if backendName == "embedded" {
		r := runFsck(t, opts, "--repair")
		if r.code != 2 || !strings.Contains(r.out, "stop it for --repair") {
			t.Fatalf("fsck --repair next to the running embedded server: status %d, want 2 and a clear message\n%s", r.code, r.out)
		}
	}
	for _, n := range c.nodes {
		n.stop()
	}

	driver := "pgx"
	if dsn == "" {
		driver, dsn = "sqlite", filepath.Join(opts.Data, "meta.db")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := func(name string) string {
		var k string
		if err := db.QueryRow(`SELECT blob_key FROM blobs WHERE account_id = $1 AND sha256 = $2`, tn.account,
			rbSHA256(content[name])).Scan(&k); err != nil {
			t.Fatalf("blob key of %s: %v", name, err)
		}
		return k
	}
	blobTarget := func(name string) string { return tn.account + "/" + key(name) }
	var want []fsckExpect
	// An upload whose token expired two hours ago (the sweeper is not running).
	var tokenHash string
	if err := db.QueryRow(`SELECT hash FROM uploads WHERE account_id = $1 AND name = 'expired.bin'`, tn.account).Scan(&tokenHash); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE uploads SET expires = $1 WHERE hash = $2`, time.Now().Add(-2*time.Hour).UnixMilli(), tokenHash); err != nil {
		t.Fatal(err)
	}
	want = append(want, fsckExpect{"expired-upload", tn.account + "/" + tokenHash[:12], true})
	strayKey := "ab" + strings.Repeat("0", 29) + "1"

	if gw == nil {
		data := opts.Data
		blobFile := func(name string) string {
			k := key(name)
			return filepath.Join(data, "accounts", tn.account, "blobs", k[:2], k)
		}
		segDir := func(seg int64) string {
			return filepath.Join(data, "accounts", tn.account, "projects", itoa(projectID), "assets", itoa(docA),
				itoa(seg%1000), itoa(seg))
		}
		tree := func(seg int64, name string) string { return filepath.Join(segDir(seg), name) }
		treeRel := func(p string) string { rel, _ := filepath.Rel(data, p); return rel }
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		// Lost: the blob file and its tree link.
		want = append(want, fsckExpect{"missing-blob", blobTarget("gone.bin"), false})
		must(os.Remove(blobFile("gone.bin")))
		must(os.Remove(tree(segA1, "gone.bin")))
		// The blob file only: the tree's link still holds the bytes.
		want = append(want, fsckExpect{"missing-blob", blobTarget("saved.bin"), true})
		must(os.Remove(blobFile("saved.bin")))
		// Truncated, and one byte flipped.
		want = append(want, fsckExpect{"size-mismatch", blobTarget("short.bin"), false})
		must(os.Truncate(blobFile("short.bin"), 100))
		want = append(want, fsckExpect{"hash-mismatch", blobTarget("flipped.bin"), false})
		f, err := os.OpenFile(blobFile("flipped.bin"), os.O_RDWR, 0)
		must(err)
		b := []byte{content["flipped.bin"][10] ^ 0xff}
		_, err = f.WriteAt(b, 10)
		must(err)
		f.Close()
		// A copy where the link belongs (a broken dedup link), a missing link, a stray file.
		want = append(want, fsckExpect{"tree-not-linked", treeRel(tree(segA3, "copy.bin")), true})
		must(os.Remove(tree(segA3, "copy.bin")))
		must(os.WriteFile(tree(segA3, "copy.bin"), content["copy.bin"], 0o644))
		want = append(want, fsckExpect{"tree-missing", treeRel(tree(segA3, "unlinked.bin")), true})
		must(os.Remove(tree(segA3, "unlinked.bin")))
		want = append(want, fsckExpect{"tree-stray", treeRel(tree(segA1, "stray.txt")), true})
		must(os.WriteFile(tree(segA1, "stray.txt"), []byte("nobody's"), 0o644))
		// Bytes no metadata names, and a file an interrupted write left in tmp/.
		want = append(want, fsckExpect{"orphan-blob", tn.account + "/" + strayKey, true})
		must(os.MkdirAll(filepath.Join(data, "accounts", tn.account, "blobs", "ab"), 0o755))
		must(os.WriteFile(filepath.Join(data, "accounts", tn.account, "blobs", "ab", strayKey), []byte("stray"), 0o644))
		leftover := "tmp/" + strings.Repeat("c", 32)
		if backendName == "postgres-files" {
			// A dead node's folder: its lock file is held by nobody.
			must(os.WriteFile(filepath.Join(data, "tmp", strings.Repeat("d", 32)+".lock"), nil, 0o600))
			must(os.MkdirAll(filepath.Join(data, "tmp", strings.Repeat("d", 32)), 0o755))
			leftover = "tmp/" + strings.Repeat("d", 32) + "/" + strings.Repeat("c", 32)
		}
		must(os.WriteFile(filepath.Join(data, leftover), []byte("half"), 0o644))
		want = append(want, fsckExpect{"tmp-leftover", leftover, true})
	} else {
		ctx := context.Background()
		cl := gw.Client()
		obj := func(name string) *string {
			k := key(name)
			s := "accounts/" + tn.account + "/blobs/" + k[:2] + "/" + k
			return &s
		}
		want = append(want, fsckExpect{"missing-blob", blobTarget("gone.bin"), false})
		if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &gw.Bucket, Key: obj("gone.bin")}); err != nil {
			t.Fatal(err)
		}
		want = append(want, fsckExpect{"size-mismatch", blobTarget("short.bin"), false})
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &gw.Bucket, Key: obj("short.bin"),
			Body: bytes.NewReader(content["short.bin"][:100])}); err != nil {
			t.Fatal(err)
		}
		want = append(want, fsckExpect{"hash-mismatch", blobTarget("flipped.bin"), false})
		flipped := bytes.Clone(content["flipped.bin"])
		flipped[10] ^= 0xff
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &gw.Bucket, Key: obj("flipped.bin"),
			Body: bytes.NewReader(flipped)}); err != nil {
			t.Fatal(err)
		}
		want = append(want, fsckExpect{"orphan-blob", tn.account + "/" + strayKey, true})
		stray := "accounts/" + tn.account + "/blobs/ab/" + strayKey
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: &gw.Bucket, Key: &stray, Body: strings.NewReader("stray")}); err != nil {
			t.Fatal(err)
		}
		mp := "accounts/" + tn.account + "/blobs/cd/cd" + strings.Repeat("0", 30)
		if _, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &gw.Bucket, Key: &mp}); err != nil {
			t.Fatal(err)
		}
		want = append(want, fsckExpect{"stale-multipart", "bucket", true})
		time.Sleep(2100 * time.Millisecond) // listings date objects to the second
	}

	// With the nodes stopped nothing is in progress; on a shared backend fsck does not take
	// that for granted, so the orphan grace is set to 0 to take every unnamed blob for a
	// leftover.
	var extra []string
	if dsn != filepath.Join(opts.Data, "meta.db") {
		extra = []string{"--orphan-grace", "0s"}
	}
	checkFsck(t, "fsck of the damaged stores", runFsck(t, opts, extra...), want, false)
	checkFsck(t, "fsck --repair", runFsck(t, opts, append(extra, "--repair")...), want, true)
	var left []fsckExpect
	for _, w := range want {
		if !w.fixable {
			left = append(left, w)
		}
	}
	after := runFsck(t, opts, extra...)
	checkFsck(t, "fsck after the repair", after, left, false)
	for _, l := range after.lines {
		if strings.HasPrefix(l, "missing-blob") && !strings.Contains(l, `"gone.bin"`) {
			t.Errorf("the missing blob's line does not name the asset that lost it: %s", l)
		}
	}
	t.Logf("after the repair:\n%s", after.out)

	// The servers start on the repaired stores; what was repaired downloads whole.
	for i, n := range c.nodes {
		c.nodes[i] = n.restart(t)
	}
	pm = tn.as("pm")
	for _, name := range []string{"fine.bin", "saved.bin", "copy.bin", "unlinked.bin"} {
		if gw != nil && name == "saved.bin" {
			continue
		}
		seg := map[string]int64{"fine.bin": segA1, "saved.bin": segA1, "copy.bin": segA3, "unlinked.bin": segA3}[name]
		got := pm.do("GET", segPath(seg, "scope", scope, "filename", name), nil).expect(t, 200)
		if !bytes.Equal(got.body, content[name]) {
			t.Errorf("%s after the repair: %d bytes that are not the asset's", name, len(got.body))
		}
	}
	if gw == nil {
		files := treeFiles(t, filepath.Join(opts.Data, "tmp"))
		for f := range files {
			if !strings.HasSuffix(f, ".lock") {
				t.Errorf("left in tmp/ after the repair: %s", f)
			}
		}
	}
}
