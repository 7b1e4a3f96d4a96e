package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// adminToken is the admin token every test server runs with.
const adminToken = "e2e-admin-token"

// nodeOptions configure one refstore server process.
type nodeOptions struct {
	// Data is the data directory; a fresh temporary one when empty.
	Data string
	// Args are extra flags for `refstore serve`.
	Args []string
	// Env are extra environment variables (KEY=value).
	Env []string
}

// node is one running refstore server process.
type node struct {
	opts nodeOptions
	url  string
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	log bytes.Buffer // the server's stderr (JSON log lines)
}

// startNode starts a server and waits until it listens. The process is stopped when the
// test ends.
func startNode(t testing.TB, opts nodeOptions) *node {
	t.Helper()
	if opts.Data == "" {
		opts.Data = t.TempDir()
	}
	n, err := launch(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.stop() })
	return n
}

// launched are all the servers this run started, for checkRaces.
var launched struct {
	sync.Mutex
	nodes []*node
}

// checkRaces prints the data races any server of the run reported (a -race build writes
// them to its stderr and goes on) and reports whether there were any.
func checkRaces() bool {
	launched.Lock()
	defer launched.Unlock()
	found := false
	for _, n := range launched.nodes {
		if logs := n.logs(); strings.Contains(logs, "WARNING: DATA RACE") {
			found = true
			fmt.Fprintf(os.Stderr, "e2e: the server %s (%v) reported a data race:\n%s\n", n.url, n.opts.Args, logs)
		}
	}
	return found
}

func launch(opts nodeOptions) (*node, error) {
	n := &node{opts: opts, done: make(chan struct{})}
	launched.Lock()
	launched.nodes = append(launched.nodes, n)
	launched.Unlock()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", opts.Data, "--log-format", "json"}, opts.Args...)
	n.cmd = exec.Command(binPath, args...)
	n.cmd.Env = append(append(os.Environ(), "REFSTORE_ADMIN_TOKEN="+adminToken), opts.Env...)
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	// Wait closes the pipe: it may run only once everything has been read, or the last
	// lines (why the server exited) are lost.
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			n.mu.Lock()
			n.log.Write(line)
			n.log.WriteByte('\n')
			n.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { <-read; n.cmd.Wait(); close(n.done) }()
	select {
	case a := <-addr:
		n.url = "http://" + a
		return n, nil
	case <-n.done:
		return nil, fmt.Errorf("refstore exited before listening:\n%s", n.logs())
	case <-time.After(60 * time.Second):
		n.kill()
		return nil, fmt.Errorf("refstore did not listen within 60s:\n%s", n.logs())
	}
}

// logs returns what the server has logged so far.
func (n *node) logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// pid is the server's process id.
func (n *node) pid() int { return n.cmd.Process.Pid }

// kill stops the server with SIGKILL, as a crash would.
func (n *node) kill() {
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// stop asks the server to shut down (SIGTERM) and waits for it.
func (n *node) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		n.kill()
	}
}

// restart starts a new process on the same data directory and flags.
func (n *node) restart(t testing.TB) *node {
	t.Helper()
	m, err := launch(n.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.stop() })
	return m
}

// peakRSS returns the process's peak resident memory in bytes (VmHWM).
func (n *node) peakRSS(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// ready reports whether /readyz answers 200.
func (n *node) ready() bool {
	resp, err := http.Get(n.url + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
