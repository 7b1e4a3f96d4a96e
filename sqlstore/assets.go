package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/refstore/refstore"
)

// CreateUpload records an upload and, unless the account already holds the same bytes, its
// blob. It returns the key of the blob the upload now references.
func (s *Store) CreateUpload(ctx context.Context, u *refstore.Upload, audit *refstore.AuditEvent) (_ string, err error) {
	defer classify(&err)
	var key string
	var events int
	err = s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// An existing blob is reused, and revived if it was marked as garbage.
		if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (account_id, sha256, blob_key, size, created)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, sha256) DO UPDATE SET garbage_since = NULL`,
			u.Account, u.SHA256, u.BlobKey, u.Size, millis(u.Created)); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT blob_key FROM blobs WHERE account_id = $1 AND sha256 = $2`,
			u.Account, u.SHA256).Scan(&key); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO uploads (hash, account_id, user_id, folders, name, size, sha256,
			content_type, created, expires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			u.TokenHash, u.Account, u.UserID, strings.Join(u.Folders, "/"), u.Name, u.Size, u.SHA256,
			u.ContentType, millis(u.Created), millis(u.Expires))
		if err != nil {
			return err
		}
		if events, err = writeEvents(ctx, tx, audit, refstore.UploadEvent(u, audit, u.Created)); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, nil)
	})
	if err == nil {
		s.eventsWritten(events)
	}
	return key, err
}

func errFileToken() error {
	return refstore.Errorf(refstore.CodeFileTokenInvalid, "The file token does not exist or has expired.")
}

// Upload returns a live upload of the user.
func (s *Store) Upload(ctx context.Context, account string, userID int64, hash string, now time.Time) (_ *refstore.Upload, err error) {
	defer classify(&err)
	u := &refstore.Upload{TokenHash: hash, Account: account, UserID: userID}
	var folders string
	var created, expires int64
	err = s.read.QueryRowContext(ctx, `SELECT u.folders, u.name, u.size, u.sha256, u.content_type, u.created,
		u.expires, b.blob_key FROM uploads u JOIN blobs b ON b.account_id = u.account_id AND b.sha256 = u.sha256
		WHERE u.hash = $1 AND u.account_id = $2 AND u.user_id = $3 AND u.expires > $4`,
		hash, account, userID, millis(now)).
		Scan(&folders, &u.Name, &u.Size, &u.SHA256, &u.ContentType, &created, &expires, &u.BlobKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errFileToken()
	} else if err != nil {
		return nil, err
	}
	u.Folders = splitFolders(folders)
	u.Created, u.Expires = fromMillis(created), fromMillis(expires)
	return u, nil
}

func splitFolders(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "/")
}

// DeleteExpiredUploads removes the uploads that expired at or before now.
func (s *Store) DeleteExpiredUploads(ctx context.Context, now time.Time) (_ []refstore.ContentID, err error) {
	defer classify(&err)
	var ids []refstore.ContentID
	err = s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids = nil
		if err := scanAll(ctx, tx, `DELETE FROM uploads WHERE expires <= $1 RETURNING account_id, sha256`,
			[]any{millis(now)}, func(r *sql.Rows) error {
				var id refstore.ContentID
				err := r.Scan(&id.Account, &id.SHA256)
				ids = append(ids, id)
				return err
			}); err != nil {
			return err
		}
		return markUnreferenced(ctx, tx, now, ids)
	})
	return ids, err
}

