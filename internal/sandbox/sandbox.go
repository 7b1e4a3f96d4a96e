// Package sandbox runs external tools (ffmpeg, pdftoppm, and later tesseract and pdftotext)
// on untrusted files, so that a bug in a media parser cannot reach the server's data, the
// network or the machine's resources.
//
// Every run is one process tree started as
//
//	prlimit --as --cpu --fsize --nofile --core -- bwrap … -- /usr/bin/TOOL ARGS
//
// prlimit (util-linux, Essential in Debian, so always present) sets the resource limits on
// itself and execs bubblewrap, which keeps them and passes them to the tool: limits then
// hold from the tool's first instruction. Go's SysProcAttr has no rlimit field, and
// prlimit(2) on an already started child races with its exec; a re-exec of the server
// binary would need a hook in every main and every test binary. prlimit needs neither.
//
// bubblewrap gives the tool new user, mount, pid, network, IPC, UTS and cgroup namespaces:
// it runs as an unprivileged uid with no capabilities and no_new_privs, sees /usr read-only
// (plus the few /etc entries the dynamic loader and fontconfig need), a private /proc, /dev
// and a size-limited /tmp, its input files bound read-only under /in, and at most one
// host directory bound writable at /out. The network namespace holds only a loopback
// interface, so it can reach no server, not even the host's 127.0.0.1.
//
// When bubblewrap or prlimit is missing, or the kernel refuses the namespaces, the Runner
// is unusable and every Run fails with ErrUnavailable: tools never run unsandboxed, and
// callers answer "not available" (HTTP 501) instead. A fallback built from SysProcAttr
// namespaces alone could not set up the mounts between fork and exec (Go has no hook
// there), so it would be weaker, and is deliberately not offered.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnavailable reports that the sandbox or the tool cannot be used on this machine.
var ErrUnavailable = errors.New("not available")

// versionArgs is how each known tool prints its version; other tools get --version.
var versionArgs = map[string][]string{
	"ffmpeg":    {"-version"},
	"ffprobe":   {"-version"},
	"pdftoppm":  {"-v"},
	"pdftotext": {"-v"},
	"pdfinfo":   {"-v"},
	"tesseract": {"--version"},
	"bwrap":     {"--version"},
	"prlimit":   {"--version"},
}

// Options says what Detect looks for.
type Options struct {
	// Tools are the program names to find, e.g. "ffmpeg", "pdftoppm".
	Tools []string
	// Probe overrides the arguments of the detection run of a tool (default: its version
	// flag, --version for tools this package does not know). The run must exit 0.
	Probe map[string][]string
	// Bwrap and Prlimit override where bubblewrap and prlimit are (default: on PATH).
	Bwrap, Prlimit string
	// ProbeTimeout bounds each detection run (default 10 s).
	ProbeTimeout time.Duration
}

// ToolInfo is what Detect found out about one program.
type ToolInfo struct {
	Name    string
	Path    string // absolute path on the host; "" when not found
	Version string // first line of its version output
	Err     error  // why it cannot be used; nil when it can
}

// Runner runs tools in the sandbox. Detect makes one; it is safe for concurrent use.
type Runner struct {
	bwrap, prlimit ToolInfo
	tools          map[string]ToolInfo
	err            error // why the sandbox itself is unusable
	root           bool  // running as root: bwrap must be told to drop capabilities

	started, running, maxRunning atomic.Int64
	mu                           sync.Mutex // orders maxRunning updates
}

// Detect finds bubblewrap, prlimit and the tools, and proves that each tool runs inside
// the sandbox by asking it for its version there: a tool that exists but cannot start in
// the sandbox (a library outside /usr, a kernel without user namespaces) is reported
// unusable at start rather than failing on the first request.
func Detect(ctx context.Context, opts Options) *Runner {
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 10 * time.Second
	}
	r := &Runner{tools: map[string]ToolInfo{}, root: os.Geteuid() == 0}
	closeInheritedOnExec()
	r.prlimit = hostTool("prlimit", opts.Prlimit, opts.ProbeTimeout)
	r.bwrap = hostTool("bwrap", opts.Bwrap, opts.ProbeTimeout)
	switch {
	case r.prlimit.Err != nil:
		r.err = fmt.Errorf("sandbox: prlimit (util-linux): %w", r.prlimit.Err)
	case r.bwrap.Err != nil:
		r.err = fmt.Errorf("sandbox: bwrap (bubblewrap): %w", r.bwrap.Err)
	default:
		r.err = r.selfTest(ctx, opts.ProbeTimeout)
	}
	for _, name := range opts.Tools {
		args, ok := opts.Probe[name]
		if !ok {
			args, ok = versionArgs[name]
		}
		if !ok {
			args = []string{"--version"}
		}
		r.tools[name] = r.probe(ctx, name, args, opts.ProbeTimeout)
	}
	return r
}

