package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/refstore/refstore"
)

var _ refstore.MetaChecker = (*Store)(nil)

// BlobRecords calls fn for every blob record with the number of assets and uploads that
// reference it. The records are read in one query (one snapshot) before fn is called.
func (s *Store) BlobRecords(ctx context.Context, fn func(refstore.BlobRecord) error) (err error) {
	defer classify(&err)
	var recs []refstore.BlobRecord
	err = scanAll(ctx, s.read, `SELECT b.account_id, b.sha256, b.blob_key, b.size, b.created, b.garbage_since,
		(SELECT COUNT(*) FROM assets a WHERE a.account_id = b.account_id AND a.sha256 = b.sha256),
		(SELECT COUNT(*) FROM uploads u WHERE u.account_id = b.account_id AND u.sha256 = b.sha256)
		FROM blobs b ORDER BY b.account_id, b.blob_key`, nil, func(r *sql.Rows) error {
		var rec refstore.BlobRecord
		var created int64
		var garbage sql.NullInt64
		if err := r.Scan(&rec.Account, &rec.SHA256, &rec.Key, &rec.Size, &created, &garbage, &rec.Assets, &rec.Uploads); err != nil {
			return err
		}
		rec.Created = fromMillis(created)
		if garbage.Valid {
			rec.GarbageSince = fromMillis(garbage.Int64)
		}
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// ContentAssets returns the assets that hold one content of an account.
func (s *Store) ContentAssets(ctx context.Context, c refstore.ContentID) (_ []refstore.Asset, err error) {
	defer classify(&err)
	assets := []refstore.Asset{}
	err = scanAll(ctx, s.read, `SELECT `+assetColumns+` WHERE a.account_id = $1 AND a.sha256 = $2 ORDER BY a.id`,
		[]any{c.Account, c.SHA256}, func(r *sql.Rows) error {
			a, err := scanAsset(r, c.Account)
			assets = append(assets, a)
			return err
		})
	return assets, err
}

// ExpiredUploads calls fn for every upload that expired at or before now.
func (s *Store) ExpiredUploads(ctx context.Context, now time.Time, fn func(refstore.Upload) error) (err error) {
	defer classify(&err)
	var ups []refstore.Upload
	err = scanAll(ctx, s.read, `SELECT hash, account_id, user_id, folders, name, size, sha256, created, expires
		FROM uploads WHERE expires <= $1 ORDER BY account_id, expires`, []any{millis(now)}, func(r *sql.Rows) error {
		var u refstore.Upload
		var folders string
		var created, expires int64
		if err := r.Scan(&u.TokenHash, &u.Account, &u.UserID, &folders, &u.Name, &u.Size, &u.SHA256, &created, &expires); err != nil {
			return err
		}
		u.Folders = splitFolders(folders)
		u.Created, u.Expires = fromMillis(created), fromMillis(expires)
		ups = append(ups, u)
		return nil
	})
	if err != nil {
		return err
	}
	for _, u := range ups {
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}
