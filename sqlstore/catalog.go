package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/refstore/refstore"
)

// UpsertCatalog adds or updates every entry of c in one transaction. Entries stored by
// earlier calls and not named in c are kept. A document or segment may move to another
// project or document only while it holds no assets (their files live under its folder).
func (s *Store) UpsertCatalog(ctx context.Context, c *refstore.Catalog, keys []refstore.APIKey, audit *refstore.AuditEvent) (err error) {
	defer classify(&err)
	return s.inTxAnnounce(ctx, catalogChange(), func(ctx context.Context, tx *sql.Tx) error {
		for i := range c.Accounts {
			if err := upsertAccount(ctx, tx, &c.Accounts[i]); err != nil {
				return err
			}
		}
		for _, k := range keys {
			if err := addKey(ctx, tx, k); err != nil {
				return err
			}
		}
		ev := audit
		for i := range c.Accounts {
			a := &c.Accounts[i]
			if err := recordAudit(ctx, tx, ev, func(ev *refstore.AuditEvent) {
				ev.Account, ev.Target, ev.Detail = a.ID, "account "+a.ID, joinDetail(ev.Detail, catalogCounts(a, keys))
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// catalogCounts says what a catalog upsert named in one account.
func catalogCounts(a *refstore.CatalogAccount, keys []refstore.APIKey) string {
	var docs, segs, nkeys int
	for _, p := range a.Projects {
		docs += len(p.Documents)
		for _, d := range p.Documents {
			segs += len(d.Segments)
		}
	}
	for _, k := range keys {
		if k.Account == a.ID {
			nkeys++
		}
	}
	return fmt.Sprintf("users=%d projects=%d documents=%d segments=%d jobs=%d grants=%d keys=%d",
		len(a.Users), len(a.Projects), docs, segs, len(a.Jobs), len(a.Grants), nkeys)
}

func badCatalog(format string, args ...any) error {
	e := refstore.Errorf(refstore.CodeInvalidBody, "Invalid catalog: "+format, args...)
	return e
}

func upsertAccount(ctx context.Context, tx *sql.Tx, a *refstore.CatalogAccount) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE accounts.name END`,
		a.ID, a.Name); err != nil {
		return err
	}
	if a.QuotaBytes != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET quota_bytes = $1 WHERE id = $2`, *a.QuotaBytes, a.ID); err != nil {
			return err
		}
	}
	if a.RateLimit != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET rate_limit = $1 WHERE id = $2`, *a.RateLimit, a.ID); err != nil {
			return err
		}
	}
	for _, u := range a.Users {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (account_id, id, name, email) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, id) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE users.name END,
				email = CASE WHEN excluded.email <> '' THEN excluded.email ELSE users.email END`,
			a.ID, u.ID, u.Name, u.Email); err != nil {
			return err
		}
	}
	for _, p := range a.Projects {
		if _, err := tx.ExecContext(ctx, `INSERT INTO projects (account_id, id, name) VALUES ($1, $2, $3)
			ON CONFLICT (account_id, id) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE projects.name END`,
			a.ID, p.ID, p.Name); err != nil {
			return err
		}
	}
	for _, p := range a.Projects {
		for _, d := range p.Documents {
			if err := upsertDocument(ctx, tx, a.ID, p.ID, d); err != nil {
				return err
			}
		}
	}
	for _, j := range a.Jobs {
		if err := upsertJob(ctx, tx, a.ID, j); err != nil {
			return err
		}
	}
	for _, g := range a.Grants {
		if err := upsertGrant(ctx, tx, a.ID, g); err != nil {
			return err
		}
	}
	return nil
}

func upsertDocument(ctx context.Context, tx *sql.Tx, account string, projectID int64, d refstore.CatalogDocument) error {
	var current int64
	// Name and locales left empty keep the stored ones; target locales are replaced when
	// given (an empty list clears them).
	err := tx.QueryRowContext(ctx, `INSERT INTO documents (account_id, id, project_id, name, source_locale, target_locales)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (account_id, id) DO UPDATE SET project_id = documents.project_id,
			name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE documents.name END,
			source_locale = CASE WHEN excluded.source_locale <> '' THEN excluded.source_locale ELSE documents.source_locale END,
			target_locales = CASE WHEN $7 THEN excluded.target_locales ELSE documents.target_locales END
		RETURNING project_id`, account, d.ID, projectID, d.Name, d.SourceLocale, strings.Join(d.TargetLocales, ","),
		d.TargetLocales != nil).Scan(&current)
	if err != nil {
		return err
	}
	if current != projectID {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets a JOIN segments s
			ON s.account_id = a.account_id AND s.id = a.segment_id
			WHERE s.account_id = $1 AND s.document_id = $2`, account, d.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return refstore.Errorf(refstore.CodeConflict,
				"Document %d belongs to project %d and holds assets; it cannot move to project %d.", d.ID, current, projectID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE documents SET project_id = $3 WHERE account_id = $1 AND id = $2`,
			account, d.ID, projectID); err != nil {
			return err
		}
		// Jobs of the old project no longer cover the document.
		if _, err := tx.ExecContext(ctx, `DELETE FROM job_documents WHERE account_id = $1 AND document_id = $2`,
			account, d.ID); err != nil {
			return err
		}
	}
	if len(d.Segments) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO segments (account_id, id, document_id) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, id) DO UPDATE SET document_id = segments.document_id
		RETURNING document_id`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, seg := range d.Segments {
		if err := stmt.QueryRowContext(ctx, account, seg, d.ID).Scan(&current); err != nil {
			return err
		}
		if current == d.ID {
			continue
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM assets WHERE account_id = $1 AND segment_id = $2`,
			account, seg).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return refstore.Errorf(refstore.CodeConflict,
				"Segment %d belongs to document %d and holds assets; it cannot move to document %d.", seg, current, d.ID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE segments SET document_id = $3 WHERE account_id = $1 AND id = $2`,
			account, seg, d.ID); err != nil {
			return err
		}
	}
	return nil
}

func upsertJob(ctx context.Context, tx *sql.Tx, account string, j refstore.CatalogJob) error {
	if found, err := exists(ctx, tx, `SELECT 1 FROM projects WHERE account_id = $1 AND id = $2`, account, j.ProjectID); err != nil {
		return err
	} else if !found {
		return badCatalog("job %d names project %d, which is not in account %s", j.ID, j.ProjectID, account)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (account_id, codyt, id, project_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, codyt, id) DO UPDATE SET project_id = excluded.project_id`,
		account, j.Codyt, j.ID, j.ProjectID); err != nil {
		return err
	}
	// A job's documents are replaced as a whole: the catalog describes the job.
	if _, err := tx.ExecContext(ctx, `DELETE FROM job_documents WHERE account_id = $1 AND codyt = $2 AND job_id = $3`,
		account, j.Codyt, j.ID); err != nil {
		return err
	}
	for _, d := range j.DocumentIDs {
		var project int64
		err := tx.QueryRowContext(ctx, `SELECT project_id FROM documents WHERE account_id = $1 AND id = $2`,
			account, d).Scan(&project)
		if errors.Is(err, sql.ErrNoRows) {
			return badCatalog("job %d names document %d, which is not in account %s", j.ID, d, account)
		} else if err != nil {
			return err
		}
		if project != j.ProjectID {
			return badCatalog("job %d of project %d names document %d of project %d", j.ID, j.ProjectID, d, project)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO job_documents (account_id, codyt, job_id, document_id)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, account, j.Codyt, j.ID, d); err != nil {
			return err
		}
	}
	return nil
}

