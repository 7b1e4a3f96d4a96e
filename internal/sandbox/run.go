package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Errors of a run; test them with errors.Is.
var (
	// ErrTimeout: the run took longer than Limits.Timeout and was killed.
	ErrTimeout = errors.New("time limit exceeded")
	// ErrCPULimit: the tool used more CPU time than Limits.CPU and was killed.
	ErrCPULimit = errors.New("CPU time limit exceeded")
	// ErrFileSizeLimit: the tool wrote a file larger than Limits.FileSize and was killed.
	ErrFileSizeLimit = errors.New("file size limit exceeded")
	// ErrOutputTooLarge: the tool wrote more than Limits.Stdout to its standard output and
	// was killed.
	ErrOutputTooLarge = errors.New("output over its size limit")
)

// ExitError is a tool that ended with a non-zero status (or was killed by a signal not
// caused by a limit of this package). A tool that runs out of Limits.Memory usually ends
// this way too ("Cannot allocate memory" in Stderr): the kernel refuses the allocation
// and the tool decides how to fail.
type ExitError struct {
	Tool   string
	Code   int    // exit status; 128+N when killed by signal N
	Stderr string // the start of the tool's standard error
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s exited with status %d", e.Tool, e.Code)
	if s := firstLine([]byte(e.Stderr)); s != "" {
		msg += ": " + s
	}
	return msg
}

// Limits bound one run. Zero fields take the DefaultLimits value.
type Limits struct {
	Timeout   time.Duration // wall clock, from start to exit
	Memory    int64         // address space of each process (RLIMIT_AS), bytes
	CPU       time.Duration // CPU time of each process (RLIMIT_CPU), whole seconds (rounded up)
	FileSize  int64         // largest file a process may write (RLIMIT_FSIZE), bytes
	OpenFiles int           // open file descriptors per process (RLIMIT_NOFILE)
	Stdout    int64         // standard output kept; more is ErrOutputTooLarge
	Stderr    int64         // standard error kept; more is dropped silently
	Tmp       int64         // size of the private tmpfs at /tmp, bytes
}