// Attach places an upload at an address, in one transaction:
//  1. the upload must still be live (updating its row also locks it against the sweeper);
//  2. bumping the segment's rev serialises every writer of the segment;
//  3. the address must fit the segment's on-disk layout;
//  4. the asset is inserted, or overwritten keeping its id and creation date, with a
//     modification date strictly after the previous one so that `v` always changes.
func (s *Store) Attach(ctx context.Context, p refstore.AttachParams) (asset, previous *refstore.Asset, err error) {
	defer classify(&err)
	var events int
	err = s.inTxAnnounce(ctx, segmentChange(p.Account, p.Segment.ID), func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE uploads SET expires = expires
			WHERE hash = $1 AND account_id = $2 AND user_id = $3 AND expires > $4`,
			p.UploadHash, p.Account, p.UserID, millis(p.Now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errFileToken()
		}
		a := &refstore.Asset{Account: p.Account, ProjectID: p.Segment.ProjectID, DocumentID: p.Segment.DocumentID,
			SegmentID: p.Segment.ID, Address: p.Address}
		if err := tx.QueryRowContext(ctx, `SELECT u.size, u.sha256, u.content_type, b.blob_key FROM uploads u
			JOIN blobs b ON b.account_id = u.account_id AND b.sha256 = u.sha256 WHERE u.hash = $1`, p.UploadHash).
			Scan(&a.Size, &a.SHA256, &a.ContentType, &a.BlobKey); err != nil {
			return err
		}
		if found, err := lockSegmentRow(ctx, tx, p.Account, p.Segment.ID, p.Segment.DocumentID); err != nil {
			return err
		} else if !found {
			return refstore.Errorf(refstore.CodeSegmentNotFound, "Segment %d does not exist.", p.Segment.ID)
		}
		if previous, err = placeAt(ctx, tx, p.Account, p.Segment.ID, p.Address); err != nil {
			return err
		}
		now := refstore.TicksOf(p.Now)
		if previous == nil {
			a.ID, a.Created, a.Modified = p.NewID, now, now
			err = insertAsset(ctx, tx, a)
		} else {
			a.ID, a.Created, a.Modified = previous.ID, previous.Created, max(now, previous.Modified+1)
			err = updateAsset(ctx, tx, a)
		}
		if err != nil {
			return err
		}
		if previous != nil && previous.SHA256 != a.SHA256 {
			if err := markUnreferenced(ctx, tx, p.Now, []refstore.ContentID{{Account: p.Account, SHA256: previous.SHA256}}); err != nil {
				return err
			}
		}
		asset = a
		kind := refstore.EventAssetAttached
		if previous != nil {
			kind = refstore.EventAssetReplaced
		}
		if events, err = writeEvents(ctx, tx, p.Audit, refstore.AssetEvent(kind, a, p.Audit, p.Now)); err != nil {
			return err
		}
		return recordAudit(ctx, tx, p.Audit, func(ev *refstore.AuditEvent) {
			ev.Action, ev.AssetID = refstore.AuditAttach, a.ID
			if previous != nil {
				ev.Action = refstore.AuditOverwrite
			}
			ev.Detail = joinDetail(ev.Detail, assetDetail(a))
		})
	})
	if err != nil {
		return nil, nil, err
	}
	s.eventsWritten(events)
	return asset, previous, nil
}

// The steps Attach and ImportAsset share.

// lockSegmentRow bumps a segment's rev, which serialises every writer of the segment for
// the rest of the transaction, and reports whether the segment exists in document.
func lockSegmentRow(ctx context.Context, tx *sql.Tx, account string, segment, document int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE segments SET rev = rev + 1 WHERE account_id = $1 AND id = $2 AND document_id = $3`,
		account, segment, document)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// placeAt returns the asset at addr in a segment (nil for none), after checking that addr
// fits the segment's layout: no asset may need a folder where another is a file
// (CodeConflict).
func placeAt(ctx context.Context, tx *sql.Tx, account string, segment int64, addr refstore.Address) (*refstore.Asset, error) {
	existing, err := segmentAssets(ctx, tx, account, []int64{segment})
	if err != nil {
		return nil, err
	}
	var previous *refstore.Asset
	addrs := make([]refstore.Address, len(existing))
	for i := range existing {
		addrs[i] = existing[i].Address
		if existing[i].Address.Equal(addr) {
			previous = &existing[i]
		}
	}
	if other, clash := refstore.LayoutConflict(addrs, addr); clash {
		return nil, refstore.Errorf(refstore.CodeConflict,
			"The path %q clashes with the existing asset %q of this segment: one would need a folder where the other is a file.",
			strings.Join(addr.Elements(), "/"), strings.Join(other.Elements(), "/"))
	}
	return previous, nil
}

// insertAsset inserts a's row.
func insertAsset(ctx context.Context, tx *sql.Tx, a *refstore.Asset) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO assets (account_id, id, segment_id, locale, folders, name, size,
		sha256, content_type, created, modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		a.Account, a.ID, a.SegmentID, a.Locale, a.FolderPath(), a.Name, a.Size, a.SHA256, a.ContentType,
		int64(a.Created), int64(a.Modified))
	return err
}

