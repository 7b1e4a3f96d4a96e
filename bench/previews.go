package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func init() {
	workloads = append(workloads, workload{name: "previews", quick: true, run: previews})
}

// previews runs the preview generator's benchmark (bench/preview) in a process of its
// own, so that its RSS figures are the generator's alone, and records what it prints.
func previews(e *env) error {
	bin := filepath.Join(e.cfg.work, "bin", "preview-bench")
	build := exec.Command("go", "build", "-o", bin, "./bench/preview")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building bench/preview: %w", err)
	}
	args := []string{"-jsonl", "-work", filepath.Join(e.cfg.work, "preview")}
	if e.cfg.quick {
		args = append(args, "-quick")
	}
	for rep := 1; rep <= e.cfg.repeats; rep++ {
		cmd := exec.Command(bin, args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("bench/preview: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			var m struct {
				Workload, Case, Unit string
				Value                float64
			}
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return fmt.Errorf("bench/preview printed %q: %w", sc.Text(), err)
			}
			e.record(cell{Workload: m.Workload, Case: m.Case, Server: "refstore", Repeat: rep, Value: m.Value, Unit: m.Unit})
		}
	}
	return nil
}
