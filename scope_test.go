package refstore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseScope(t *testing.T) {
	ok := []struct {
		in   string
		want Scope
	}{
		{"pr7214", Scope{ScopeProject, 7214}},
		{"pr1", Scope{ScopeProject, 1}},
		{"jbs9927", Scope{ScopeStandardJob, 9927}},
		{"jbc9927", Scope{ScopeCodytJob, 9927}},
		{"pr9223372036854775807", Scope{ScopeProject, 9223372036854775807}},
	}
	for _, tc := range ok {
		got, err := ParseScope(tc.in)
		if err != nil {
			t.Errorf("ParseScope(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseScope(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
	for _, in := range []string{
		"", "pr", "jbs", "jbc", "pr0", "pr07214", "pr-1", "pr+1", "PR7214", "Pr7214", "pr 7214", " pr7214",
		"pr7214 ", "pr7214x", "pr72.14", "pr9223372036854775808", "pr99999999999999999999", "jb9927",
		"jbx9927", "c9927", "7214", "dc7214", "pr1e3", "pr0x10", "pr٣", "pr\x00",
	} {
		got, err := ParseScope(in)
		if err == nil {
			t.Errorf("ParseScope(%q) = %+v, want an error", in, got)
			continue
		}
		wantInvalid(t, err, "scope")
	}
}

func TestScopeString(t *testing.T) {
	if got := (Scope{ScopeDocument, 19641}).String(); got != "19641" {
		t.Errorf("document scope renders as %q", got)
	}
	for _, s := range []Scope{{ScopeStandardJob, 1}, {ScopeCodytJob, 1}} {
		if !s.IsJob() {
			t.Errorf("%v is not a job", s)
		}
	}
	for _, s := range []Scope{{ScopeProject, 1}, {ScopeDocument, 1}} {
		if s.IsJob() {
			t.Errorf("%v is a job", s)
		}
	}
}

func TestParseFlexDocument(t *testing.T) {
	ok := []struct {
		in   string
		want Scope
	}{
		{"19641", Scope{ScopeDocument, 19641}},
		{"1", Scope{ScopeDocument, 1}},
		{"c9927", Scope{ScopeCodytJob, 9927}},
	}
	for _, tc := range ok {
		got, err := ParseFlexDocument(tc.in)
		if err != nil {
			t.Errorf("ParseFlexDocument(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseFlexDocument(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{"", "c", "0", "c0", "019641", "c09927", "C9927", "-1", "+1", "1 ", "cc1",
		"pr1", "jbc1", "s1", "9223372036854775808", "c9223372036854775808"} {
		got, err := ParseFlexDocument(in)
		if err == nil {
			t.Errorf("ParseFlexDocument(%q) = %+v, want an error", in, got)
			continue
		}
		wantInvalid(t, err, "id")
	}
}

func TestParseID(t *testing.T) {
	ok := map[string]int64{
		"1":                   1,
		"27665601":            27665601,
		"9223372036854775807": 9223372036854775807,
	}
	for in, want := range ok {
		got, err := ParseID("segmentid", in)
		if err != nil || got != want {
			t.Errorf("ParseID(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "00", "01", "-1", "+1", " 1", "1 ", "1\n", "1.0", "1e3", "0x1", "١",
		"9223372036854775808", "18446744073709551616", "99999999999999999999", "abc"} {
		got, err := ParseID("segmentid", in)
		if err == nil {
			t.Errorf("ParseID(%q) = %d, want an error", in, got)
			continue
		}
		wantInvalid(t, err, "segmentid")
	}
}

func TestParseSegmentIDs(t *testing.T) {
	tests := []struct {
		in   []string
		want []int64
	}{
		{[]string{"1"}, []int64{1}},
		{[]string{"1,2,3"}, []int64{1, 2, 3}},
		{[]string{"3,1,2"}, []int64{3, 1, 2}},
		{[]string{"3,1,3,2,1"}, []int64{3, 1, 2}},
		{[]string{"1,2", "3", "2,4"}, []int64{1, 2, 3, 4}},
		{[]string{" 1 , 2 ,3 "}, []int64{1, 2, 3}},
		{[]string{"1,,2,"}, []int64{1, 2}},
		{[]string{",5"}, []int64{5}},
		{[]string{"", "7"}, []int64{7}},
		{[]string{"27665601,27665602"}, []int64{27665601, 27665602}},
		{[]string{"9223372036854775807"}, []int64{9223372036854775807}},
	}
	for _, tc := range tests {
		got, err := ParseSegmentIDs(tc.in)
		if err != nil {
			t.Errorf("ParseSegmentIDs(%q): %v", tc.in, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParseSegmentIDs(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, in := range [][]string{
		nil, {}, {""}, {","}, {" , "}, {"", ""},
		{"0"}, {"1,0"}, {"01"}, {"-1"}, {"+1"}, {"1;2"}, {"1 2"}, {"a"}, {"1,x"},
		{"9223372036854775808"}, {"1,99999999999999999999"},
	} {
		got, err := ParseSegmentIDs(in)
		if err == nil {
			t.Errorf("ParseSegmentIDs(%q) = %v, want an error", in, got)
			continue
		}
		wantInvalid(t, err, "segmentIds")
	}
}

func TestParseSegmentIDsLimit(t *testing.T) {
	ids := func(from, n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = strconv.Itoa(from + i)
		}
		return s
	}
	// Exactly the limit is fine, in one value or spread over several.
	got, err := ParseSegmentIDs([]string{strings.Join(ids(1, MaxListSegments), ",")})
	if err != nil || len(got) != MaxListSegments {
		t.Fatalf("%d distinct ids: %d ids, %v", MaxListSegments, len(got), err)
	}
	if got[0] != 1 || got[MaxListSegments-1] != MaxListSegments {
		t.Errorf("order not kept: first %d, last %d", got[0], got[len(got)-1])
	}
	got, err = ParseSegmentIDs(ids(1, MaxListSegments))
	if err != nil || len(got) != MaxListSegments {
		t.Fatalf("%d distinct ids in separate values: %d ids, %v", MaxListSegments, len(got), err)
	}
	// 1001 values of which one repeats: 1000 distinct, fine.
	withDup := append(ids(1, MaxListSegments), "500")
	if got, err = ParseSegmentIDs([]string{strings.Join(withDup, ",")}); err != nil || len(got) != MaxListSegments {
		t.Errorf("1001 ids with a duplicate: %d ids, %v", len(got), err)
	}
	// Many duplicates do not count.
	many := slices.Repeat([]string{"1,2,3"}, 5000)
	if got, err = ParseSegmentIDs(many); err != nil || !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("15000 ids, 3 distinct: %v, %v", got, err)
	}
	// 1001 distinct ids are refused.
	_, err = ParseSegmentIDs([]string{strings.Join(ids(1, MaxListSegments+1), ",")})
	wantInvalid(t, err, "segmentIds")
	if err != nil && !strings.Contains(err.Error(), fmt.Sprint(MaxListSegments)) {
		t.Errorf("error %q does not state the limit", err)
	}
	_, err = ParseSegmentIDs(append(ids(1, MaxListSegments), "5000"))
	wantInvalid(t, err, "segmentIds")
}

func TestAssetID(t *testing.T) {
	if got := AssetIDString(657739295220518912); got != "re_657739295220518912" {
		t.Errorf("AssetIDString = %q", got)
	}
	for in, want := range map[string]int64{"re_1": 1, "re_657739295220518912": 657739295220518912} {
		if got, ok := ParseAssetID(in); !ok || got != want {
			t.Errorf("ParseAssetID(%q) = %d, %t", in, got, ok)
		}
	}
	for _, in := range []string{"", "re_", "re", "re_0", "re_01", "RE_1", "re-1", "re_-1", "re_1x", "1", "re_ 1",
		"re_9223372036854775808"} {
		if got, ok := ParseAssetID(in); ok {
			t.Errorf("ParseAssetID(%q) = %d, want not ok", in, got)
		}
	}
}
