package testenv

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PGServer is a private PostgreSQL server of one test, in a temporary directory, that the
// test may stop and start at will (the shared server at 127.0.0.1:5432 must never be
// restarted: other test packages use it at the same time).
type PGServer struct {
	// URL is the connection URL of the server's refstore database.
	URL  string
	bin  string
	dir  string // owns data/ and the unix socket
	port int
	cred *syscall.Credential // the postgres OS user when running as root

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// pgBinDir finds the directory of initdb and postgres: REFSTORE_TEST_PGBIN, Debian's
// /usr/lib/postgresql/*/bin (the newest), or the PATH.
func pgBinDir() (string, error) {
	if d := os.Getenv("REFSTORE_TEST_PGBIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("the PostgreSQL server binaries (initdb, postgres) are not installed: install Debian's postgresql " +
		"package (.ci/run does), or set REFSTORE_TEST_PGBIN to the directory that holds them")
}

// StartPostgres initialises a private PostgreSQL server (initdb, trust authentication,
// listening on 127.0.0.1 on a free port, its unix socket in its own directory) and starts
// it. initdb refuses to run as root: then the server runs as the postgres OS user. The
// server is stopped and its directory removed when the test ends.
func StartPostgres(tb testing.TB) *PGServer {
	tb.Helper()
	bin, err := pgBinDir()
	if err != nil {
		tb.Fatal(err)
	}
	s := &PGServer{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root, a private PostgreSQL server needs the postgres OS user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not tb.TempDir: its parents are private to root, and the server may run as postgres.
	if s.dir, err = os.MkdirTemp("", "refstore-pg-"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(s.dir) })
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			tb.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	initdb := s.command("initdb", "-D", filepath.Join(s.dir, "data"), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	var out bytes.Buffer
	initdb.Stdout, initdb.Stderr = &out, &out
	if err := initdb.Run(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out.Bytes())
	}
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)

	db, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE refstore"); err != nil {
		tb.Fatalf("creating the database of the private PostgreSQL server: %v", err)
	}
	s.URL = s.url("refstore")
	return s
}

// Database creates a new, empty database on the server and returns its URL. It is dropped
// when the test ends (tb may be a long-lived testing.TB whose cleanups run later).
func (s *PGServer) Database(tb testing.TB) string {
	tb.Helper()
	db, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	name := randomName("refstore_test_")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("creating a database on the private PostgreSQL server: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", s.url("postgres"))
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	return s.url(name)
}

func (s *PGServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

func (s *PGServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	return cmd
}

// Start (re)starts the server on its port and data, and waits until it accepts queries.
func (s *PGServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("the private PostgreSQL server is already running")
	}
	logPath := filepath.Join(s.dir, "server.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := s.command("postgres", "-D", filepath.Join(s.dir, "data"), "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done, s.log = cmd, done, log

	db, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			b, _ := os.ReadFile(logPath)
			s.stopLocked()
			return fmt.Errorf("postgres exited at start:\n%s", b)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
	}
	s.stopLocked()
	return fmt.Errorf("postgres did not accept connections on port %d within 30s", s.port)
}

// Stop shuts the server down as a restart does (fast shutdown: sessions are terminated),
// and waits until it is gone. Start brings it back with its data.
func (s *PGServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *PGServer) stopLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	// Backends are children of the postmaster: none may outlive it.
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.log.Close()
	s.cmd = nil
}
