package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/refstore/refstore"
)

// Source is what an export reads. Both stores may be opened read-only, next to running
// servers.
type Source struct {
	Meta  refstore.MetaStore
	Blobs refstore.BlobStore
}

// ExportOptions select what an export holds.
type ExportOptions struct {
	Account string // "" exports every account
	Project int64  // 0 exports every project of the account; needs Account
	// Log receives progress; nil for none.
	Log *slog.Logger
}

// ExportStats count what an export holds.
type ExportStats struct {
	Accounts int
	Assets   int
	Bytes    int64 // of the assets' files
	// Skipped counts assets deleted while the export ran, between listing and reading.
	Skipped int
}

// segmentBatch is how many segments one listing of assets asks for.
const segmentBatch = 500

type exporter struct {
	src     Source
	opts    ExportOptions
	sink    sink
	log     *slog.Logger
	stats   ExportStats
	written map[refstore.ContentID]string // the first file exported with each content
	buf     []byte
	last    time.Time
}

func export(ctx context.Context, src Source, opts ExportOptions, s sink) (_ ExportStats, err error) {
	if opts.Project != 0 && opts.Account == "" {
		return ExportStats{}, errors.New("exporting one project needs its account")
	}
	if opts.Project < 0 {
		return ExportStats{}, fmt.Errorf("project %d: ids are positive", opts.Project)
	}
	e := &exporter{src: src, opts: opts, sink: s, log: opts.Log, written: map[refstore.ContentID]string{},
		buf: make([]byte, 1<<20), last: time.Now()}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			s.abort()
		}
	}()
	m := Manifest{Format: Format, Version: Version, Exported: time.Now().UTC(), Account: opts.Account, Project: opts.Project,
		Accounts: []Account{}}
	accounts := []string{opts.Account}
	if opts.Account == "" {
		if accounts, err = src.Meta.Accounts(ctx); err != nil {
			return e.stats, fmt.Errorf("listing the accounts: %w", err)
		}
	}
	for _, id := range accounts {
		a, err := e.account(ctx, id)
		if err != nil {
			return e.stats, err
		}
		m.Accounts = append(m.Accounts, a)
		e.stats.Accounts++
	}
	b, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return e.stats, err
	}
	if err := s.finish(append(b, '\n')); err != nil {
		return e.stats, fmt.Errorf("writing the manifest: %w", err)
	}
	return e.stats, nil
}

// account exports one account: its catalog, its keys, and the files of its assets,
// segment by segment in catalog order.
func (e *exporter) account(ctx context.Context, id string) (Account, error) {
	cat, err := e.src.Meta.AccountCatalog(ctx, id)
	if refstore.ErrorCode(err) == refstore.CodeNotFound {
		return Account{}, fmt.Errorf("account %q does not exist", id)
	} else if err != nil {
		return Account{}, fmt.Errorf("account %s: reading the catalog: %w", id, err)
	}
	keys, err := e.src.Meta.AccountAPIKeys(ctx, id)
	if err != nil {
		return Account{}, fmt.Errorf("account %s: reading the API keys: %w", id, err)
	}
	if e.opts.Project != 0 {
		if cat, keys, err = onlyProject(cat, keys, e.opts.Project); err != nil {
			return Account{}, err
		}
	}
	out := Account{Catalog: *cat, Keys: []Key{}, Assets: []Asset{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, Key{ID: k.ID, UserID: k.UserID, Hash: k.Hash, Created: k.Created.UTC()})
	}
	type place struct{ document, project int64 }
	places := map[int64]place{}
	var segments []int64
	for _, p := range cat.Projects {
		for _, d := range p.Documents {
			for _, s := range d.Segments {
				places[s] = place{d.ID, p.ID}
				segments = append(segments, s)
			}
		}
	}
	for i := 0; i < len(segments); i += segmentBatch {
		assets, err := e.src.Meta.SegmentAssets(ctx, id, segments[i:min(i+segmentBatch, len(segments))])
		if err != nil {
			return Account{}, fmt.Errorf("account %s: listing assets: %w", id, err)
		}
		for j := range assets {
			if err := ctx.Err(); err != nil {
				return Account{}, err
			}
			a := &assets[j]
			if p := places[a.SegmentID]; p.document != a.DocumentID || p.project != a.ProjectID {
				return Account{}, fmt.Errorf("account %s: segment %d moved to document %d of project %d while the export ran: "+
					"run the export again", id, a.SegmentID, a.DocumentID, a.ProjectID)
			}
			ok, err := e.asset(ctx, a)
			if err != nil {
				return Account{}, err
			}
			if !ok {
				e.stats.Skipped++
				continue
			}
			out.Assets = append(out.Assets, manifestAsset(a))
			e.stats.Assets++
			e.stats.Bytes += a.Size
			if time.Since(e.last) > 10*time.Second {
				e.last = time.Now()
				e.log.Info("exporting", "account", id, "assets", e.stats.Assets, "bytes", e.stats.Bytes)
			}
		}
	}
	return out, nil
}

