package refstore

import (
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
