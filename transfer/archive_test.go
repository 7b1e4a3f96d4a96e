package transfer

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestZipEntryCount: a zip of more entries than an import reads is refused when opened,
// with a message that says what to do instead.
func TestZipEntryCount(t *testing.T) {
	defer func(n int) { maxZipEntries = n }(maxZipEntries)
	maxZipEntries = 100
	name := filepath.Join(t.TempDir(), "many.zip")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for i := range 101 {
		if _, err := zw.Create("f" + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	f.Close()
	_, err = OpenArchive(name)
	if err == nil || !strings.Contains(err.Error(), "101 entries") || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("err = %v, want the count refused", err)
	}
	maxZipEntries = 101
	a, err := OpenArchive(name)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
}