// errGone marks bytes that were deleted after their asset was listed.
var errGone = errors.New("the asset's bytes are gone")

// asset writes one asset's file. Bytes deleted since the listing mean the asset was
// deleted or overwritten meanwhile: it is read again, and skipped (false) when it is gone.
// a is updated to the version whose bytes were written.
func (e *exporter) asset(ctx context.Context, a *refstore.Asset) (bool, error) {
	for attempt := 0; ; attempt++ {
		err := e.file(ctx, a)
		if !errors.Is(err, errGone) {
			return err == nil, err
		}
		if attempt == 3 {
			return false, fmt.Errorf("asset %s (%s): its bytes are missing from the blob store", refstore.AssetIDString(a.ID), FilePath(a))
		}
		fresh, err := e.src.Meta.AssetByID(ctx, a.Account, a.ID)
		if refstore.ErrorCode(err) == refstore.CodeAssetNotFound {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("asset %s: %w", refstore.AssetIDString(a.ID), err)
		}
		*a = *fresh
	}
}

// file streams an asset's bytes into its file, checking their size and SHA-256 against
// the metadata on the way.
func (e *exporter) file(ctx context.Context, a *refstore.Asset) error {
	name := FilePath(a)
	content := refstore.ContentID{Account: a.Account, SHA256: a.SHA256}
	if first, ok := e.written[content]; ok && e.sink.link(first, name) {
		return nil
	}
	r, err := e.src.Blobs.Open(ctx, refstore.BlobRef{Account: a.Account, Key: a.BlobKey}, a.Size)
	if errors.Is(err, fs.ErrNotExist) {
		return errGone
	} else if err != nil {
		return fmt.Errorf("asset %s (%s): opening its bytes: %w", refstore.AssetIDString(a.ID), name, err)
	}
	defer r.Close()
	if p, ok := r.(refstore.RangePrefetcher); ok && a.Size > 0 {
		// A remote blob store opens lazily: ask now, so that bytes deleted since the
		// listing show before the file is started.
		if err := p.Prefetch(0, a.Size-1); errors.Is(err, fs.ErrNotExist) {
			return errGone
		} else if err != nil {
			return fmt.Errorf("asset %s (%s): opening its bytes: %w", refstore.AssetIDString(a.ID), name, err)
		}
	}
	w, err := e.sink.create(name, a.Modified.Time())
	if err != nil {
		return fmt.Errorf("asset %s: creating %s: %w", refstore.AssetIDString(a.ID), name, err)
	}
	h := sha256.New()
	// One byte more than the metadata says, to notice longer bytes.
	n, err := io.CopyBuffer(io.MultiWriter(w, h), ctxReader{ctx, io.LimitReader(r, a.Size+1)}, e.buf)
	if err != nil {
		w.Close()
		return fmt.Errorf("asset %s (%s): copying its bytes: %w", refstore.AssetIDString(a.ID), name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("asset %s: writing %s: %w", refstore.AssetIDString(a.ID), name, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != a.Size || sum != a.SHA256 {
		what := fmt.Sprintf("%d bytes", n)
		if n > a.Size {
			what = fmt.Sprintf("more than %d bytes", a.Size)
		}
		return fmt.Errorf("asset %s (%s): the stored bytes do not match the metadata: the blob store holds %s with SHA-256 %s, "+
			"the metadata says %d bytes with SHA-256 %s", refstore.AssetIDString(a.ID), name, what, sum, a.Size, a.SHA256)
	}
	e.written[content] = name
	return nil
}

// onlyProject limits an account's catalog and keys to one project: the project, its jobs,
// the grants on them, and the users those grants name with their keys.
func onlyProject(c *refstore.CatalogAccount, keys []refstore.APIKey, project int64) (*refstore.CatalogAccount, []refstore.APIKey, error) {
	out := &refstore.CatalogAccount{ID: c.ID, Name: c.Name}
	for _, p := range c.Projects {
		if p.ID == project {
			out.Projects = []refstore.CatalogProject{p}
		}
	}
	if out.Projects == nil {
		return nil, nil, fmt.Errorf("project %d does not exist in account %s", project, c.ID)
	}
	type jobKey struct {
		codyt bool
		id    int64
	}
	jobs := map[jobKey]bool{}
	for _, j := range c.Jobs {
		if j.ProjectID == project {
			out.Jobs = append(out.Jobs, j)
			jobs[jobKey{j.Codyt, j.ID}] = true
		}
	}
	users := map[int64]bool{}
	for _, g := range c.Grants {
		if g.ProjectID == project || g.JobID > 0 && jobs[jobKey{g.Codyt, g.JobID}] {
			out.Grants = append(out.Grants, g)
			users[g.UserID] = true
		}
	}
	for _, u := range c.Users {
		if users[u.ID] {
			out.Users = append(out.Users, u)
		}
	}
	var kept []refstore.APIKey
	for _, k := range keys {
		if users[k.UserID] {
			kept = append(kept, k)
		}
	}
	return out, kept, nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
