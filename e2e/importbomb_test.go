package e2e

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportZipBombMemory runs the case with the real binary: a zip of about
// 256 KB whose manifest inflates to 256 MiB took refstore import to 1.1-1.4 GiB and
// exited 0. It must fail, naming the manifest, with the process's peak RSS small.
func TestImportZipBombMemory(t *testing.T) {
	var packed bytes.Buffer
	w, _ := flate.NewWriter(&packed, flate.BestCompression)
	h := crc32.NewIEEE()
	out := io.MultiWriter(w, h)
	head := `{"format":"refstore-export","version":1,"exported":"2026-01-01T00:00:00Z","accounts":[`
	io.WriteString(out, head)
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for range 256 {
		out.Write(spaces)
	}
	io.WriteString(out, "]}")
	w.Close()
	bomb := filepath.Join(t.TempDir(), "bomb.zip")
	f, err := os.Create(bomb)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	ew, err := zw.CreateRaw(&zip.FileHeader{Name: "refstore-export.json", Method: zip.Deflate, CRC32: h.Sum32(),
		CompressedSize64: uint64(packed.Len()), UncompressedSize64: uint64(len(head) + 256<<20 + 2)})
	if err != nil {
		t.Fatal(err)
	}
	ew.Write(packed.Bytes())
	zw.Close()
	f.Close()
	info, _ := os.Stat(bomb)

	// The peak RSS comes from GNU time, which forks the import: a process Go starts itself
	// shares the test binary's memory until its exec (clone with CLONE_VM), and Linux
	// carries that memory's high-water mark into the child's rusage, so cmd.ProcessState's
	// Maxrss would report the test binary's size. time's own child starts from a fork of
	// the small time process instead.
	if _, err := os.Stat(gnuTime); err != nil {
		t.Fatalf("GNU time is needed to measure the import's peak memory (Debian: time): %v", err)
	}
	cmd := exec.Command(gnuTime, "-f", "refstore-peak-rss-kib=%M", binPath, "import", "--data", t.TempDir(), "--from", bomb)
	combined, err := cmd.CombinedOutput()
	msg, rss := peakRSSLine(t, combined)
	t.Logf("import of a %d-byte zip: peak RSS %.1f MiB, %v\n%s", info.Size(), float64(rss)/(1<<20), err, msg)
	if err == nil || !strings.Contains(string(msg), "refstore-export.json") || !strings.Contains(string(msg), "zip bomb") {
		t.Fatalf("refstore import accepted the bomb or did not say why: %v\n%s", err, msg)
	}
	if rss > 100<<20 {
		t.Fatalf("refstore import peaked at %.1f MiB of RSS", float64(rss)/(1<<20))
	}
}

const gnuTime = "/usr/bin/time"

// peakRSSLine splits GNU time's last line (refstore-peak-rss-kib=N) from a command's output
// and returns the rest and the peak in bytes.
func peakRSSLine(t *testing.T, out []byte) (string, int64) {
	t.Helper()
	text := strings.TrimRight(string(out), "\n")
	i := strings.LastIndex(text, "refstore-peak-rss-kib=")
	if i < 0 {
		t.Fatalf("no peak RSS from time in:\n%s", out)
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(text[i+len("refstore-peak-rss-kib="):]), 10, 64)
	if err != nil {
		t.Fatalf("peak RSS line: %v\n%s", err, out)
	}
	return text[:i], kib << 10
}
