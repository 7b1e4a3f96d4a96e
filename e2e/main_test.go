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

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "refstore-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "refstore")
	build := exec.Command("go", "build", "-o", binPath, "../cmd/refstore")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building refstore:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopSharedClusters()
	os.RemoveAll(dir)
	os.Exit(code)
}