// updateAsset gives the row of a's id a's bytes and dates; its address stays.
func updateAsset(ctx context.Context, tx *sql.Tx, a *refstore.Asset) error {
	_, err := tx.ExecContext(ctx, `UPDATE assets SET size = $3, sha256 = $4, content_type = $5, created = $6, modified = $7
		WHERE account_id = $1 AND id = $2`, a.Account, a.ID, a.Size, a.SHA256, a.ContentType,
		int64(a.Created), int64(a.Modified))
	return err
}

const assetColumns = `a.id, a.segment_id, s.document_id, d.project_id, a.locale, a.folders, a.name, a.size,
	a.sha256, a.content_type, a.created, a.modified, b.blob_key
	FROM assets a
	JOIN segments s ON s.account_id = a.account_id AND s.id = a.segment_id
	JOIN documents d ON d.account_id = s.account_id AND d.id = s.document_id
	JOIN blobs b ON b.account_id = a.account_id AND b.sha256 = a.sha256`

func scanAsset(r interface{ Scan(...any) error }, account string) (refstore.Asset, error) {
	a := refstore.Asset{Account: account}
	var folders string
	var created, modified int64
	err := r.Scan(&a.ID, &a.SegmentID, &a.DocumentID, &a.ProjectID, &a.Locale, &folders, &a.Name, &a.Size,
		&a.SHA256, &a.ContentType, &created, &modified, &a.BlobKey)
	a.Folders = splitFolders(folders)
	a.Created, a.Modified = refstore.Ticks(created), refstore.Ticks(modified)
	return a, err
}

func errAsset() error {
	return refstore.Errorf(refstore.CodeAssetNotFound, "The requested file does not exist.")
}

// Asset finds the asset at an address of a segment.
func (s *Store) Asset(ctx context.Context, account string, segmentID int64, addr refstore.Address) (_ *refstore.Asset, err error) {
	defer classify(&err)
	a, err := scanAsset(s.read.QueryRowContext(ctx, `SELECT `+assetColumns+`
		WHERE a.account_id = $1 AND a.segment_id = $2 AND a.locale = $3 AND a.folders = $4 AND a.name = $5`,
		account, segmentID, addr.Locale, addr.FolderPath(), addr.Name), account)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAsset()
	}
	return &a, err
}

// AssetByID finds an asset by its id.
func (s *Store) AssetByID(ctx context.Context, account string, id int64) (_ *refstore.Asset, err error) {
	defer classify(&err)
	a, err := scanAsset(s.read.QueryRowContext(ctx, `SELECT `+assetColumns+`
		WHERE a.account_id = $1 AND a.id = $2`, account, id), account)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAsset()
	}
	return &a, err
}

// SegmentAssets lists the assets of segments in the API's order.
func (s *Store) SegmentAssets(ctx context.Context, account string, segmentIDs []int64) (_ []refstore.Asset, err error) {
	defer classify(&err)
	return segmentAssets(ctx, s.read, account, segmentIDs)
}

func segmentAssets(ctx context.Context, q queryer, account string, segmentIDs []int64) ([]refstore.Asset, error) {
	assets := []refstore.Asset{}
	if len(segmentIDs) == 0 {
		return assets, nil
	}
	args := make([]any, 0, len(segmentIDs)+1)
	args = append(args, account)
	order := make(map[int64]int, len(segmentIDs))
	for i, id := range segmentIDs {
		args = append(args, id)
		order[id] = i
	}
	err := scanAll(ctx, q, `SELECT `+assetColumns+` WHERE a.account_id = $1 AND a.segment_id IN (`+
		placeholders(2, len(segmentIDs))+`)`, args, func(r *sql.Rows) error {
		a, err := scanAsset(r, account)
		assets = append(assets, a)
		return err
	})
	// Sorted here, byte-wise, rather than by the database: SQLite and PostgreSQL collate
	// text differently, and the order is by the backslash form of the relative path.
	slices.SortFunc(assets, func(a, b refstore.Asset) int {
		return cmp.Or(cmp.Compare(order[a.SegmentID], order[b.SegmentID]), cmp.Compare(a.Locale, b.Locale),
			cmp.Compare(a.RelativePath(), b.RelativePath()), cmp.Compare(a.Name, b.Name))
	})
	return assets, err
}