// DefaultLimits are generous enough for ffmpeg on a 4K clip and pdftoppm on a large page;
// callers tighten them per tool.
func DefaultLimits() Limits {
	return Limits{
		Timeout:   30 * time.Second,
		Memory:    1 << 30,
		CPU:       30 * time.Second,
		FileSize:  64 << 20,
		OpenFiles: 128,
		Stdout:    64 << 20,
		Stderr:    64 << 10,
		Tmp:       64 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.Memory <= 0 {
		l.Memory = d.Memory
	}
	if l.CPU <= 0 {
		l.CPU = d.CPU
	}
	if l.FileSize <= 0 {
		l.FileSize = d.FileSize
	}
	if l.OpenFiles <= 0 {
		l.OpenFiles = d.OpenFiles
	}
	if l.Stdout <= 0 {
		l.Stdout = d.Stdout
	}
	if l.Stderr <= 0 {
		l.Stderr = d.Stderr
	}
	if l.Tmp <= 0 {
		l.Tmp = d.Tmp
	}
	return l
}

// Input is a file the tool reads, bound read-only at /in/Name (bwrap --ro-bind-fd): the
// tool cannot write it. bwrap resolves the descriptor's path to mount it, then checks
// that the mounted inode is the descriptor's, so a path changed after opening fails the
// run rather than show the tool another file. The file must still have a name: an
// unlinked file cannot be bound.
type Input struct {
	File *os.File
	Name string // base name under /in, e.g. "input.pdf"
}

// Cmd is one sandboxed run.
type Cmd struct {
	Tool   string   // a tool given to Detect
	Args   []string // arguments; input files are /in/<Name>, the output directory /out
	Inputs []Input
	// OutputDir is a host directory bound writable at /out; "" for none. Each file the
	// tool writes there is bounded by Limits.FileSize. Prefer standard output, which is
	// bounded as a whole.
	OutputDir string
	Stdin     io.Reader // nil: /dev/null
	Env       []string  // extra KEY=VALUE pairs; the tool's environment is otherwise empty but for PATH, HOME, LC_ALL
	Limits    Limits
}

// Result is what a successful run printed.
type Result struct {
	Stdout   []byte
	Stderr   []byte // at most Limits.Stderr bytes
	Duration time.Duration
	CPU      time.Duration // user + system time of the whole tree
}

// Run runs c in the sandbox and waits for it. On every path out, the whole process tree
// has been killed and reaped: nothing outlives Run.
func (r *Runner) Run(ctx context.Context, c Cmd) (*Result, error) {
	if err := r.Available(c.Tool); err != nil {
		return nil, err
	}
	return r.run(ctx, r.tools[c.Tool].Path, c)
}

func (r *Runner) run(ctx context.Context, bin string, c Cmd) (*Result, error) {
	lim := c.Limits.withDefaults()
	name := path.Base(bin)
	for _, in := range c.Inputs {
		if in.File == nil || !validName(in.Name) {
			return nil, fmt.Errorf("sandbox: input %q: need an open file and a plain base name", in.Name)
		}
	}
	if c.OutputDir != "" && (!filepath.IsAbs(c.OutputDir) || !isDir(c.OutputDir)) {
		return nil, fmt.Errorf("sandbox: output directory %q must be an existing absolute directory", c.OutputDir)
	}

	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	ctx, cancel := context.WithTimeoutCause(ctx, lim.Timeout, ErrTimeout)
	defer cancel()

	stdout := &capBuffer{max: lim.Stdout, over: func() { stop(ErrOutputTooLarge) }}
	stderr := &capBuffer{max: lim.Stderr}
	info, err := newInfoPipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer info.close()
	cmd := exec.CommandContext(ctx, r.prlimit.Path, r.argv(bin, c, lim, 3+len(c.Inputs))...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, stdout, stderr
	for _, in := range c.Inputs {
		cmd.ExtraFiles = append(cmd.ExtraFiles, in.File)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, info.w)
	// Own process group, so that a kill before the sandbox exists reaches prlimit/bwrap.
	// Pdeathsig kills the sandbox if the server dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return info.kill(cmd.Process.Pid) }
	// A grandchild holding a pipe open must not keep Wait from returning.
	cmd.WaitDelay = 2 * time.Second

	// Pdeathsig fires when the OS thread that forked the child exits, not the process:
	// keep this goroutine on its thread until the child is reaped, so that the Go
	// runtime cannot retire that thread under a running tool.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sandbox: starting %s: %w", name, err)
	}
	info.started()
	r.enter()
	err = cmd.Wait()
	r.leave()
	res := &Result{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes(), Duration: time.Since(start)}
	if st := cmd.ProcessState; st != nil {
		res.CPU = st.UserTime() + st.SystemTime()
	}
	if err == nil && ctx.Err() == nil {
		return res, nil
	}
	return res, r.failure(ctx, name, lim, res, cmd.ProcessState, err)
}

// failure names why a run failed: a limit of ours first, then the caller's context, then
// the tool's own status.
func (r *Runner) failure(ctx context.Context, tool string, lim Limits, res *Result, st *os.ProcessState, err error) error {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrOutputTooLarge):
		return fmt.Errorf("sandbox: %s: %w (%d bytes)", tool, ErrOutputTooLarge, lim.Stdout)
	case errors.Is(cause, ErrTimeout):
		return fmt.Errorf("sandbox: %s: %w (%s)", tool, ErrTimeout, lim.Timeout)
	case cause != nil:
		return fmt.Errorf("sandbox: %s: %w", tool, cause)
	}
	code := -1
	if st != nil {
		code = st.ExitCode()
	}
	// bwrap reports a tool killed by signal N as status 128+N. The CPU limit's soft
	// signal is SIGXCPU and its hard one SIGKILL a second later, so the CPU time used is
	// the surer sign.
	switch {
	case code == 128+int(syscall.SIGXCPU) || (code != 0 && res.CPU >= cpuLimit(lim)):
		return fmt.Errorf("sandbox: %s: %w (%s)", tool, ErrCPULimit, cpuLimit(lim))
	case code == 128+int(syscall.SIGXFSZ):
		return fmt.Errorf("sandbox: %s: %w (%d bytes)", tool, ErrFileSizeLimit, lim.FileSize)
	case code > 0:
		return &ExitError{Tool: tool, Code: code, Stderr: string(res.Stderr)}
	}
	return fmt.Errorf("sandbox: %s: %w", tool, err)
}

