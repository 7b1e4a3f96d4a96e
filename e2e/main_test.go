package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binPath is the refstore binary built for this test run.
var binPath string

// raceBuild says the binary is built with the race detector (REFSTORE_E2E_RACE=1, which
// make test sets for the functional tests): every server the tests start then reports
// the data races it meets, and the run fails on any (see checkRaces).
var raceBuild = os.Getenv("REFSTORE_E2E_RACE") != ""

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "refstore-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "refstore")
	args := []string{"build", "-o", binPath}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/refstore")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building refstore:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopSharedClusters()
	if checkRaces() && code == 0 {
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}
