package wire

import (
	"slices"
	"testing"
)

// The members connectors read (docs/api.md, "Connection checks"): a renamed one breaks the
// C# connector's connection check or the Unreal plugin's document link.
func TestConnectorMemberNames(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want []string
	}{
		{PersonList{}, []string{"count", "rows", "total"}},
		{Person{}, []string{"email", "firstname", "lastname", "personid"}},
		{FlexDocumentList{}, []string{"count", "rows", "total"}},
		{FlexDocumentRow{}, []string{"connector", "did", "dtchange", "filterName", "id", "jid", "name", "paragraphs",
			"pid", "preference", "pstatus", "pstatust", "segments", "src", "srct"}},
		{FlexDocument{}, []string{"dsid", "dtchange", "files", "filterName", "id", "name", "pid", "src", "trgs"}},
		{Language{}, []string{"t", "v"}},
		{FlexFile{}, []string{"date", "name", "size"}},
	} {
		if got := keys(t, tc.v); !slices.Equal(got, tc.want) {
			t.Errorf("%T has members %v, want %v", tc.v, got, tc.want)
		}
	}
}