func upsertGrant(ctx context.Context, tx *sql.Tx, account string, g refstore.CatalogGrant) error {
	rights, err := refstore.ParseRights(g.Rights)
	if err != nil {
		return badCatalog("%v", err)
	}
	if found, err := exists(ctx, tx, `SELECT 1 FROM users WHERE account_id = $1 AND id = $2`, account, g.UserID); err != nil {
		return err
	} else if !found {
		return badCatalog("a grant names user %d, which is not in account %s", g.UserID, account)
	}
	if g.ProjectID > 0 {
		if found, err := exists(ctx, tx, `SELECT 1 FROM projects WHERE account_id = $1 AND id = $2`, account, g.ProjectID); err != nil {
			return err
		} else if !found {
			return badCatalog("a grant names project %d, which is not in account %s", g.ProjectID, account)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO project_grants (account_id, user_id, project_id, rights)
			VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, user_id, project_id) DO UPDATE SET rights = excluded.rights`,
			account, g.UserID, g.ProjectID, int(rights))
		return err
	}
	if found, err := exists(ctx, tx, `SELECT 1 FROM jobs WHERE account_id = $1 AND codyt = $2 AND id = $3`, account, g.Codyt, g.JobID); err != nil {
		return err
	} else if !found {
		return badCatalog("a grant names job %d (codyt=%t), which is not in account %s", g.JobID, g.Codyt, account)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO job_grants (account_id, user_id, codyt, job_id, rights)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, user_id, codyt, job_id) DO UPDATE SET rights = excluded.rights`,
		account, g.UserID, g.Codyt, g.JobID, int(rights))
	return err
}

