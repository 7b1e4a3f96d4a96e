package refstore

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets of the identifiers a request carries: scope, Flex document, segment id
// lists and asset ids. Their seed corpora are in testdata/fuzz/<target>; `make fuzz` runs
// each for FUZZTIME, and every `go test` runs the seeds.

// wantParamError fails unless err is a 400 that names param.
func wantParamError(t *testing.T, err error, param, input string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidParameter || e.Param != param || !strings.Contains(e.Message, "'"+param+"'") {
		t.Fatalf("%q: error %v is not an invalid-parameter error naming %q", input, err, param)
	}
}

// isCanonicalID reports whether s is a positive decimal id written without sign or
// leading zero, as every id parser must require.
func isCanonicalID(s string, id int64) bool {
	return id > 0 && strconv.FormatInt(id, 10) == s
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"pr7214", "jbs9927", "jbc500", "pr0", "pr-1", "pr9223372036854775808", "PR1", "pr٣", "pr1\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			wantParamError(t, err, "scope", s)
			if len(err.Error()) > 200 {
				t.Fatalf("the error echoes too much input: %d bytes", len(err.Error()))
			}
			return
		}
		// Only the canonical form is accepted: it renders back to exactly the input.
		if sc.String() != s {
			t.Fatalf("ParseScope(%q) = %+v, which renders as %q", s, sc, sc.String())
		}
		if sc.ID <= 0 || sc.Kind != ScopeProject && !sc.IsJob() {
			t.Fatalf("ParseScope(%q) = %+v", s, sc)
		}
		again, err := ParseScope(sc.String())
		if err != nil || again != sc {
			t.Fatalf("re-parsing %q: %+v, %v", sc.String(), again, err)
		}
	})
}

func FuzzParseAssetID(f *testing.F) {
	for _, s := range []string{"re_657739295220518912", "re_0", "re_", "re_-1", "RE_1", "re_1 ", "re_99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := ParseAssetID(s)
		if !ok {
			return
		}
		if id <= 0 || AssetIDString(id) != s {
			t.Fatalf("ParseAssetID(%q) = %d, which renders as %q", s, id, AssetIDString(id))
		}
	})
}
