package refstore

import "testing"

func TestHexID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewHexID()
		if !ValidHexID(id) || seen[id] {
			t.Fatalf("NewHexID() = %q (valid %t, seen %t)", id, ValidHexID(id), seen[id])
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "0123456789abcdef0123456789abcde", "0123456789ABCDEF0123456789abcdef",
		"0123456789abcdef0123456789abcdeg", "../../../etc/passwd/0123456789abc", "0123456789abcdef0123456789abcdef0"} {
		if ValidHexID(bad) {
			t.Errorf("ValidHexID(%q) = true", bad)
		}
	}
}