// exists reports whether a query finds a row; a failing query is an error, never "no".
func exists(ctx context.Context, q queryer, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// AccountCatalog returns one account's catalog, without keys.
func (s *Store) AccountCatalog(ctx context.Context, account string) (_ *refstore.CatalogAccount, err error) {
	defer classify(&err)
	// One snapshot for all the queries: otherwise a catalog upsert committing between two
	// of them shows entries whose parents the earlier queries did not see.
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	a := &refstore.CatalogAccount{ID: account}
	var quota, rate int64
	err = tx.QueryRowContext(ctx, `SELECT name, quota_bytes, rate_limit FROM accounts WHERE id = $1`, account).Scan(&a.Name, &quota, &rate)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, refstore.Errorf(refstore.CodeNotFound, "Account %s does not exist.", account)
	} else if err != nil {
		return nil, err
	}
	// Limits appear only when set, so that an export carries them and a plain catalog
	// reads back as it was written.
	if quota != 0 {
		a.QuotaBytes = &quota
	}
	if rate != 0 {
		a.RateLimit = &rate
	}
	if err := scanAll(ctx, tx, `SELECT id, name, email FROM users WHERE account_id = $1 ORDER BY id`,
		[]any{account}, func(r *sql.Rows) error {
			var u refstore.CatalogUser
			err := r.Scan(&u.ID, &u.Name, &u.Email)
			a.Users = append(a.Users, u)
			return err
		}); err != nil {
		return nil, err
	}
	projects := map[int64]int{}
	if err := scanAll(ctx, tx, `SELECT id, name FROM projects WHERE account_id = $1 ORDER BY id`,
		[]any{account}, func(r *sql.Rows) error {
			var p refstore.CatalogProject
			err := r.Scan(&p.ID, &p.Name)
			projects[p.ID] = len(a.Projects)
			a.Projects = append(a.Projects, p)
			return err
		}); err != nil {
		return nil, err
	}
	docs := map[int64][2]int{}
	if err := scanAll(ctx, tx, `SELECT id, project_id, name, source_locale, target_locales FROM documents
		WHERE account_id = $1 ORDER BY id`, []any{account}, func(r *sql.Rows) error {
		var project int64
		var d refstore.CatalogDocument
		var targets string
		if err := r.Scan(&d.ID, &project, &d.Name, &d.SourceLocale, &targets); err != nil {
			return err
		}
		d.TargetLocales = splitLocales(targets)
		p := &a.Projects[projects[project]]
		docs[d.ID] = [2]int{projects[project], len(p.Documents)}
		p.Documents = append(p.Documents, d)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := scanAll(ctx, tx, `SELECT id, document_id FROM segments WHERE account_id = $1 ORDER BY id`,
		[]any{account}, func(r *sql.Rows) error {
			var id, doc int64
			if err := r.Scan(&id, &doc); err != nil {
				return err
			}
			at := docs[doc]
			d := &a.Projects[at[0]].Documents[at[1]]
			d.Segments = append(d.Segments, id)
			return nil
		}); err != nil {
		return nil, err
	}
	jobs := map[[2]int64]int{}
	if err := scanAll(ctx, tx, `SELECT codyt, id, project_id FROM jobs WHERE account_id = $1 ORDER BY codyt, id`,
		[]any{account}, func(r *sql.Rows) error {
			var j refstore.CatalogJob
			err := r.Scan(&j.Codyt, &j.ID, &j.ProjectID)
			jobs[[2]int64{boolInt(j.Codyt), j.ID}] = len(a.Jobs)
			a.Jobs = append(a.Jobs, j)
			return err
		}); err != nil {
		return nil, err
	}
	if err := scanAll(ctx, tx, `SELECT codyt, job_id, document_id FROM job_documents WHERE account_id = $1
		ORDER BY codyt, job_id, document_id`, []any{account}, func(r *sql.Rows) error {
		var codyt bool
		var job, doc int64
		if err := r.Scan(&codyt, &job, &doc); err != nil {
			return err
		}
		j := &a.Jobs[jobs[[2]int64{boolInt(codyt), job}]]
		j.DocumentIDs = append(j.DocumentIDs, doc)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := scanAll(ctx, tx, `SELECT user_id, project_id, rights FROM project_grants WHERE account_id = $1
		ORDER BY user_id, project_id`, []any{account}, func(r *sql.Rows) error {
		var g refstore.CatalogGrant
		var rights int
		err := r.Scan(&g.UserID, &g.ProjectID, &rights)
		g.Rights = refstore.Rights(rights).Names()
		a.Grants = append(a.Grants, g)
		return err
	}); err != nil {
		return nil, err
	}
	if err := scanAll(ctx, tx, `SELECT user_id, codyt, job_id, rights FROM job_grants WHERE account_id = $1
		ORDER BY user_id, codyt, job_id`, []any{account}, func(r *sql.Rows) error {
		var g refstore.CatalogGrant
		var rights int
		err := r.Scan(&g.UserID, &g.Codyt, &g.JobID, &rights)
		g.Rights = refstore.Rights(rights).Names()
		a.Grants = append(a.Grants, g)
		return err
	}); err != nil {
		return nil, err
	}
	return a, nil
}

// splitLocales reads the target locales of a document: nil when there are none, so that a
// catalog without them reads back as it was written.
func splitLocales(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Accounts lists the account ids.
func (s *Store) Accounts(ctx context.Context) (_ []string, err error) {
	defer classify(&err)
	ids := []string{}
	err = scanAll(ctx, s.read, `SELECT id FROM accounts ORDER BY id`, nil, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, err
}

// RemoveEntry removes one catalog entry; foreign keys cascade to everything below it.
func (s *Store) RemoveEntry(ctx context.Context, e refstore.Entry, audit *refstore.AuditEvent) (_ []refstore.BlobRef, err error) {
	defer classify(&err)
	var query, what string
	var before []string // run first, with the account as $1
	args := []any{e.Account, e.ID}
	switch e.Kind {
	case refstore.EntryAccount:
		query, what, args = `DELETE FROM accounts WHERE id = $1`, "Account", []any{e.Account}
		// Assets and uploads reference blobs without cascading; PostgreSQL checks those
		// references before the cascade from accounts reaches them, so they go first.
		before = []string{`DELETE FROM projects WHERE account_id = $1`, `DELETE FROM users WHERE account_id = $1`}
	case refstore.EntryUser:
		query, what = `DELETE FROM users WHERE account_id = $1 AND id = $2`, "User"
	case refstore.EntryProject:
		query, what = `DELETE FROM projects WHERE account_id = $1 AND id = $2`, "Project"
	case refstore.EntryDocument:
		query, what = `DELETE FROM documents WHERE account_id = $1 AND id = $2`, "Document"
	case refstore.EntrySegment:
		query, what = `DELETE FROM segments WHERE account_id = $1 AND id = $2`, "Segment"
	case refstore.EntryJob:
		query, what = `DELETE FROM jobs WHERE account_id = $1 AND id = $2 AND codyt = $3`, "Job"
		args = append(args, e.Job.IsCodyt())
	case refstore.EntryProjectGrant:
		query, what = `DELETE FROM project_grants WHERE account_id = $1 AND project_id = $2 AND user_id = $3`, "Grant"
		args = append(args, e.UserID)
	case refstore.EntryJobGrant:
		query, what = `DELETE FROM job_grants WHERE account_id = $1 AND job_id = $2 AND codyt = $3 AND user_id = $4`, "Grant"
		args = append(args, e.Job.IsCodyt(), e.UserID)
	default:
		return nil, fmt.Errorf("unknown catalog entry kind %d", e.Kind)
	}
	var n int64
	var blobs []refstore.BlobRef
	err = s.inTxAnnounce(ctx, catalogChange(), func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range before {
			if _, err := tx.ExecContext(ctx, q, e.Account); err != nil {
				return err
			}
		}
		if e.Kind == refstore.EntryAccount {
			// The account's blobs go with it; their keys let the caller delete the bytes.
			if err := collectKeys(ctx, tx, &blobs, `DELETE FROM blobs WHERE account_id = $1 RETURNING account_id, blob_key`,
				e.Account); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if n == 0 {
			return refstore.Errorf(refstore.CodeNotFound, "%s not found.", what)
		}
		switch e.Kind {
		case refstore.EntryUser, refstore.EntryProject, refstore.EntryDocument, refstore.EntrySegment:
			// The cascade took assets (or a user's uploads) with it.
			if err := markAccountUnreferenced(ctx, tx, e.Account, time.Now()); err != nil {
				return err
			}
		}
		return recordAudit(ctx, tx, audit, nil)
	})
	if err != nil {
		return nil, err
	}
	return blobs, nil
}

// scanAll runs a query and calls fn for each row.
func scanAll(ctx context.Context, q queryer, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
