package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a server process the benchmark started (or, with pid set, one it watches).
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	pid  func() int
}

func start(name string, cmd *exec.Cmd) (*proc, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) stop() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// pids returns the process and its children (nginx's workers).
func (p *proc) pids() []int {
	pid := 0
	if p.pid != nil {
		pid = p.pid()
	} else {
		pid = p.cmd.Process.Pid
	}
	pids := []int{pid}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err == nil {
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

// freePort returns a loopback address nothing listens on.
func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP waits until url answers at all.
func waitHTTP(url string, p *proc) error {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited at start", p.name)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer on %s", p.name, url)
}

// startNginx serves www statically (sendfile, open_file_cache, no access log, the
// baseline's configuration) and takes WebDAV PUTs into up/.
func startNginx(work, www string) (*proc, string, error) {
	addr := freePort()
	dir := filepath.Join(work, "nginx")
	up := filepath.Join(work, "nginx-up")
	for _, d := range []string{dir, up, filepath.Join(dir, "body")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", err
		}
	}
	// nginx's workers run as an unprivileged user: they must be able to store uploads.
	for _, d := range []string{up, filepath.Join(dir, "body")} {
		os.Chmod(d, 0o777)
	}
	conf := fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 1000000; keepalive_timeout 120s;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path %[1]s/body;
  client_max_body_size 0;
  default_type application/octet-stream;
  server {
    listen %[2]s;
    location /up/ { alias %[4]s/; dav_methods PUT; create_full_put_path on; }
    location / { root %[3]s; }
  }
}
`, dir, addr, www, up)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	p, err := start("nginx", exec.Command("nginx", "-c", confPath, "-e", filepath.Join(dir, "error.log")))
	if err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	return p, base, waitHTTP(base+"/", p)
}

// startGoref runs the bare Go reference server over www.
func startGoref(bin, www string) (*proc, string, error) {
	cmd := exec.Command(bin, "-dir", www, "-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	p, err := start("goref", cmd)
	if err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, "", fmt.Errorf("goref: %w", err)
	}
	go io.Copy(io.Discard, out)
	return p, "http://" + strings.TrimSpace(line), nil
}

// startRefstore runs refstore serve with the given flags and environment.
func startRefstore(name, bin, data string, args, env []string) (*proc, string, error) {
	// One API key drives 16 parallel uploads in the memory workload: no per-key cap.
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-format", "json",
		"--max-uploads-per-key", "0"}, args...)...)
	cmd.Env = append(append(os.Environ(), "REFSTORE_ADMIN_TOKEN="+adminToken), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	p, err := start(name, cmd)
	if err != nil {
		return nil, "", err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		listening := false
		for sc.Scan() {
			line := sc.Bytes()
			if bytes.Contains(line, []byte(`"level":"ERROR"`)) {
				fmt.Fprintf(os.Stderr, "%s: %s\n", name, line)
			}
			var rec struct{ Msg, Addr string }
			if !listening && json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				listening = true
				addr <- rec.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		return p, "http://" + a, nil
	case <-p.done:
		return nil, "", fmt.Errorf("%s exited at start", name)
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, "", fmt.Errorf("%s did not listen", name)
	}
}

// startMinio runs a MinIO server over dir, when a minio binary is available.
func startMinio(bin, dir string) (*proc, string, error) {
	addr, console := freePort(), freePort()
	cmd := exec.Command(bin, "server", dir, "--address", addr, "--console-address", console, "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_BROWSER=off", "MINIO_ROOT_USER=benchminio", "MINIO_ROOT_PASSWORD=benchminiosecret")
	p, err := start("minio", cmd)
	if err != nil {
		return nil, "", err
	}
	base := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(base + "/minio/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, base, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop()
	return nil, "", fmt.Errorf("minio did not become ready")
}
