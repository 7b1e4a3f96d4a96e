package http

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/refstore/refstore"
)

// wantInvalid fails unless err is a 400 naming param.
func wantInvalid(t *testing.T, err error, param string) {
	t.Helper()
	var e *refstore.Error
	if !errors.As(err, &e) || e.Code != refstore.CodeInvalidParameter || e.Param != param {
		t.Fatalf("error %v is not an invalid-parameter error naming %q", err, param)
	}
}

func TestParseFlexDocument(t *testing.T) {
	ok := []struct {
		in   string
		want refstore.Scope
	}{
		{"19641", refstore.Scope{Kind: refstore.ScopeDocument, ID: 19641}},
		{"1", refstore.Scope{Kind: refstore.ScopeDocument, ID: 1}},
		{"c9927", refstore.Scope{Kind: refstore.ScopeCodytJob, ID: 9927}},
	}
	for _, tc := range ok {
		got, err := parseFlexDocument(tc.in)
		if err != nil {
			t.Errorf("parseFlexDocument(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseFlexDocument(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{"", "c", "0", "c0", "019641", "c09927", "C9927", "-1", "+1", "1 ", "cc1",
		"pr1", "jbc1", "s1", "9223372036854775808", "c9223372036854775808"} {
		got, err := parseFlexDocument(in)
		if err == nil {
			t.Errorf("parseFlexDocument(%q) = %+v, want an error", in, got)
			continue
		}
		wantInvalid(t, err, "id")
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
		got, err := parseSegmentIDs(tc.in)
		if err != nil {
			t.Errorf("parseSegmentIDs(%q): %v", tc.in, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseSegmentIDs(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, in := range [][]string{
		nil, {}, {""}, {","}, {" , "}, {"", ""},
		{"0"}, {"1,0"}, {"01"}, {"-1"}, {"+1"}, {"1;2"}, {"1 2"}, {"a"}, {"1,x"},
		{"9223372036854775808"}, {"1,99999999999999999999"},
	} {
		got, err := parseSegmentIDs(in)
		if err == nil {
			t.Errorf("parseSegmentIDs(%q) = %v, want an error", in, got)
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
	got, err := parseSegmentIDs([]string{strings.Join(ids(1, maxListSegments), ",")})
	if err != nil || len(got) != maxListSegments {
		t.Fatalf("%d distinct ids: %d ids, %v", maxListSegments, len(got), err)
	}
	if got[0] != 1 || got[maxListSegments-1] != maxListSegments {
		t.Errorf("order not kept: first %d, last %d", got[0], got[len(got)-1])
	}
	got, err = parseSegmentIDs(ids(1, maxListSegments))
	if err != nil || len(got) != maxListSegments {
		t.Fatalf("%d distinct ids in separate values: %d ids, %v", maxListSegments, len(got), err)
	}
	// 1001 values of which one repeats: 1000 distinct, fine.
	withDup := append(ids(1, maxListSegments), "500")
	if got, err = parseSegmentIDs([]string{strings.Join(withDup, ",")}); err != nil || len(got) != maxListSegments {
		t.Errorf("1001 ids with a duplicate: %d ids, %v", len(got), err)
	}
	// Many duplicates do not count.
	many := slices.Repeat([]string{"1,2,3"}, 5000)
	if got, err = parseSegmentIDs(many); err != nil || !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("15000 ids, 3 distinct: %v, %v", got, err)
	}
	// 1001 distinct ids are refused.
	_, err = parseSegmentIDs([]string{strings.Join(ids(1, maxListSegments+1), ",")})
	wantInvalid(t, err, "segmentIds")
	if err != nil && !strings.Contains(err.Error(), fmt.Sprint(maxListSegments)) {
		t.Errorf("error %q does not state the limit", err)
	}
	_, err = parseSegmentIDs(append(ids(1, maxListSegments), "5000"))
	wantInvalid(t, err, "segmentIds")
}
