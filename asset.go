package refstore

import (
	"strconv"
	"time"
)

// Asset is a file attached to a segment. Its ID survives overwrites; uploading to an
// existing address replaces the bytes, keeps Created and moves Modified.
type Asset struct {
	ID         int64
	Account    string
	ProjectID  int64
	DocumentID int64
	SegmentID  int64
	Address
	Size        int64
	SHA256      string // hex
	ContentType string
	Created     Ticks
	Modified    Ticks
	// BlobKey names the bytes in the blob store.
	BlobKey string
}

// Version is the asset's `v`: the .NET ticks of its modification date.
func (a *Asset) Version() Ticks { return a.Modified }

// AssetIDString renders an asset id the way the API shows it.
func AssetIDString(id int64) string { return "re_" + strconv.FormatInt(id, 10) }

// ParseAssetID parses "re_{digits}".
func ParseAssetID(s string) (int64, bool) {
	if len(s) < 4 || s[:3] != "re_" {
		return 0, false
	}
	return parsePositive(s[3:])
}

// Ticks is a .NET DateTime tick count: 100 ns units since 0001-01-01 UTC. Dates are kept in
// ticks so that the `v` of a download URL and the JSON dates agree to the last digit.
type Ticks int64

// unixEpochTicks is the tick count of 1970-01-01T00:00:00Z.
const unixEpochTicks = 621355968000000000

// TicksOf converts a time to ticks, truncating below 100 ns.
func TicksOf(t time.Time) Ticks { return Ticks(unixEpochTicks + t.UnixNano()/100) }

// Time converts ticks back to a UTC time.
func (t Ticks) Time() time.Time {
	return time.Unix(0, (int64(t)-unixEpochTicks)*100).UTC()
}

// String is the tick count in decimal, as used in `v`.
func (t Ticks) String() string { return strconv.FormatInt(int64(t), 10) }

// FormatDate renders a time as .NET's round-trip format in UTC with exactly seven
// fractional digits, e.g. 2025-07-27T15:58:33.8999983Z.
func FormatDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// Upload is a file received by media upload and named by a file token. It can be attached
// to segments until it expires.
type Upload struct {
	TokenHash   string
	Account     string
	UserID      int64
	Folders     []string // folders given inside the uploaded name
	Name        string
	Size        int64
	SHA256      string
	ContentType string
	Created     time.Time
	Expires     time.Time
	BlobKey     string
}

// DisplayName is the uploaded name with its folders, as the upload response shows it.
func (u *Upload) DisplayName() string {
	return (&Address{Folders: u.Folders, Name: u.Name}).FolderPathName()
}

// FolderPathName joins folders and name with "/".
func (a *Address) FolderPathName() string {
	if len(a.Folders) == 0 {
		return a.Name
	}
	return a.FolderPath() + "/" + a.Name
}

// AttachRequest is what an attach asks for, as the caller gave it: a file token, the
// locale and the folders of the address (the file's name comes from the upload). Its JSON
// shape is wire.AttachRequest.
type AttachRequest struct {
	FileToken    string
	Locale       string
	RelativePath string
}
