package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slowDownload starts a download and returns its response, whose body the caller reads.
func slowDownload(t *testing.T, n *node, s *session, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", n.url+path, nil)
	req.Header = s.headers()
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("download: status %d", resp.StatusCode)
	}
	return resp
}

// waitRefused waits until the node's address refuses new connections.
func waitRefused(t *testing.T, n *node) time.Duration {
	t.Helper()
	u, _ := url.Parse(n.url)
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		switch {
		case err == nil:
			c.Close()
		case strings.Contains(err.Error(), "refused"):
			return time.Since(start)
		case !strings.Contains(err.Error(), "reset"): // queued as the listener closed
			t.Fatalf("new connection after SIGTERM: %v, want refused", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("new connections still accepted 5s after SIGTERM")
	return 0
}

// waitExit waits for the process to end and returns its status and how long it took.
func waitExit(t *testing.T, n *node, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-n.done:
	case <-time.After(within):
		t.Fatalf("still running %v after the signal:\n%s", within, n.logs())
	}
	return n.cmd.ProcessState.ExitCode(), time.Since(start)
}

// checkClosedCleanly checks what a clean stop leaves in an embedded data directory: the
// SQLite WAL checkpointed into the database, no file in tmp/, no unclean marker.
func checkClosedCleanly(t *testing.T, data string) {
	t.Helper()
	if info, err := os.Stat(filepath.Join(data, "meta.db-wal")); err == nil && info.Size() > 0 {
		t.Errorf("meta.db-wal holds %d bytes after the stop: not checkpointed", info.Size())
	}
	if _, err := os.Stat(filepath.Join(data, ".unclean")); err == nil {
		t.Error("the unclean-shutdown marker is still there after a clean stop")
	}
	for f := range treeFiles(t, filepath.Join(data, "tmp")) {
		t.Errorf("left in tmp/ after the stop: %s", f)
	}
}

// TestGracefulShutdown sends SIGTERM during a slow download and a slow upload: both
// complete, new connections are refused at once, the process exits 0 with its stores
// closed cleanly. A second signal stops at once with a non-zero status; the grace period
// bounds how long the first one waits.
func TestGracefulShutdown(t *testing.T) {
	big := randomBytes(24 << 20)
	scope := fmt.Sprintf("pr%d", projectID)
	setup := func(t *testing.T, args ...string) (*cluster, *session) {
		c := &cluster{backend: backends[0], nodes: []*node{startNode(t, nodeOptions{Args: args})}}
		pm := newTenant(t, c).as("pm")
		pm.put(scope, segA1, "big.bin", "", "", big)
		return c, pm
	}
	path := segPath(segA1, "scope", scope, "filename", "big.bin")

	t.Run("download", func(t *testing.T) {
		c, pm := setup(t, "--shutdown-grace", "60s")
		n := c.nodes[0]
		resp := slowDownload(t, n, pm, path)
		first := make([]byte, 1<<20)
		if _, err := io.ReadFull(resp.Body, first); err != nil {
			t.Fatal(err)
		}
		n.cmd.Process.Signal(syscall.SIGTERM)
		refusedAfter := waitRefused(t, n)
		// Read the rest slowly: the server waits.
		var rest bytes.Buffer
		buf := make([]byte, 256<<10)
		start := time.Now()
		for {
			k, err := resp.Body.Read(buf)
			rest.Write(buf[:k])
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("download cut off after %d bytes: %v", len(first)+rest.Len(), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !bytes.Equal(append(first, rest.Bytes()...), big) {
			t.Fatalf("download in flight at SIGTERM: %d bytes that are not the asset's", len(first)+rest.Len())
		}
		code, took := waitExit(t, n, 30*time.Second)
		if code != 0 {
			t.Fatalf("exit status %d after SIGTERM, want 0:\n%s", code, n.logs())
		}
		checkClosedCleanly(t, n.opts.Data)
		t.Logf("SIGTERM: new connections refused after %v; the download in flight finished in %v (24 MiB, read slowly); exit 0 %v after it",
			refusedAfter.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), took.Round(time.Millisecond))
	})

	t.Run("upload", func(t *testing.T) {
		c, pm := setup(t, "--shutdown-grace", "60s")
		n := c.nodes[0]
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		data := randomBytes(8 << 20)
		type result struct {
			status int
			body   []byte
			err    error
		}
		done := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest("POST", n.url+"/api/media/upload", pr)
			req.Header = pm.headers()
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
			if err != nil {
				done <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- result{resp.StatusCode, b, err}
		}()
		part, _ := mw.CreateFormFile("file", "slow.bin")
		sent := 0
		for sent < len(data) {
			k := min(256<<10, len(data)-sent)
			if _, err := part.Write(data[sent : sent+k]); err != nil {
				t.Fatalf("writing the upload: %v", err)
			}
			sent += k
			if sent == 2<<20 {
				n.cmd.Process.Signal(syscall.SIGTERM)
				waitRefused(t, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		mw.Close()
		pw.Close()
		r := <-done
		if r.err != nil || r.status != 200 {
			t.Fatalf("upload in flight at SIGTERM: %v, status %d: %s", r.err, r.status, r.body)
		}
		var out struct{ Result struct{ Token string } }
		json.Unmarshal(r.body, &out)
		code, _ := waitExit(t, n, 30*time.Second)
		if code != 0 {
			t.Fatalf("exit status %d after SIGTERM, want 0:\n%s", code, n.logs())
		}
		checkClosedCleanly(t, n.opts.Data)
		// The upload was stored durably: its token works after a restart.
		c.nodes[0] = n.restart(t)
		pm = (&tenant{t: t, c: c, account: pm.account}).as("pm")
		got := pm.do("GET", "/api/media/get/"+out.Result.Token, nil).expect(t, 200)
		if !bytes.Equal(got.body, data) {
			t.Fatalf("the upload finished during shutdown reads back %d bytes that are not the ones sent", len(got.body))
		}
	})

	t.Run("second signal", func(t *testing.T) {
		c, pm := setup(t, "--shutdown-grace", "60s")
		n := c.nodes[0]
		resp := slowDownload(t, n, pm, path)
		defer resp.Body.Close()
		n.cmd.Process.Signal(syscall.SIGTERM)
		waitRefused(t, n)
		time.Sleep(200 * time.Millisecond)
		select {
		case <-n.done:
			t.Fatal("the server stopped on the first SIGTERM with a download in flight")
		default:
		}
		n.cmd.Process.Signal(syscall.SIGINT)
		code, took := waitExit(t, n, 3*time.Second)
		if code == 0 {
			t.Fatalf("exit status 0 after a second signal, want non-zero")
		}
		t.Logf("second signal: exit status %d after %v", code, took.Round(time.Millisecond))
	})

	t.Run("grace over", func(t *testing.T) {
		c, pm := setup(t, "--shutdown-grace", "1s")
		n := c.nodes[0]
		resp := slowDownload(t, n, pm, path)
		defer resp.Body.Close()
		n.cmd.Process.Signal(syscall.SIGTERM)
		code, took := waitExit(t, n, 15*time.Second)
		if code != 0 || took < 900*time.Millisecond {
			t.Fatalf("with a stalled download and --shutdown-grace 1s: exit status %d after %v, want 0 after about 1s", code, took)
		}
		checkClosedCleanly(t, n.opts.Data)
		t.Logf("grace over: exit 0 after %v", took.Round(time.Millisecond))
	})
}