// cpuLimit is the soft CPU limit as prlimit sets it: whole seconds, at least one.
func cpuLimit(l Limits) time.Duration {
	return time.Duration(cpuSeconds(l)) * time.Second
}

func cpuSeconds(l Limits) int64 {
	return max(1, int64((l.CPU+time.Second-1)/time.Second))
}

// argv builds prlimit's arguments: the limits, then bwrap and its arguments, then the tool.
func (r *Runner) argv(bin string, c Cmd, l Limits, infoFD int) []string {
	cpu := cpuSeconds(l)
	a := []string{
		"--as=" + strconv.FormatInt(l.Memory, 10),
		// Soft then hard: SIGXCPU first, SIGKILL a second later if it is ignored.
		fmt.Sprintf("--cpu=%d:%d", cpu, cpu+1),
		"--fsize=" + strconv.FormatInt(l.FileSize, 10),
		"--nofile=" + strconv.Itoa(l.OpenFiles),
		"--core=0",
		"--", r.bwrap.Path,
		"--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
		"--die-with-parent", "--new-session", "--clearenv", "--info-fd", strconv.Itoa(infoFD),
		"--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--setenv", "LC_ALL", "C.UTF-8",
		// glibc reserves 64 MiB of address space per malloc arena and thread; without a
		// cap a multithreaded decoder hits the address-space limit long before it uses
		// that much memory.
		"--setenv", "MALLOC_ARENA_MAX", "2",
	}
	if r.root {
		// As root bwrap keeps every capability unless told otherwise.
		a = append(a, "--cap-drop", "ALL")
	}
	for _, kv := range c.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			a = append(a, "--setenv", k, v)
		}
	}
	a = append(a, "--ro-bind", "/usr", "/usr")
	// Merged-/usr systems have /bin, /lib… as symlinks into /usr; others have directories.
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"} {
		if t, ok := isSymlink(d); ok {
			a = append(a, "--symlink", t, d)
		} else if isDir(d) {
			a = append(a, "--ro-bind", d, d)
		}
	}
	// The loader's cache and Debian's alternatives (libblas for ffmpeg), and fontconfig's
	// configuration (pdftoppm): nothing of the host's identity or secrets.
	for _, p := range []string{"/etc/ld.so.cache", "/etc/alternatives", "/etc/fonts"} {
		a = append(a, "--ro-bind-try", p, p)
	}
	a = append(a, "--proc", "/proc", "--dev", "/dev",
		"--size", strconv.FormatInt(l.Tmp, 10), "--tmpfs", "/tmp")
	for i, in := range c.Inputs {
		// ExtraFiles[i] is descriptor 3+i in prlimit, then in bwrap, which closes it once bound.
		a = append(a, "--ro-bind-fd", strconv.Itoa(3+i), "/in/"+in.Name)
	}
	if c.OutputDir != "" {
		a = append(a, "--bind", c.OutputDir, "/out")
	}
	// bwrap's root is a tmpfs: read-only, so that the tool cannot fill memory through it
	// (the /tmp, /in and /out mounts below it keep their own modes).
	a = append(a, "--remount-ro", "/", "--chdir", "/tmp", "--", bin)
	return append(a, c.Args...)
}

func validName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\x00") && len(n) <= 200
}

// capBuffer keeps what a stream writes up to max bytes. Past that it calls over (once)
// and fails the write, or, without over, drops the rest quietly.
type capBuffer struct {
	buf  bytes.Buffer
	max  int64
	over func()
	hit  bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	room := b.max - int64(b.buf.Len())
	if int64(len(p)) <= room {
		return b.buf.Write(p)
	}
	b.buf.Write(p[:max(room, 0)])
	if b.over == nil {
		return len(p), nil
	}
	if !b.hit {
		b.hit = true
		b.over()
	}
	return 0, ErrOutputTooLarge
}
