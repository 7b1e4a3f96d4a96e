package wire

import (
	"encoding/json"
	"slices"
	"testing"
)

func keys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The member names are Wordbee's (SPEC §6): a renamed field would break every client.
func TestMemberNames(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want []string
	}{
		{Asset{}, []string{"contentType", "createdDate", "documentId", "downloadUrl", "id", "locale", "modifiedDate",
			"name", "projectId", "relativePath", "segmentId", "size"}},
		{FlexAsset{}, []string{"contentType", "createdDate", "documentId", "downloadUrl", "fileName", "fileSizeInBytes",
			"id", "locale", "modifiedDate", "projectId", "relativePath", "segmentId"}},
		{Error{}, []string{"code", "error", "reason"}},
		{ErrorDetail{}, []string{"date", "details", "errorurl", "messages", "operation", "title"}},
		{ThrottlingError{}, []string{"code", "error", "reason"}},
		{AssetIDError{}, []string{"code", "data", "failed", "msg", "success"}},
		{LoginRequest{}, []string{"accountid", "key"}},
		{AttachRequest{}, []string{"filetoken", "locale", "relativePath"}},
		{UploadResponse{}, []string{"result"}},
	} {
		if got := keys(t, tc.v); !slices.Equal(got, tc.want) {
			t.Errorf("%T has members %v, want %v", tc.v, got, tc.want)
		}
	}
}
