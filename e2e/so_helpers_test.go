package e2e

// Helpers of the scale-out and fault tests (scaleout_test.go, faults_test.go). Package-level
// names carry an so prefix so that they cannot clash with the other tests' helpers.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/refstore/refstore/internal/testenv"
)

// soBackend looks a backend up by name.
func soBackend(t testing.TB, name string) backend {
	t.Helper()
	for _, b := range backends {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("no backend %q", name)
	return backend{}
}

// soPin is a view of one node of a cluster: every request through it goes to that node.
func soPin(c *cluster, i int) *cluster {
	return &cluster{backend: c.backend, nodes: []*node{c.nodes[i]}}
}

// soVia is the same session (same token) sending its requests through another cluster view.
func soVia(s *session, c *cluster) *session {
	return &session{t: s.t, c: c, account: s.account, token: s.token}
}

// soLogin logs a fixture user of a tenant in through a given cluster view.
func soLogin(t testing.TB, c *cluster, tn *tenant, user string) *session {
	t.Helper()
	resp := do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{
		"accountid": tn.account, "key": apiKey(tn.account, user)}))
	resp.expect(t, 200)
	var token string
	resp.json(t, &token)
	return &session{t: t, c: c, account: tn.account, token: token}
}

// soPG is a private PostgreSQL server the scale-out and fault tests put their clusters on,
// so that they do not take connections of the machine's shared server, which the
// long-lived shared clusters and the other test packages use.
var soPG struct {
	sync.Mutex
	srv *testenv.PGServer
}

// soPostgres returns the URL of a fresh database on the package's private PostgreSQL
// server, starting the server on first use; it stops when the package's tests are done.
func soPostgres(t *testing.T) string {
	t.Helper()
	soPG.Lock()
	if soPG.srv == nil {
		lt := &lifetime{T: t}
		soPG.srv = testenv.StartPostgres(lt)
		shared.Lock()
		shared.stops = append(shared.stops, lt.cleanup)
		shared.Unlock()
	}
	srv := soPG.srv
	soPG.Unlock()
	return srv.Database(t)
}

// soS3Cluster starts n nodes on a fresh PostgreSQL database and a fresh S3 gateway, whose
// handle the test keeps to look into the bucket or stop the gateway.
func soS3Cluster(t *testing.T, n int, args ...string) (*cluster, *testenv.S3) {
	t.Helper()
	gw := testenv.StartS3(t)
	opts := nodeOptions{Args: append([]string{"--metadata", soPostgres(t), "--blobs", gw.URL()}, args...), Env: gw.Env()}
	c := &cluster{backend: backend{name: "postgres-s3", nodes: n}}
	for range n {
		c.nodes = append(c.nodes, startNode(t, opts))
	}
	return c, gw
}

// soBlobPrefix is where an account's blobs are in the bucket.
func soBlobPrefix(account string) string { return "accounts/" + account + "/blobs/" }

// soObjects lists the object keys of an account's blobs.
func soObjects(t testing.TB, gw *testenv.S3, account string) []string {
	t.Helper()
	var keys []string
	for _, k := range gw.Keys(t) {
		if strings.HasPrefix(k, soBlobPrefix(account)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// soObjectHashes fetches every object of an account's blobs: key → SHA-256 of its bytes.
func soObjectHashes(t testing.TB, gw *testenv.S3, account string) map[string]string {
	t.Helper()
	client := gw.Client()
	out := map[string]string{}
	for _, k := range soObjects(t, gw, account) {
		obj, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &gw.Bucket, Key: aws.String(k)})
		var gone *types.NoSuchKey
		if errors.As(err, &gone) {
			continue // deleted since it was listed
		} else if err != nil {
			t.Fatalf("fetching object %s: %v", k, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatalf("fetching object %s: %v", k, err)
		}
		out[k] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// soMultipartUploads lists the unfinished multipart uploads of the bucket.
func soMultipartUploads(t testing.TB, gw *testenv.S3) []string {
	t.Helper()
	out, err := gw.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &gw.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

// soEventually polls cond until it reports done or the deadline passes, and fails the test
// then with cond's last explanation. It bounds waits; it does not time them.
func soEventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, why := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v: %s", what, within, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// soQuick is the client of requests that must be answered promptly: a backend outage must
// turn into a 503, not a hang.
var soQuick = &http.Client{Timeout: 30 * time.Second}

// soNoRedirect does not follow redirects, to look at them.
var soNoRedirect = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// soCall sends a request with a given client and reads the whole answer; it never calls
// t.Fatal, so goroutines may use it.
func soCall(client *http.Client, method, url string, h http.Header, body io.Reader) (*response, time.Duration, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, 0, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return nil, took, fmt.Errorf("%s %s: reading the body: %w", method, url, err)
	}
	return &response{Response: resp, body: b}, took, nil
}

// soMust is soCall for the test goroutine.
func soMust(t testing.TB, client *http.Client, method, url string, h http.Header, body io.Reader) (*response, time.Duration) {
	t.Helper()
	r, took, err := soCall(client, method, url, h, body)
	if err != nil {
		t.Fatalf("%s %s: %v (after %v)", method, url, err, took)
	}
	return r, took
}

// soReady returns a node's /readyz status (0 when it does not answer).
func soReady(n *node) int {
	r, _, err := soCall(soQuick, "GET", n.url+"/readyz", nil, nil)
	if err != nil {
		return 0
	}
	return r.StatusCode
}

// soDownload downloads an asset of a segment by name through a session.
func soDownload(s *session, scope string, segment int64, name string) *response {
	s.t.Helper()
	return s.do("GET", segPath(segment, "scope", scope, "filename", name), nil)
}

// soHash is the hex SHA-256 of b.
func soHash(b []byte) string { return rbSHA256(b) }

// soLogCounts sums the integer fields of the JSON log lines of the given message.
func soLogCounts(nodes []*node, msg string, fields ...string) map[string]int {
	sums := map[string]int{}
	for _, n := range nodes {
		for _, line := range strings.Split(n.logs(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != msg {
				continue
			}
			for _, f := range fields {
				if v, ok := rec[f].(float64); ok {
					sums[f] += int(v)
				}
			}
		}
	}
	return sums
}

// soRun runs the refstore binary with args (and extra environment) and returns its exit
// code and output; a run longer than the bound is killed and fails the test.
func soRun(t testing.TB, within time.Duration, env []string, args ...string) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(append(os.Environ(), "REFSTORE_ADMIN_TOKEN="+adminToken), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("refstore %s did not exit within %v:\n%s", strings.Join(args, " "), within, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), took
}

var soSpaces = regexp.MustCompile(`\s+`)

// soOneLine squeezes output for messages.
func soOneLine(s string) string { return strings.TrimSpace(soSpaces.ReplaceAllString(s, " ")) }

// soDescribe says what a request of a goroutine got.
func soDescribe(resp *http.Response, body []byte, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("status %d, %d bytes (Content-Length %s): %s", resp.StatusCode, len(body),
		resp.Header.Get("Content-Length"), truncate(body))
}

// soLogProblems logs the warnings and errors the nodes logged, to explain a failure.
func soLogProblems(t testing.TB, nodes []*node) {
	t.Helper()
	for i, n := range nodes {
		for _, l := range strings.Split(n.logs(), "\n") {
			if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
				t.Logf("node %d: %s", i, l)
			}
		}
	}
}