// DeleteAssets deletes one asset of a segment, or all of them when addr is nil.
func (s *Store) DeleteAssets(ctx context.Context, account string, segmentID int64, addr *refstore.Address, audit *refstore.AuditEvent) (_ []refstore.Asset, err error) {
	defer classify(&err)
	var deleted []refstore.Asset
	var events int
	err = s.inTxAnnounce(ctx, segmentChange(account, segmentID), func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE segments SET rev = rev + 1 WHERE account_id = $1 AND id = $2`,
			account, segmentID); err != nil {
			return err
		}
		all, err := segmentAssets(ctx, tx, account, []int64{segmentID})
		if err != nil {
			return err
		}
		deleted = nil
		var contents []refstore.ContentID
		for _, a := range all {
			if addr != nil && !a.Address.Equal(*addr) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM assets WHERE account_id = $1 AND id = $2`, account, a.ID); err != nil {
				return err
			}
			deleted = append(deleted, a)
			contents = append(contents, refstore.ContentID{Account: account, SHA256: a.SHA256})
		}
		if err := markUnreferenced(ctx, tx, time.Now(), contents); err != nil {
			return err
		}
		// One event per asset, a delete-all included: a receiver that mirrors the assets
		// needs to know each one that went.
		now := time.Now()
		gone := make([]refstore.Event, len(deleted))
		for i := range deleted {
			gone[i] = refstore.AssetEvent(refstore.EventAssetDeleted, &deleted[i], audit, now)
		}
		if events, err = writeEvents(ctx, tx, audit, gone...); err != nil {
			return err
		}
		return recordAudit(ctx, tx, audit, func(ev *refstore.AuditEvent) {
			ev.Count = int64(len(deleted))
			if addr != nil && len(deleted) == 1 {
				ev.AssetID = deleted[0].ID
			}
		})
	})
	if err == nil {
		s.eventsWritten(events)
	}
	return deleted, err
}

// AssetSegments calls fn for every segment that holds assets.
func (s *Store) AssetSegments(ctx context.Context, fn func(account string, segmentID int64) error) (err error) {
	defer classify(&err)
	return scanAll(ctx, s.read, `SELECT DISTINCT account_id, segment_id FROM assets ORDER BY account_id, segment_id`,
		nil, func(r *sql.Rows) error {
			var account string
			var seg int64
			if err := r.Scan(&account, &seg); err != nil {
				return err
			}
			return fn(account, seg)
		})
}

const unreferenced = `NOT EXISTS (SELECT 1 FROM assets a WHERE a.account_id = blobs.account_id AND a.sha256 = blobs.sha256)
	AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.account_id = blobs.account_id AND u.sha256 = blobs.sha256)`

// markUnreferenced marks as garbage, at at, those of contents that nothing references any
// more. Every transaction that removes a reference to a blob calls it (or
// markAccountUnreferenced) before it commits, so that a blob that lost its last reference
// is marked by the same commit: no crash, shutdown or failed request between the two can
// leave an unreferenced blob that only a full scan would find. The purge of CollectGarbage
// then removes every marked blob once its grace has passed.
func markUnreferenced(ctx context.Context, tx *sql.Tx, at time.Time, contents []refstore.ContentID) error {
	seen := make(map[refstore.ContentID]bool, len(contents))
	for _, c := range contents {
		if seen[c] {
			continue
		}
		seen[c] = true
		if _, err := tx.ExecContext(ctx, `UPDATE blobs SET garbage_since = $3
			WHERE account_id = $1 AND sha256 = $2 AND garbage_since IS NULL AND `+unreferenced,
			c.Account, c.SHA256, millis(at)); err != nil {
			return err
		}
	}
	return nil
}

