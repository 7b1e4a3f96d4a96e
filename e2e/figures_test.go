package e2e

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// figReport logs the figures a test measured and, when REFSTORE_FIGURES names a file,
// appends them to it: `go test ./...` shows no log of a passing test, so `make test` prints
// that file at the end.
func figReport(t testing.TB, title string, lines []string) {
	t.Helper()
	text := "== " + title + " ==\n" + strings.Join(lines, "\n") + "\n"
	t.Log("\n" + text)
	p := os.Getenv("REFSTORE_FIGURES")
	if p == "" {
		return
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("REFSTORE_FIGURES: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s (%s, %s)\n", text, t.Name(), time.Now().UTC().Format(time.RFC3339))
}

// figEnvInt reads a positive integer setting of the long-form tests from the environment.
func figEnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a number >= 0", name, v)
	}
	return n
}

// figEnvDuration reads a duration setting of the long-form tests from the environment.
func figEnvDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 10m", name, v)
	}
	return d
}

// figCounts formats counts by kind in a fixed order, then any other kinds.
func figCounts(m map[string]int, order ...string) string {
	var parts []string
	seen := map[string]bool{}
	for _, k := range order {
		seen[k] = true
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !seen[k] {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}
