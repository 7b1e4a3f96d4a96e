package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash campaign: TestCrashRecovery's workers and checks, at scale. Its own tenant, so
// it can reuse crDoc and the crSeg0 segment ids.
const (
	cpWorkers = 6
	cpSegsPer = 2
)

// cpKinds are the kinds of request the workers send, in the order the figures print them.
var cpKinds = []string{"upload", "attach", "overwrite", "delete", "delete all"}

// TestCrashCampaign SIGKILLs servers at random instants of mixed upload / attach /
// overwrite / delete / delete-all traffic from several concurrent clients, many times, and
// after each restart checks, like TestCrashRecovery, that every asset acknowledged before
// the kill is there and complete (downloaded, SHA-256 against the clients' model), that
// each request in flight at the kill was applied whole or not at all, that the data
// directory holds nothing else, and that `refstore fsck` finds nothing wrong.
//
// REFSTORE_CRASH_KILLS sets the number of kills on the embedded default (25 by default, 5
// with -short; `make crash-campaign` runs 200), REFSTORE_CRASH_CLUSTER_KILLS the number on
// each cluster backend (PostgreSQL + shared files, PostgreSQL + S3; 4 by default, none with
// -short; 0 skips them).
func TestCrashCampaign(t *testing.T) {
	kills, clusterKills := 25, 4
	if testing.Short() {
		kills, clusterKills = 5, 0
	}
	kills = figEnvInt(t, "REFSTORE_CRASH_KILLS", kills)
	clusterKills = figEnvInt(t, "REFSTORE_CRASH_CLUSTER_KILLS", clusterKills)
	for _, b := range backends {
		n := kills
		if b.prepare != nil {
			n = clusterKills
		}
		if n == 0 {
			continue
		}
		t.Run(b.name, func(t *testing.T) { cpCampaign(t, b, n) })
	}
}

// cpCampaign runs the campaign on a fresh cluster of backend b.
func cpCampaign(t *testing.T, b backend, kills int) {
	embedded := b.prepare == nil
	var opts nodeOptions
	if b.prepare != nil {
		opts = b.prepare(t)
	}
	if embedded {
		opts.Data = t.TempDir()
	}
	opts.Args = append(opts.Args, "--file-token-ttl", crTokenTTL.String(), "--sweep-interval", "250ms")
	c := &cluster{backend: b}
	for range b.nodes {
		c.nodes = append(c.nodes, startNode(t, opts))
	}
	// Only the embedded default keeps a data directory the checks can read whole: the shared
	// directory of postgres-files is repaired by fsck, not by a restart next to a live node.
	disk := ""
	if embedded {
		disk = opts.Data
	}
	r, workers := newCrRun(t, c, cpWorkers, cpSegsPer, 2000)
	fsck := newCPFsck(t, opts)

	rng := rand.New(ccSource(11))
	start := time.Now()
	inFlight := map[string]int{}
	totals := crTotals{}
	var lastKill time.Time
	for round := range kills {
		r.killed.Store(false)
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.run(r) }()
		}
		delay := time.Duration(20+rng.IntN(781)) * time.Millisecond
		time.Sleep(delay)
		// Kill the only node, or on a cluster one node or both: the other one keeps serving
		// until the workers next reach the dead one.
		victims := []int{0}
		if len(c.nodes) > 1 {
			switch rng.IntN(3) {
			case 0:
				victims = []int{1}
			case 1:
				victims = []int{0, 1}
			}
		}
		for _, i := range victims {
			c.nodes[i].kill()
		}
		dead := time.Now()
		lastKill = dead
		r.killed.Store(true)
		wg.Wait()
		// A request sent once the process was gone never reached it: not in flight.
		var kinds []string
		for _, w := range workers {
			if w.pending != nil && w.pending.started.Before(dead) {
				inFlight[w.pending.what]++
				kinds = append(kinds, w.pending.what)
			}
		}
		r.errMu.Lock()
		for _, e := range r.errs {
			t.Errorf("kill %d: %s", round+1, e)
		}
		r.errs = nil
		r.errMu.Unlock()

		for _, i := range victims {
			c.nodes[i] = c.nodes[i].restart(t)
		}
		cpWaitReady(t, c)
		got := r.verify(disk, workers)
		totals.add(got)
		fsck.check(t, c, fmt.Sprintf("after kill %d", round+1))
		t.Logf("kill %d of nodes %v after %v: %d requests in flight %v (landed %d, not applied %d); %d assets, %d tree files, %d blobs, %d tokens checked; %d inconsistencies",
			round+1, victims, delay, len(kinds), kinds, got.landed, got.lost, got.assets, got.files, got.blobs, got.tokens, got.inconsistencies)
		if t.Failed() && totals.inconsistencies > 5 {
			t.Fatalf("stopping after %d kills: %d inconsistencies", round+1, totals.inconsistencies)
		}
	}

	if embedded {
		// As in TestCrashRecovery: once every file token has expired, the blobs must be
		// exactly the listed contents, whatever uploads the kills cut off.
		time.Sleep(time.Until(lastKill.Add(crTokenTTL)))
		crSweep(t, c)
		blobs := rbBlobHashes(t, disk, r.account)
		if !crSameContents(blobs, r.listed) {
			totals.inconsistencies++
			t.Errorf("after every file token expired: %d blob files for %d listed contents", len(blobs), len(r.listed))
		}
		fsck.check(t, c, "after every file token expired")
	}

	acked := map[string]int{}
	for _, w := range workers {
		for k, v := range w.acked {
			acked[k] += v
		}
	}
	sum := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	figReport(t, "crash campaign, "+b.name, []string{
		fmt.Sprintf("kills (SIGKILL):               %d, at random instants 20-800 ms into each round of traffic from %d concurrent clients (%d nodes)",
			kills, cpWorkers, len(c.nodes)),
		fmt.Sprintf("requests acknowledged (200):   %d (%s)", sum(acked), figCounts(acked, cpKinds...)),
		fmt.Sprintf("requests in flight at kills:   %d (%s)", sum(inFlight), figCounts(inFlight, cpKinds...)),
		fmt.Sprintf("in-flight writes, after restart: applied whole %d (%s); not applied %d (%s); cut-off uploads leave no blob (blob checks, fsck)",
			totals.landed, figCounts(totals.landedBy, cpKinds[1:]...), totals.lost, figCounts(totals.lostBy, cpKinds[1:]...)),
		fmt.Sprintf("checked after the restarts:    %d asset downloads hash-checked, %d tree files, %d blob files, %d live file tokens",
			totals.assets, totals.files, totals.blobs, totals.tokens),
		"fsck:                          " + fsck.summary(),
		fmt.Sprintf("inconsistencies:               %d", totals.inconsistencies+fsck.failed),
		fmt.Sprintf("took:                          %v", time.Since(start).Round(time.Second)),
	})
	if totals.inconsistencies != 0 {
		t.Errorf("%d inconsistencies", totals.inconsistencies)
	}
}

