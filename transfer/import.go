package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/service"
)

// Target is where an import goes: the service over the destination's stores writes (in
// the crash-safe order of writes, with dedup and the reference-material tree), the
// metadata store is read to check the export against what is already there.
type Target struct {
	Service *service.Service
	Meta    refstore.MetaStore
}

// ImportOptions select what an import loads.
type ImportOptions struct {
	Account string // "" imports every account of the export
	// MaxManifestBytes bounds the manifest's size; 0 means DefaultMaxManifestBytes.
	MaxManifestBytes int64
	// Log receives progress; nil for none.
	Log *slog.Logger
}

// ImportStats count what an import did.
type ImportStats struct {
	Accounts  int
	Assets    int
	Stored    int   // assets whose bytes were written to the blob store
	Bytes     int64 // bytes written to the blob store
	Replaced  int   // assets that replaced a different asset, or version, at their address
	Unchanged int   // assets the target already held exactly so
}

// importAccount is one account of the manifest, checked.
type importAccount struct {
	catalog refstore.CatalogAccount
	keys    []refstore.APIKey
	assets  []refstore.Asset
	files   []string
}

// Import loads an export into the target. Everything that can be checked without reading
// the files' bytes is checked before anything is written: the manifest (format, catalog,
// keys, and every asset's id, address, size, SHA-256, dates and file path, which must be
// the asset's place in the tree), that every file is there with its size, and that the
// assets fit the layout of the segments the target already holds. Then the catalogs and
// keys are stored in one transaction, and the assets one by one, each verified while it
// streams: an asset is imported whole (bytes, blob, row, link) or not at all. A file
// whose bytes differ from the manifest stops the import at that asset, naming it; the
// assets before it stay imported, and running the import again (it is idempotent)
// finishes the job once the export is repaired.
func Import(ctx context.Context, t Target, ar *Archive, opts ImportOptions) (ImportStats, error) {
	var stats ImportStats
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := readManifest(ar, opts.MaxManifestBytes)
	if err != nil {
		return stats, err
	}
	accounts, err := checkManifest(m, opts.Account)
	if err != nil {
		return stats, err
	}
	for _, a := range accounts {
		for i, name := range a.files {
			size, err := ar.stat(name)
			if errors.Is(err, fs.ErrNotExist) {
				return stats, fmt.Errorf("asset %s: its file %s is missing from the export", refstore.AssetIDString(a.assets[i].ID), name)
			} else if err != nil {
				return stats, fmt.Errorf("asset %s: %w", refstore.AssetIDString(a.assets[i].ID), err)
			}
			if size != a.assets[i].Size {
				return stats, fmt.Errorf("asset %s: its file %s holds %d bytes, the manifest says %d",
					refstore.AssetIDString(a.assets[i].ID), name, size, a.assets[i].Size)
			}
		}
		if err := checkTarget(ctx, t.Meta, a); err != nil {
			return stats, err
		}
	}
	c := &refstore.Catalog{}
	var keys []refstore.APIKey
	total, bytes := 0, int64(0)
	for _, a := range accounts {
		c.Accounts = append(c.Accounts, a.catalog)
		keys = append(keys, a.keys...)
		total += len(a.assets)
		for _, asset := range a.assets {
			bytes += asset.Size
		}
	}
	// The sizes are the manifest's, which every file matches (checked above) and no read
	// exceeds: what the import may write, said before it writes.
	log.Info("the export checks out; importing", "accounts", len(accounts), "assets", total, "bytes", bytes)
	if err := t.Service.ImportCatalog(ctx, c, keys); err != nil {
		return stats, fmt.Errorf("storing the catalog and API keys: %w", err)
	}
	stats.Accounts = len(accounts)
	last := time.Now()
	for _, a := range accounts {
		for i := range a.assets {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			asset, name := a.assets[i], a.files[i]
			open := func() (io.ReadCloser, error) {
				r, err := ar.open(name)
				if err != nil {
					return nil, err
				}
				// Never more than the manifest's size, whatever the file became since it
				// was looked at, or the zip entry inflates to.
				bounded := &countingReader{r: r, max: asset.Size, fail: func() error {
					return fmt.Errorf("%s does not hold exactly the %d bytes the manifest says", name, asset.Size)
				}}
				return ctxReadCloser{ctxReader{ctx, bounded}, r}, nil
			}
			res, err := t.Service.ImportAsset(ctx, asset, open)
			if errors.Is(err, service.ErrContentMismatch) {
				return stats, fmt.Errorf("asset %s: its file %s does not hold the bytes the manifest describes (%w): "+
					"that asset was not imported, the %d before it were; repair the export and run the import again",
					refstore.AssetIDString(asset.ID), name, err, stats.Assets)
			} else if err != nil {
				return stats, fmt.Errorf("asset %s (%s): %w", refstore.AssetIDString(asset.ID), name, err)
			}
			stats.Assets++
			if res.Stored {
				stats.Stored++
				stats.Bytes += asset.Size
			}
			switch p := res.Replaced; {
			case p == nil:
			case p.ID == asset.ID && p.SHA256 == asset.SHA256 && p.ContentType == asset.ContentType &&
				p.Created == asset.Created && p.Modified == asset.Modified:
				stats.Unchanged++
			default:
				stats.Replaced++
			}
			if time.Since(last) > 10*time.Second {
				last = time.Now()
				log.Info("importing", "account", asset.Account, "assets", stats.Assets, "bytes_stored", stats.Bytes)
			}
		}
	}
	return stats, nil
}

