package sqlstore

import (
	"strings"
	"testing"
)

// Store URLs are logged at start and named in errors: their passwords never are.
func TestRedactURL(t *testing.T) {
	for _, raw := range []string{
		"postgres://refstore:pw-one@db:5432/refstore?sslmode=disable",
		"postgres://refstore@db/refstore?password=pw-two&sslmode=disable",
		"postgresql://u:pw-three@db/x?password=pw-four",
		"postgres://u:pw-five@db:bad-port/x",
		"postgres://db/x?sslmode=disable&PassWord=pw-six%zz",
	} {
		got := RedactURL(raw)
		if strings.Contains(got, "pw-") {
			t.Errorf("RedactURL(%q) = %q: the password shows", raw, got)
		}
	}
	for _, raw := range []string{"sqlite:/var/lib/refstore/meta.db", "postgres://db/refstore?sslmode=disable"} {
		if got := RedactURL(raw); got != raw {
			t.Errorf("RedactURL(%q) = %q: nothing to hide, want it unchanged", raw, got)
		}
	}
}