// cpWaitReady waits until every node answers /readyz.
func cpWaitReady(t *testing.T, c *cluster) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range c.nodes {
		for !n.ready() {
			if time.Now().After(deadline) {
				t.Fatalf("node %s not ready after 30s:\n%s", n.url, n.logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// cpFsck runs `refstore fsck` on the campaign's stores.
type cpFsck struct {
	opts   nodeOptions
	runs   int
	failed int
	last   string // the last summary fsck printed
	// relinked counts the tree entries of killed nodes that fsck --repair fixed.
	relinked int
	took     time.Duration
}

func newCPFsck(t *testing.T, opts nodeOptions) *cpFsck {
	return &cpFsck{opts: opts}
}

// storeArgs are the flags naming the stores, taken from the serve flags.
func (f *cpFsck) storeArgs() []string {
	args := []string{"--data", f.opts.Data}
	for i := 0; i < len(f.opts.Args)-1; i++ {
		switch f.opts.Args[i] {
		case "--metadata", "--blobs":
			args = append(args, f.opts.Args[i], f.opts.Args[i+1])
			i++
		}
	}
	return args
}

// check stops the servers (the embedded default's data directory is one process's at a
// time), runs fsck, and starts them again.
func (f *cpFsck) check(t *testing.T, c *cluster, when string) {
	t.Helper()
	for _, n := range c.nodes {
		n.stop()
		if code := n.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s: the server exited with status %d on SIGTERM:\n%s", when, code, n.logs())
		}
	}
	opts := f.opts
	opts.Data = c.nodes[0].opts.Data // the one shared directory, or the first node's own
	f.run(t, opts, when)
	for i, n := range c.nodes {
		c.nodes[i] = n.restart(t)
	}
	cpWaitReady(t, c)
}

func (f *cpFsck) run(t *testing.T, opts nodeOptions, when string) {
	t.Helper()
	g := &cpFsck{opts: opts}
	fsck := func(extra ...string) (string, error) {
		cmd := exec.Command(binPath, append(append([]string{"fsck"}, g.storeArgs()...), extra...)...)
		cmd.Env = append(cmd.Environ(), opts.Env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		f.took += time.Since(start)
		f.runs++
		f.last = strings.TrimSpace(out.String())
		return out.String(), err
	}
	out, err := fsck()
	if err != nil && f.sharedTree() && onlyTreeLag(out) > 0 {
		// A node killed between a write's commit and its update of the shared tree leaves
		// the tree behind: a link missing (attach), the old file (overwrite) or a stray
		// one (delete). Nodes that restart next to a live one do not rebuild the tree;
		// fsck --repair does (the nodes are stopped). Anything else is an inconsistency.
		f.relinked += onlyTreeLag(out)
		if out, err = fsck("--repair"); err == nil {
			out, err = fsck()
		}
	}
	if err != nil {
		f.failed++
		t.Errorf("%s: refstore fsck %v: %v\n%s", when, g.storeArgs(), err, out)
	}
}

// sharedTree says the nodes share a data directory with its reference-material tree.
func (f *cpFsck) sharedTree() bool {
	return !slices.Contains(f.opts.Args, "--blobs") && slices.Contains(f.opts.Args, "--metadata")
}

// onlyTreeLag counts the tree entries fsck reported as missing, not linked or stray, and
// returns 0 when it reported anything else.
func onlyTreeLag(out string) int {
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(l, "tree-missing "), strings.HasPrefix(l, "tree-not-linked "), strings.HasPrefix(l, "tree-stray "):
			n++
		case strings.HasPrefix(l, "fsck: "):
		default:
			return 0
		}
	}
	return n
}

func (f *cpFsck) summary() string {
	avg := time.Duration(0)
	if f.runs > 0 {
		avg = f.took / time.Duration(f.runs)
	}
	last := f.last
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	relinked := ""
	if f.sharedTree() {
		relinked = fmt.Sprintf("; tree entries killed nodes had not updated, fixed by fsck --repair: %d", f.relinked)
	}
	return fmt.Sprintf("%d runs, %d clean, %d not clean (%v each on average)%s; last: %s",
		f.runs, f.runs-f.failed, f.failed, avg.Round(time.Millisecond), relinked, last)
}
