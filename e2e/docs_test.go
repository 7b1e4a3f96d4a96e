package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The documentation is executed: the README's shell blocks, and the blocks of docs/*.md
// marked <!-- runnable -->, run verbatim, in order, in one bash (set -euo pipefail) per
// file, from the root of a fresh copy of the repository, against a fresh server started
// there with `refstore serve` and no flags — as a person following the README would. The
// server and the shell share a network namespace of their own, so the documented
// 127.0.0.1:8080 is free whatever runs on the machine.

// repoRoot is the repository the tests run in.
const repoRoot = ".."

// block is one fenced shell block of a Markdown file.
type block struct {
	file string
	line int // of the opening fence
	text string
	// mark is the HTML comment on the line before the fence: "runnable", or
	// "not run: why", or "".
	mark string
}

var markRE = regexp.MustCompile(`^<!--\s*(runnable|not run:[^>]*?)\s*-->$`)

// shellBlocks returns the ```sh blocks of a Markdown file.
func shellBlocks(t testing.TB, path string) []block {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out    []block
		cur    *block
		lines  = strings.Split(string(raw), "\n")
		inText bool // inside a fence of another language
	)
	for i, line := range lines {
		switch {
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case inText && strings.HasPrefix(strings.TrimSpace(line), "```"):
			inText = false
		case inText:
		case line == "```sh":
			b := &block{file: path, line: i + 1}
			for j := i - 1; j >= 0; j-- {
				if s := strings.TrimSpace(lines[j]); s != "" {
					if m := markRE.FindStringSubmatch(s); m != nil {
						b.mark = m[1]
					}
					break
				}
			}
			cur = b
		case strings.HasPrefix(strings.TrimSpace(line), "```"):
			inText = true
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: a ```sh block is not closed", path, cur.line)
	}
	return out
}

// TestDocsREADME runs every shell block of README.md but the two commands the test does
// itself (start the server, run the whole suite).
func TestDocsREADME(t *testing.T) {
	var run []block
	for _, b := range shellBlocks(t, filepath.Join(repoRoot, "README.md")) {
		if strings.HasPrefix(b.mark, "not run:") {
			// Only the two commands of the README's head may be left out.
			if cmd := strings.TrimSpace(b.text); cmd != "go run ./cmd/refstore serve" && cmd != "make test" {
				t.Errorf("README.md:%d: only `go run ./cmd/refstore serve` and `make test` may be marked not run, not:\n%s", b.line, b.text)
			}
			continue
		}
		run = append(run, b)
	}
	if len(run) < 4 {
		t.Fatalf("README.md has %d shell blocks to run: the quick start is missing", len(run))
	}
	runDocBlocks(t, run)
}

// TestDocsRunnable runs the blocks of docs/*.md marked <!-- runnable -->, one file at a
// time, each against its own fresh server.
func TestDocsRunnable(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range files {
		var run []block
		for _, b := range shellBlocks(t, f) {
			if b.mark == "runnable" {
				run = append(run, b)
			}
		}
		if len(run) == 0 {
			continue
		}
		found = true
		t.Run(filepath.Base(f), func(t *testing.T) { runDocBlocks(t, run) })
	}
	if !found {
		t.Fatal("no docs/*.md block is marked <!-- runnable -->")
	}
}

// runDocBlocks runs blocks in one shell, from the root of a fresh copy of the repository,
// against a fresh `refstore serve` started there.
func runDocBlocks(t *testing.T, blocks []block) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace in which the documented 127.0.0.1:8080 is free (CI runs as root)")
	}
	work := t.TempDir()
	root := filepath.Join(work, "repo")
	copyRepo(t, root)
	env := docsEnv(t, work)
	ns := newNetNS(t)

	srv := &docsServer{}
	if err := ns.run(func() error { return srv.start(root, env) }); err != nil {
		t.Fatal(err)
	}
	defer srv.stop()

	script, err := writeScript(work, blocks)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var runErr error
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := ns.run(func() error {
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.Dir, cmd.Env = root, env
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		runErr = cmd.Run()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if failed, output, ok := failedBlock(blocks, out.String()); !ok || runErr != nil {
		if ok { // every block ran, yet the shell failed after them
			failed, output = nil, out.String()
		}
		where := "after the last block"
		if failed != nil {
			where = fmt.Sprintf("%s:%d", failed.file, failed.line)
		}
		t.Fatalf("the documented commands failed at %s (%v).\nblock:\n%s\noutput:\n%s\nserver log:\n%s",
			where, runErr, blockText(failed), output, srv.logs())
	}
	t.Logf("%d blocks ran; output:\n%s", len(blocks), out.String())
}

func blockText(b *block) string {
	if b == nil {
		return "(none)"
	}
	return b.text
}

// writeScript puts the blocks in one bash script, each after a marker line, so that the
// output tells which block failed.
func writeScript(dir string, blocks []block) (string, error) {
	var s strings.Builder
	s.WriteString("exec </dev/null\nset -euo pipefail\n")
	for i, b := range blocks {
		fmt.Fprintf(&s, "printf '\\n@@block %d %%s\\n' \"$EPOCHREALTIME\"\n%s\n", i, b.text)
	}
	s.WriteString("printf '\\n@@done\\n'\n")
	p := filepath.Join(dir, "docs.sh")
	return p, os.WriteFile(p, []byte(s.String()), 0o644)
}

// failedBlock finds, from the script's output, the block that was running when it
// stopped and that block's output; ok is true when the script got to its end.
func failedBlock(blocks []block, out string) (failed *block, output string, ok bool) {
	if strings.Contains(out, "\n@@done\n") {
		return nil, "", true
	}
	idx := strings.LastIndex(out, "\n@@block ")
	if idx < 0 {
		return nil, out, false
	}
	rest := out[idx+len("\n@@block "):]
	var n int
	fmt.Sscanf(rest, "%d", &n)
	if n < 0 || n >= len(blocks) {
		return nil, out, false
	}
	_, output, _ = strings.Cut(rest, "\n")
	return &blocks[n], output, false
}

// copyRepo copies the repository's files (tracked, and new ones not ignored) to dst, as a
// fresh clone would hold them plus the work in progress.
func copyRepo(t *testing.T, dst string) {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(repoRoot, name)
		info, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree
		} else if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		target := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// docsEnv is the environment of the documented commands: none of the developer's REFSTORE_*
// settings or curl configuration, a home of its own, refstore (the binary under test) on
// the PATH, and `go install` writing into the work directory while sharing the build and
// module caches.
func docsEnv(t *testing.T, work string) []string {
	t.Helper()
	goenv := map[string]string{}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOENV", "GOFLAGS", "GOTOOLCHAIN", "GOPROXY"} {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		goenv[k] = strings.TrimSpace(string(out))
	}
	home := filepath.Join(work, "home")
	bin := filepath.Join(work, "bin")
	for _, d := range []string{home, bin} {
		os.MkdirAll(d, 0o755)
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "REFSTORE_") || strings.HasPrefix(name, "CURL_") || name == "HOME" ||
			name == "PATH" || name == "GOBIN" || goenv[name] != "" || strings.HasSuffix(name, "_proxy") ||
			strings.HasSuffix(name, "_PROXY") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range goenv {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return append(env, "HOME="+home, "GOBIN="+bin, "CURL_HOME="+home,
		"PATH="+bin+string(os.PathListSeparator)+filepath.Dir(binPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// docsServer is `refstore serve` with no flags, run where the documented commands run.
type docsServer struct{ logProcess }

// start runs the server and waits for its "listening" line on the documented address
// (text logs, the default).
func (s *docsServer) start(dir string, env []string) error {
	cmd := exec.Command(binPath, "serve")
	cmd.Dir, cmd.Env = dir, env
	return s.logProcess.start(cmd, func(line string) bool {
		return strings.Contains(line, "msg=listening addr=127.0.0.1:8080 ")
	})
}

// logProcess is a process whose stderr (and stdout) is kept, started once it has written
// a line that says it is ready.
type logProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  bytes.Buffer
}

func (p *logProcess) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// start starts cmd and waits, at most a minute, for a line of its output that ready
// accepts; with no ready, it does not wait.
func (p *logProcess) start(cmd *exec.Cmd, ready func(line string) bool) error {
	p.cmd = cmd
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan struct{})
	up := make(chan struct{}, 1)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.Write(sc.Bytes())
			p.log.WriteByte('\n')
			p.mu.Unlock()
			if ready != nil && ready(sc.Text()) {
				select {
				case up <- struct{}{}:
				default:
				}
			}
		}
		io.Copy(io.Discard, r)
	}()
	go func() { cmd.Wait(); w.Close(); <-read; close(p.done) }()
	if ready == nil {
		return nil
	}
	select {
	case <-up:
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited before it was ready:\n%s", cmd.Args[0], p.logs())
	case <-time.After(60 * time.Second):
		p.stop()
		return fmt.Errorf("%s was not ready within 60s:\n%s", cmd.Args[0], p.logs())
	}
}

// stop sends SIGTERM and waits, then SIGKILL after 30 s.
func (p *logProcess) stop() {
	if p.cmd == nil || p.done == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// netNS is a network namespace with only a loopback interface, held by one OS thread:
// processes started from that thread (by run) are in it.
type netNS struct {
	do chan func()
}

func newNetNS(t *testing.T) *netNS {
	t.Helper()
	ns := &netNS{do: make(chan func())}
	ready := make(chan error, 1)
	go func() {
		// The thread never unlocks: it leaves with the goroutine, and its namespace with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		if err := loopbackUp(); err != nil {
			ready <- err
			return
		}
		ready <- nil
		for f := range ns.do {
			f()
		}
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(ns.do) })
	return ns
}

// run calls f on the namespace's thread.
func (ns *netNS) run(f func() error) error {
	errc := make(chan error, 1)
	ns.do <- func() { errc <- f() }
	return <-errc
}

// loopbackUp brings up lo in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return nil
}

// TestDocsStandAlone: README.md and docs/ point at nothing outside the repository: no
// SPEC, no shared folder, and every relative link names a file or folder that exists.
func TestDocsStandAlone(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	files = append(files, filepath.Join(repoRoot, "README.md"), filepath.Join(repoRoot, "deploy", "README.md"),
		filepath.Join(repoRoot, "testdata", "samples", "README.md"))
	outside := regexp.MustCompile(`\bSPEC\b|SPEC\.md|/work/|shared project folder|\bresearch/|\.\./\.\./`)
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	root, _ := filepath.Abs(repoRoot)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(raw), "\n") {
			where := fmt.Sprintf("%s:%d", strings.TrimPrefix(f, repoRoot+"/"), i+1)
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s: %q points outside the repository: %s", where, m, line)
			}
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				abs, _ := filepath.Abs(filepath.Join(filepath.Dir(f), target))
				if !strings.HasPrefix(abs, root+string(filepath.Separator)) {
					t.Errorf("%s: link %q leaves the repository", where, target)
				} else if _, err := os.Stat(abs); err != nil {
					t.Errorf("%s: link %q: %v", where, target, err)
				}
			}
		}
	}
	if t.Failed() {
		return
	}
	// The check itself must catch what it is for.
	for _, bad := range []string{"The contract is `SPEC.md`.", "see /work/shared/SPEC.md"} {
		if !outside.MatchString(bad) {
			t.Fatalf("the check misses %q", bad)
		}
	}
}

// TestDocsSamples: the quick start's sample files are small, and what their names say: a
// PNG screenshot, a PDF with a text layer naming the page's buttons, an MP4 video; the
// catalog is one the admin API takes (TestDocsREADME loads it).
func TestDocsSamples(t *testing.T) {
	dir := filepath.Join(repoRoot, "testdata", "samples")
	for name, magic := range map[string]string{
		"screenshot.png": "\x89PNG\r\n\x1a\n",
		"guide.pdf":      "%PDF-",
		"recording.mp4":  "\x00\x00\x00",
		"catalog.json":   "{",
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 100<<10 {
			t.Errorf("%s is %d bytes: keep samples under 100 KB", name, len(b))
		}
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s does not start as its type does", name)
		}
		if name == "recording.mp4" && string(b[4:8]) != "ftyp" {
			t.Errorf("recording.mp4 has no ftyp box")
		}
	}
	out, err := exec.Command("pdftotext", filepath.Join(dir, "guide.pdf"), "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils): %v", err)
	}
	for _, word := range []string{"Account settings", "Save changes", "Cancel"} {
		if !strings.Contains(string(out), word) {
			t.Errorf("guide.pdf's text layer lacks %q:\n%s", word, out)
		}
	}
}