func readManifest(ar *Archive, limit int64) (*Manifest, error) {
	if limit <= 0 {
		limit = DefaultMaxManifestBytes
	}
	r, err := ar.openManifest(limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s holds no %s: it is not a refstore export, or its export did not finish", ar.name, ManifestName)
	} else if err != nil {
		return nil, err
	}
	defer r.Close()
	return decodeManifest(r, ar.fileEntries())
}

// checkManifest checks the accounts of a manifest (only account when it is set) and
// returns them as the domain's values.
func checkManifest(m *Manifest, account string) ([]importAccount, error) {
	var out []importAccount
	seen := map[string]bool{}
	for i := range m.Accounts {
		ma := &m.Accounts[i]
		id := ma.Catalog.ID
		if seen[id] {
			return nil, fmt.Errorf("the manifest holds account %q twice", id)
		}
		seen[id] = true
		if account != "" && id != account {
			continue
		}
		a, err := checkAccount(ma)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", id, err)
		}
		out = append(out, a)
	}
	if account != "" && len(out) == 0 {
		return nil, fmt.Errorf("the export holds no account %q", account)
	}
	return out, nil
}

func checkAccount(ma *Account) (importAccount, error) {
	a := importAccount{catalog: ma.Catalog}
	if err := (&refstore.Catalog{Accounts: []refstore.CatalogAccount{ma.Catalog}}).Validate(); err != nil {
		return a, err
	}
	id := ma.Catalog.ID
	users := map[int64]bool{}
	for _, u := range ma.Catalog.Users {
		users[u.ID] = true
	}
	for _, k := range ma.Keys {
		switch {
		case !users[k.UserID]:
			return a, fmt.Errorf("key %s belongs to user %d, who is not in the catalog", k.ID, k.UserID)
		case !validSHA256(k.Hash):
			return a, fmt.Errorf("key %s: hash is not 64 lower-case hex digits", k.ID)
		case k.ID == "" || len(k.ID) > 64 || strings.ContainsFunc(k.ID, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
			return a, fmt.Errorf("key of user %d: id %q must be 1-64 printable ASCII characters", k.UserID, k.ID)
		}
		a.keys = append(a.keys, refstore.APIKey{ID: k.ID, Hash: k.Hash, Account: id, UserID: k.UserID, Created: k.Created})
	}
	type place struct{ document, project int64 }
	places := map[int64]place{}
	for _, p := range ma.Catalog.Projects {
		for _, d := range p.Documents {
			for _, s := range d.Segments {
				places[s] = place{d.ID, p.ID}
			}
		}
	}
	ids := map[int64]bool{}
	bySegment := map[int64][]refstore.Address{}
	for i := range ma.Assets {
		m := &ma.Assets[i]
		asset, err := m.asset(id)
		if err != nil {
			return a, fmt.Errorf("asset %d of the manifest (%s): %w", i+1, m.ID, err)
		}
		name := refstore.AssetIDString(asset.ID)
		if p, ok := places[asset.SegmentID]; !ok || p.document != asset.DocumentID || p.project != asset.ProjectID {
			return a, fmt.Errorf("asset %s: segment %d is not in document %d of project %d in the catalog",
				name, asset.SegmentID, asset.DocumentID, asset.ProjectID)
		}
		if ids[asset.ID] {
			return a, fmt.Errorf("asset %s appears twice", name)
		}
		ids[asset.ID] = true
		for _, other := range bySegment[asset.SegmentID] {
			if other.Equal(asset.Address) {
				return a, fmt.Errorf("asset %s: another asset of the manifest has the same address (%s)", name, m.File)
			}
		}
		if other, clash := refstore.LayoutConflict(bySegment[asset.SegmentID], asset.Address); clash {
			return a, fmt.Errorf("asset %s: %s clashes with %s of the same segment in the manifest: "+
				"they cannot both lie in the tree", name, describe(asset.Address), describe(other))
		}
		bySegment[asset.SegmentID] = append(bySegment[asset.SegmentID], asset.Address)
		a.assets = append(a.assets, asset)
		a.files = append(a.files, m.File)
	}
	return a, nil
}

// checkTarget checks that the account's assets fit the layout of the segments the target
// already holds assets in (an asset at the same address is replaced, not a clash).
func checkTarget(ctx context.Context, meta refstore.MetaStore, a importAccount) error {
	var segments []int64
	seen := map[int64]bool{}
	for _, asset := range a.assets {
		if !seen[asset.SegmentID] {
			seen[asset.SegmentID] = true
			segments = append(segments, asset.SegmentID)
		}
	}
	existing := map[int64][]refstore.Address{}
	for i := 0; i < len(segments); i += segmentBatch {
		assets, err := meta.SegmentAssets(ctx, a.catalog.ID, segments[i:min(i+segmentBatch, len(segments))])
		if err != nil {
			return fmt.Errorf("account %s: reading the target's assets: %w", a.catalog.ID, err)
		}
		for _, e := range assets {
			existing[e.SegmentID] = append(existing[e.SegmentID], e.Address)
		}
	}
	for _, asset := range a.assets {
		if other, clash := refstore.LayoutConflict(existing[asset.SegmentID], asset.Address); clash {
			return fmt.Errorf("asset %s: %s clashes with %s, which the target holds in segment %d: "+
				"they cannot both lie in the tree; nothing was imported",
				refstore.AssetIDString(asset.ID), describe(asset.Address), describe(other), asset.SegmentID)
		}
	}
	return nil
}

// describe names an address unambiguously: "en/shot.png" is a locale folder or a
// relativePath folder.
func describe(a refstore.Address) string {
	p := strings.Join(a.Elements(), "/")
	if a.Locale == "" {
		return fmt.Sprintf("%q (no locale)", p)
	}
	return fmt.Sprintf("%q (locale %s)", p, a.Locale)
}

type ctxReadCloser struct {
	io.Reader
	io.Closer
}