// hostTool finds a helper that runs outside the sandbox (bwrap, prlimit) and its version.
func hostTool(name, path string, timeout time.Duration) ToolInfo {
	t := ToolInfo{Name: name, Path: path}
	if t.Path == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Err = fmt.Errorf("%s not found on PATH: %w", name, ErrUnavailable)
			return t
		}
		t.Path = p
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, t.Path, versionArgs[name]...).CombinedOutput()
	if err != nil {
		t.Err = fmt.Errorf("%s %s: %v: %w", t.Path, strings.Join(versionArgs[name], " "), err, ErrUnavailable)
		return t
	}
	t.Version = firstLine(out)
	return t
}

// selfTest runs /usr/bin/true in the sandbox with default limits and an input bound by
// descriptor, which needs bubblewrap 0.10 or Debian's 0.8.0-2+deb12u1 (a backport).
func (r *Runner) selfTest(ctx context.Context, timeout time.Duration) error {
	lim := DefaultLimits()
	lim.Timeout = timeout
	in, err := os.Open("/usr/bin/true")
	if err != nil {
		return fmt.Errorf("sandbox: %v: %w", err, ErrUnavailable)
	}
	defer in.Close()
	if _, err := r.run(ctx, "/usr/bin/true", Cmd{Limits: lim, Inputs: []Input{{File: in, Name: "probe"}}}); err != nil {
		return fmt.Errorf("sandbox: bwrap cannot start a sandbox here: %v: %w", err, ErrUnavailable)
	}
	return nil
}

// probe finds a tool on the host and runs its version command inside the sandbox.
func (r *Runner) probe(ctx context.Context, name string, args []string, timeout time.Duration) ToolInfo {
	t := ToolInfo{Name: name}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Err = fmt.Errorf("%s not found on PATH: %w", name, ErrUnavailable)
		return t
	}
	if p, err = filepath.Abs(p); err == nil {
		p, err = filepath.EvalSymlinks(p)
	}
	if err != nil {
		t.Err = fmt.Errorf("%s: %v: %w", name, err, ErrUnavailable)
		return t
	}
	t.Path = p
	if !strings.HasPrefix(p, "/usr/") {
		t.Err = fmt.Errorf("%s is at %s, outside /usr, which is all the sandbox shows: %w", name, p, ErrUnavailable)
		return t
	}
	if r.err != nil {
		t.Err = r.err
		return t
	}
	lim := DefaultLimits()
	lim.Timeout = timeout
	res, err := r.run(ctx, p, Cmd{Args: args, Limits: lim})
	if err != nil {
		t.Err = fmt.Errorf("%s does not run in the sandbox: %v: %w", name, err, ErrUnavailable)
		return t
	}
	// pdftoppm -v and friends print their version on stderr.
	t.Version = firstLine(res.Stdout)
	if t.Version == "" {
		t.Version = firstLine(res.Stderr)
	}
	return t
}

// Err says why the sandbox itself is unusable, or nil when it works.
func (r *Runner) Err() error { return r.err }

// Available says whether tool can run sandboxed: nil, or an error wrapping ErrUnavailable
// that names what is missing.
func (r *Runner) Available(tool string) error {
	if r == nil {
		return fmt.Errorf("sandbox: not configured: %w", ErrUnavailable)
	}
	if r.err != nil {
		return r.err
	}
	t, ok := r.tools[tool]
	if !ok {
		return fmt.Errorf("sandbox: %s was not detected at start: %w", tool, ErrUnavailable)
	}
	return t.Err
}

// Report lists bwrap, prlimit and every tool Detect looked for, for the start log and
// the health endpoint.
func (r *Runner) Report() []ToolInfo {
	out := []ToolInfo{r.bwrap, r.prlimit}
	names := make([]string, 0, len(r.tools))
	for n := range r.tools {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, r.tools[n])
	}
	return out
}

// Stats counts sandboxed processes, for metrics and for tests of callers' concurrency
// bounds.
type Stats struct {
	Started    int64 // runs started since Detect (detection runs included)
	Running    int64 // runs in progress now
	MaxRunning int64 // the most runs in progress at once since Detect
}

// Stats returns the counters.
func (r *Runner) Stats() Stats {
	return Stats{Started: r.started.Load(), Running: r.running.Load(), MaxRunning: r.maxRunning.Load()}
}

func (r *Runner) enter() {
	r.started.Add(1)
	n := r.running.Add(1)
	r.mu.Lock()
	if n > r.maxRunning.Load() {
		r.maxRunning.Store(n)
	}
	r.mu.Unlock()
}

func (r *Runner) leave() { r.running.Add(-1) }

// closeInheritedOnExec marks close-on-exec every descriptor this process inherited
// without that flag (Go opens its own with it). Neither prlimit nor bwrap closes stray
// descriptors, so without this a pipe or socket handed to the server by whatever started
// it would be open inside every sandbox. Descriptors are only inherited at start, so
// once, at Detect, is enough.
func closeInheritedOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
		}
	}
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
	return strings.TrimSpace(string(line))
}

// isDir reports whether p is a directory (following symlinks).
func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// isSymlink returns the target of p when it is a symbolic link.
func isSymlink(p string) (string, bool) {
	st, err := os.Lstat(p)
	if err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return "", false
	}
	t, err := os.Readlink(p)
	return t, err == nil
}