// markAccountUnreferenced marks every blob of an account that nothing references, for the
// removals whose foreign keys cascade to assets or uploads (catalog entries).
func markAccountUnreferenced(ctx context.Context, tx *sql.Tx, account string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE blobs SET garbage_since = $2
		WHERE account_id = $1 AND garbage_since IS NULL AND `+unreferenced, account, millis(at))
	return err
}

// CollectGarbage marks unreferenced candidates and removes the blobs marked at least grace
// ago. The writes that unreference blobs mark them themselves (markUnreferenced); the
// candidates are a second chance, and nil a full scan, for blobs unreferenced by earlier
// versions that did not. The foreign keys from assets and uploads make a concurrent new
// reference fail a removal rather than dangle; such a blob is kept (and revived by the
// upload that referenced it).
func (s *Store) CollectGarbage(ctx context.Context, candidates []refstore.ContentID, now time.Time, grace time.Duration) (_ []refstore.BlobRef, err error) {
	defer classify(&err)
	marked := millis(now)
	if candidates == nil {
		if err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE blobs SET garbage_since = $1 WHERE garbage_since IS NULL AND `+unreferenced, marked)
			return err
		}); err != nil {
			return nil, err
		}
	}
	for _, c := range candidates {
		if err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE blobs SET garbage_since = $3
				WHERE account_id = $1 AND sha256 = $2 AND garbage_since IS NULL AND `+unreferenced,
				c.Account, c.SHA256, marked)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return s.purgeGarbage(ctx, millis(now.Add(-grace)))
}

// purgeGarbage removes the blobs marked at or before cutoff that are still unreferenced.
func (s *Store) purgeGarbage(ctx context.Context, cutoff int64) ([]refstore.BlobRef, error) {
	const purge = `DELETE FROM blobs WHERE garbage_since <= $1 AND ` + unreferenced + ` RETURNING account_id, blob_key`
	var refs []refstore.BlobRef
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return collectKeys(ctx, tx, &refs, purge, cutoff) })
	if !isForeignKeyViolation(err) {
		return refs, err
	}
	// A blob gained a reference meanwhile: remove the others one by one.
	var due []refstore.ContentID
	if err := scanAll(ctx, s.read, `SELECT account_id, sha256 FROM blobs WHERE garbage_since <= $1`, []any{cutoff},
		func(r *sql.Rows) error {
			var c refstore.ContentID
			err := r.Scan(&c.Account, &c.SHA256)
			due = append(due, c)
			return err
		}); err != nil {
		return nil, err
	}
	refs = nil
	for _, c := range due {
		err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return collectKeys(ctx, tx, &refs, `DELETE FROM blobs WHERE account_id = $1 AND sha256 = $2
				AND garbage_since <= $3 AND `+unreferenced+` RETURNING account_id, blob_key`, c.Account, c.SHA256, cutoff)
		})
		if err != nil && !isForeignKeyViolation(err) {
			return refs, err
		}
	}
	return refs, nil
}

func collectKeys(ctx context.Context, tx *sql.Tx, refs *[]refstore.BlobRef, query string, args ...any) error {
	return scanAll(ctx, tx, query, args, func(r *sql.Rows) error {
		var ref refstore.BlobRef
		err := r.Scan(&ref.Account, &ref.Key)
		*refs = append(*refs, ref)
		return err
	})
}

// BlobKnown reports whether a blob key is recorded.
func (s *Store) BlobKnown(ctx context.Context, ref refstore.BlobRef) (_ bool, err error) {
	defer classify(&err)
	var one int
	err = s.read.QueryRowContext(ctx, `SELECT 1 FROM blobs WHERE account_id = $1 AND blob_key = $2`,
		ref.Account, ref.Key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ContentBlob finds the account's blob holding the bytes with the given SHA-256.
func (s *Store) ContentBlob(ctx context.Context, c refstore.ContentID) (key string, size int64, ok bool, err error) {
	defer classify(&err)
	err = s.read.QueryRowContext(ctx, `SELECT blob_key, size FROM blobs WHERE account_id = $1 AND sha256 = $2`,
		c.Account, c.SHA256).Scan(&key, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, nil
	}
	return key, size, err == nil, err
}

// ImportAsset places an asset of an export, in one transaction:
//  1. bumping the segment's rev serialises every writer of the segment, and checks that
//     the segment lies in the asset's document, which must lie in the asset's project;
//  2. the blob is recorded, or the account's blob of the same bytes is used (and revived
//     if it was marked as garbage);
//  3. the address must fit the segment's layout, and the id must not name an asset at
//     another address;
//  4. the asset is inserted with its id and dates, replacing an asset at its address.
func (s *Store) ImportAsset(ctx context.Context, in *refstore.Asset, audit *refstore.AuditEvent) (asset, previous *refstore.Asset, err error) {
	defer classify(&err)
	a := *in
	err = s.inTxAnnounce(ctx, segmentChange(a.Account, a.SegmentID), func(ctx context.Context, tx *sql.Tx) error {
		if found, err := lockSegmentRow(ctx, tx, a.Account, a.SegmentID, a.DocumentID); err != nil {
			return err
		} else if !found {
			return refstore.Errorf(refstore.CodeSegmentNotFound, "Segment %d does not exist in document %d.", a.SegmentID, a.DocumentID)
		}
		var project int64
		if err := tx.QueryRowContext(ctx, `SELECT project_id FROM documents WHERE account_id = $1 AND id = $2`,
			a.Account, a.DocumentID).Scan(&project); err != nil {
			return err
		}
		if project != a.ProjectID {
			return refstore.Errorf(refstore.CodeConflict, "Document %d belongs to project %d, not to project %d.",
				a.DocumentID, project, a.ProjectID)
		}
		if a.BlobKey != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (account_id, sha256, blob_key, size, created)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, sha256) DO UPDATE SET garbage_since = NULL`,
				a.Account, a.SHA256, a.BlobKey, a.Size, millis(time.Now())); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE blobs SET garbage_since = NULL WHERE account_id = $1 AND sha256 = $2`,
				a.Account, a.SHA256)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return refstore.Errorf(refstore.CodeNotFound, "The account holds no bytes with SHA-256 %s.", a.SHA256)
			}
		}
		var size int64
		if err := tx.QueryRowContext(ctx, `SELECT blob_key, size FROM blobs WHERE account_id = $1 AND sha256 = $2`,
			a.Account, a.SHA256).Scan(&a.BlobKey, &size); err != nil {
			return err
		}
		if size != a.Size {
			return refstore.Errorf(refstore.CodeConflict, "The account's bytes with SHA-256 %s are %d bytes long, not %d.",
				a.SHA256, size, a.Size)
		}
		if previous, err = placeAt(ctx, tx, a.Account, a.SegmentID, a.Address); err != nil {
			return err
		}
		if previous == nil || previous.ID != a.ID {
			if found, err := exists(ctx, tx, `SELECT 1 FROM assets WHERE account_id = $1 AND id = $2`, a.Account, a.ID); err != nil {
				return err
			} else if found {
				return refstore.Errorf(refstore.CodeConflict, "The asset %s already exists at another address.",
					refstore.AssetIDString(a.ID))
			}
		}
		switch {
		case previous != nil && previous.ID == a.ID:
			err = updateAsset(ctx, tx, &a)
		case previous != nil:
			if _, err := tx.ExecContext(ctx, `DELETE FROM assets WHERE account_id = $1 AND id = $2`,
				a.Account, previous.ID); err != nil {
				return err
			}
			fallthrough
		default:
			err = insertAsset(ctx, tx, &a)
		}
		if err != nil {
			return err
		}
		if previous != nil && previous.SHA256 != a.SHA256 {
			if err := markUnreferenced(ctx, tx, time.Now(), []refstore.ContentID{{Account: a.Account, SHA256: previous.SHA256}}); err != nil {
				return err
			}
		}
		return recordImport(ctx, tx, audit, &a, previous)
	})
	if err != nil {
		return nil, nil, err
	}
	return &a, previous, nil
}

// recordImport records an imported asset, with the asset it replaced.
func recordImport(ctx context.Context, tx *sql.Tx, audit *refstore.AuditEvent, a, previous *refstore.Asset) error {
	return recordAudit(ctx, tx, audit, func(ev *refstore.AuditEvent) {
		ev.AssetID = a.ID
		d := assetDetail(a)
		if previous != nil {
			d = joinDetail(d, "replaced="+refstore.AssetIDString(previous.ID))
		}
		ev.Detail = joinDetail(ev.Detail, d)
	})
}

// assetDetail describes the bytes of an asset for its audit row.
func assetDetail(a *refstore.Asset) string {
	return refstore.ContentDetail(a.Size, a.ContentType, a.SHA256)
}

// joinDetail adds key=value pairs to a row's Detail.
func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}
