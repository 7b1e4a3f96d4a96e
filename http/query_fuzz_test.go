package http

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/refstore/refstore"
)

// The fuzz targets of the identifiers the HTTP routes parse themselves: the {id} of a Flex
// route and the segmentIds of a list-many call. Their seed corpora are in
// testdata/fuzz/<target>; `make fuzz` runs each for FUZZTIME, and every `go test` runs
// the seeds.

// wantParamError fails unless err is a 400 that names param.
func wantParamError(t *testing.T, err error, param, input string) {
	t.Helper()
	var e *refstore.Error
	if !errors.As(err, &e) || e.Code != refstore.CodeInvalidParameter || e.Param != param || !strings.Contains(e.Message, "'"+param+"'") {
		t.Fatalf("%q: error %v is not an invalid-parameter error naming %q", input, err, param)
	}
}

// isCanonicalID reports whether s is a positive decimal id written without sign or
// leading zero, as every id parser must require.
func isCanonicalID(s string, id int64) bool {
	return id > 0 && strconv.FormatInt(id, 10) == s
}

func FuzzParseFlexDocument(f *testing.F) {
	for _, s := range []string{"19641", "c500", "c", "c0", "0", "-1", "C500", "cc1", "19641/", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := parseFlexDocument(s)
		if err != nil {
			wantParamError(t, err, "id", s)
			return
		}
		var rendered string
		switch sc.Kind {
		case refstore.ScopeDocument:
			rendered = sc.String()
		case refstore.ScopeCodytJob:
			rendered = "c" + strconv.FormatInt(sc.ID, 10)
		default:
			t.Fatalf("parseFlexDocument(%q) = %+v: neither a document nor a Codyt job", s, sc)
		}
		if rendered != s || sc.ID <= 0 {
			t.Fatalf("parseFlexDocument(%q) = %+v, which renders as %q", s, sc, rendered)
		}
	})
}

func FuzzParseSegmentIDs(f *testing.F) {
	f.Add("27665601,27665602", "")
	f.Add("1,1,1", "2")
	f.Add(" 3 , ,4,", "3")
	f.Add("0", "")
	f.Add("-5", "")
	f.Add("9223372036854775808", "")
	f.Add(",,,", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		values := []string{a, b}
		ids, err := parseSegmentIDs(values)
		if err != nil {
			wantParamError(t, err, "segmentIds", a+"&"+b)
			return
		}
		if len(ids) == 0 || len(ids) > maxListSegments {
			t.Fatalf("%q: %d ids", values, len(ids))
		}
		// Every id is positive, distinct, and written in the input in canonical form, in
		// the order of first appearance.
		var want []int64
		for _, v := range values {
			for part := range strings.SplitSeq(v, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				id, err := strconv.ParseInt(part, 10, 64)
				if err != nil || !isCanonicalID(part, id) {
					t.Fatalf("%q was accepted although %q is no canonical id", values, part)
				}
				if !slices.Contains(want, id) {
					want = append(want, id)
				}
			}
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("parseSegmentIDs(%q) = %v, want %v", values, ids, want)
		}
		// Round trip: the ids joined again parse to themselves.
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = strconv.FormatInt(id, 10)
		}
		again, err := parseSegmentIDs([]string{strings.Join(parts, ",")})
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("re-parsing %v: %v, %v", ids, again, err)
		}
	})
}
