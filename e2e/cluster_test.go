package e2e

import (
	"os"

	"github.com/refstore/refstore/internal/testenv"
	"sync"
	"sync/atomic"
	"testing"
)

// backend is one storage configuration the suite runs against.
type backend struct {
	name  string
	nodes int
	// prepare sets up the storage of one new cluster and returns the options its nodes
	// share (flags, environment, data directory). nil for the embedded default.
	prepare func(t testing.TB) nodeOptions
}

// backends lists the configurations every forEachBackend test runs against: the embedded
// default; two nodes on PostgreSQL sharing one data directory for the files; two nodes on
// PostgreSQL and S3 (versitygw). Requests rotate over the nodes.
var backends = []backend{
	{name: "embedded", nodes: 1},
	{name: "postgres-files", nodes: 2, prepare: func(t testing.TB) nodeOptions {
		return nodeOptions{Data: t.TempDir(), Args: []string{"--metadata", testenv.Postgres(t)}}
	}},
	{name: "postgres-s3", nodes: 2, prepare: func(t testing.TB) nodeOptions {
		s3 := testenv.StartS3(t)
		return nodeOptions{Args: []string{"--metadata", testenv.Postgres(t), "--blobs", s3.URL()}, Env: s3.Env()}
	}},
}

// cluster is a set of nodes serving the same data. Requests rotate over the nodes, so a
// multi-step scenario touches a different node at every step.
type cluster struct {
	backend backend
	nodes   []*node
	next    atomic.Uint64
}

// url returns the base URL of the next node.
func (c *cluster) url() string {
	i := c.next.Add(1) - 1
	return c.nodes[i%uint64(len(c.nodes))].url
}

// startCluster starts the nodes of a backend with extra serve flags.
func startCluster(t testing.TB, b backend, args ...string) *cluster {
	t.Helper()
	c := &cluster{backend: b}
	var opts nodeOptions
	if b.prepare != nil {
		opts = b.prepare(t)
	}
	opts.Args = append(opts.Args, args...)
	for range b.nodes {
		c.nodes = append(c.nodes, startNode(t, opts))
	}
	return c
}

// shared holds one long-lived cluster per backend for the tests that need no special
// flags; tests isolate themselves by using their own accounts.
var shared struct {
	sync.Mutex
	clusters map[string]*cluster
	stops    []func()
}

// sharedCluster returns the shared cluster of a backend, starting it on first use.
func sharedCluster(t *testing.T, b backend) *cluster {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if c, ok := shared.clusters[b.name]; ok {
		return c
	}
	lt := &lifetime{T: t}
	c := startCluster(lt, b)
	if shared.clusters == nil {
		shared.clusters = map[string]*cluster{}
	}
	shared.clusters[b.name] = c
	shared.stops = append(shared.stops, lt.cleanup)
	return c
}

func stopSharedClusters() {
	shared.Lock()
	defer shared.Unlock()
	for _, stop := range shared.stops {
		stop()
	}
}

// lifetime is a testing.TB whose temporary directories and cleanups outlive the test that
// created them: they run when the whole package is done.
type lifetime struct {
	*testing.T
	cleanups []func()
}

func (l *lifetime) Cleanup(f func()) { l.cleanups = append(l.cleanups, f) }

func (l *lifetime) TempDir() string {
	d, err := os.MkdirTemp("", "refstore-e2e-")
	if err != nil {
		l.Fatal(err)
	}
	l.cleanups = append(l.cleanups, func() { os.RemoveAll(d) })
	return d
}

func (l *lifetime) cleanup() {
	for i := len(l.cleanups) - 1; i >= 0; i-- {
		l.cleanups[i]()
	}
}

// forEachBackend runs f once per backend, as a subtest, against its shared cluster.
func forEachBackend(t *testing.T, f func(t *testing.T, c *cluster)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, sharedCluster(t, b)) })
	}
}

// forEachBackendWith runs f once per backend against a fresh cluster started with extra
// serve flags.
func forEachBackendWith(t *testing.T, args []string, f func(t *testing.T, c *cluster)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, startCluster(t, b, args...)) })
	}
}
