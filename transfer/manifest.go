// Package transfer exports a refstore's reference material, whatever its backends, as
// the SPEC's on-disk layout (a directory or a zip), and imports such an export into any
// backends: the way to move between the embedded default and a cluster, and back.
//
// An export mirrors the data directory's tree of reference material:
//
//	refstore-export.json                      the manifest (see Manifest)
//	accounts/{account}/projects/{projectId}/assets/{documentId}/{segmentId % 1000}/{segmentId}/
//	                  [{locale}/][{relativePath}/]{name}
//
// one file per asset, holding its bytes. The manifest carries what the tree cannot: the
// catalog, the API keys (as hashes), and each asset's id, content type and dates, and which
// folder of its path is a locale and which a relativePath.
package transfer

import (
	"encoding/hex"
	"fmt"
	"mime"
	"path"
	"strconv"
	"time"

	"github.com/refstore/refstore"
)

// ManifestName is the manifest's file name at the root of an export.
const ManifestName = "refstore-export.json"

// The manifest's format name and the version this package writes and reads.
const (
	Format  = "refstore-export"
	Version = 1
)

// Manifest describes an export.
type Manifest struct {
	Format   string    `json:"format"`  // always "refstore-export"
	Version  int       `json:"version"` // 1
	Exported time.Time `json:"exported"`
	// Account and Project record what the export was limited to (empty, 0: everything).
	Account  string    `json:"account,omitempty"`
	Project  int64     `json:"project,omitempty"`
	Accounts []Account `json:"accounts"`
}

// Account is one account of an export.
type Account struct {
	// Catalog is the account's catalog as the admin API returns it (users without keys).
	// An export of one project holds that project, its jobs, the grants on them and the
	// users those grants name.
	Catalog refstore.CatalogAccount `json:"catalog"`
	// Keys are the users' API keys as stored: hashes, never secrets.
	Keys   []Key   `json:"keys"`
	Assets []Asset `json:"assets"`
}

// Key is a user's API key, kept as its hash: restoring it keeps the key working.
type Key struct {
	ID      string    `json:"id"`
	UserID  int64     `json:"userId"`
	Hash    string    `json:"hash"` // hex SHA-256 of the secret
	Created time.Time `json:"created"`
}

// Asset is one asset of an export and the file that holds its bytes.
type Asset struct {
	ID         string  `json:"id"` // re_{digits}
	ProjectID  int64   `json:"projectId"`
	DocumentID int64   `json:"documentId"`
	SegmentID  int64   `json:"segmentId"`
	Locale     *string `json:"locale"` // null when language-neutral
	// RelativePath is the folders below the segment (or its locale), joined with a
	// backslash as the API shows them; "" at the root.
	RelativePath string `json:"relativePath"`
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"` // hex
	ContentType  string `json:"contentType"`
	// Created and Modified are .NET ticks (100 ns since 0001-01-01 UTC); Modified is the
	// asset's version `v`.
	Created  refstore.Ticks `json:"created"`
	Modified refstore.Ticks `json:"modified"`
	// File is the path of the asset's file in the export, "/"-separated: always
	// FilePath of the asset.
	File string `json:"file"`
}

// FilePath is where an asset's file lies in an export, the same path as in the data
// directory of the filesystem backend.
func FilePath(a *refstore.Asset) string {
	el := []string{"accounts", a.Account, "projects", strconv.FormatInt(a.ProjectID, 10), "assets",
		strconv.FormatInt(a.DocumentID, 10), strconv.FormatInt(a.SegmentID%1000, 10), strconv.FormatInt(a.SegmentID, 10)}
	return path.Join(append(el, a.Elements()...)...)
}

func manifestAsset(a *refstore.Asset) Asset {
	m := Asset{ID: refstore.AssetIDString(a.ID), ProjectID: a.ProjectID, DocumentID: a.DocumentID, SegmentID: a.SegmentID,
		RelativePath: a.RelativePath(), Name: a.Name, Size: a.Size, SHA256: a.SHA256, ContentType: a.ContentType,
		Created: a.Created, Modified: a.Modified, File: FilePath(a)}
	if a.Locale != "" {
		loc := a.Locale
		m.Locale = &loc
	}
	return m
}

// asset checks one asset of the manifest with the rules the API applies to its
// parameters, and returns it as the domain's asset. Its file must be exactly where
// FilePath puts it: nothing in a manifest can name a file elsewhere.
func (m *Asset) asset(account string) (refstore.Asset, error) {
	a := refstore.Asset{Account: account, ProjectID: m.ProjectID, DocumentID: m.DocumentID, SegmentID: m.SegmentID,
		Size: m.Size, SHA256: m.SHA256, ContentType: m.ContentType, Created: m.Created, Modified: m.Modified}
	var ok bool
	if a.ID, ok = refstore.ParseAssetID(m.ID); !ok {
		return a, fmt.Errorf("id %q is not re_ followed by digits", m.ID)
	}
	if a.ProjectID <= 0 || a.DocumentID <= 0 || a.SegmentID <= 0 {
		return a, fmt.Errorf("projectId, documentId and segmentId must be positive")
	}
	var err error
	if m.Locale != nil {
		if a.Locale, err = refstore.ParseLocale(*m.Locale); err != nil {
			return a, err
		}
	}
	if m.RelativePath != "" {
		if a.Folders, err = refstore.SplitFolders("relativePath", m.RelativePath); err != nil {
			return a, err
		}
		if len(a.Folders) == 0 {
			a.Folders = nil
		}
	}
	folders, name, err := refstore.SplitName("name", m.Name)
	if err != nil {
		return a, err
	}
	if len(folders) > 0 || name != m.Name {
		return a, fmt.Errorf("name %q holds folders: they belong in relativePath", m.Name)
	}
	a.Name = name
	switch {
	case a.Size < 0:
		return a, fmt.Errorf("size %d is negative", a.Size)
	case !validSHA256(a.SHA256):
		return a, fmt.Errorf("sha256 %q is not 64 lower-case hex digits", a.SHA256)
	case a.Created <= 0 || a.Modified <= 0:
		return a, fmt.Errorf("created and modified must be positive tick counts")
	}
	if _, _, err := mime.ParseMediaType(a.ContentType); err != nil {
		return a, fmt.Errorf("contentType %q: %v", a.ContentType, err)
	}
	if want := FilePath(&a); m.File != want {
		return a, fmt.Errorf("file %q is not where the asset belongs (%s)", m.File, want)
	}
	return a, nil
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	for _, c := range s {
		if c >= 'A' && c <= 'F' {
			return false
		}
	}
	return err == nil
}
