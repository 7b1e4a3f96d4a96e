package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/refstore/refstore"
)

// The reads behind the routes Wordbee connectors call first (persons, Flex documents) and
// the memories.ai download, which authenticates by API key.

// KeyOwner finds the account and user owning an API key. Key hashes are the primary key of
// api_keys, so one key names one user of one account.
func (s *Store) KeyOwner(ctx context.Context, keyHash string) (account string, userID int64, err error) {
	defer classify(&err)
	err = s.read.QueryRowContext(ctx, `SELECT account_id, user_id FROM api_keys WHERE hash = $1`, keyHash).
		Scan(&account, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, refstore.Errorf(refstore.CodeUnauthorized, "The API key is not valid.")
	}
	return account, userID, err
}

// Users lists an account's users by id.
func (s *Store) Users(ctx context.Context, account string) (_ []refstore.CatalogUser, err error) {
	defer classify(&err)
	users := []refstore.CatalogUser{}
	err = scanAll(ctx, s.read, `SELECT id, name, email FROM users WHERE account_id = $1 ORDER BY id`,
		[]any{account}, func(r *sql.Rows) error {
			var u refstore.CatalogUser
			err := r.Scan(&u.ID, &u.Name, &u.Email)
			users = append(users, u)
			return err
		})
	return users, err
}

// documentColumns are the columns scanDocument reads, from documents d.
const documentColumns = `d.id, d.project_id, d.name, d.source_locale, d.target_locales`

func scanDocument(r interface{ Scan(...any) error }) (refstore.DocumentInfo, error) {
	var d refstore.DocumentInfo
	var targets string
	err := r.Scan(&d.ID, &d.ProjectID, &d.Name, &d.SourceLocale, &targets)
	d.TargetLocales = splitLocales(targets)
	return d, err
}

// Document describes one document of an account.
func (s *Store) Document(ctx context.Context, account string, id int64) (_ refstore.DocumentInfo, err error) {
	defer classify(&err)
	d, err := scanDocument(s.read.QueryRowContext(ctx, `SELECT `+documentColumns+` FROM documents d
		WHERE d.account_id = $1 AND d.id = $2`, account, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, refstore.Errorf(refstore.CodeScopeNotFound, "Document %d does not exist.", id)
	}
	return d, err
}

// ReadableDocuments lists the documents the caller may read, as DocumentRights decides
// for one: the project grant of its project, or the grant of a job that covers it.
func (s *Store) ReadableDocuments(ctx context.Context, p refstore.Principal) (_ []refstore.DocumentInfo, err error) {
	defer classify(&err)
	docs := []refstore.DocumentInfo{}
	err = scanAll(ctx, s.read, `SELECT `+documentColumns+` FROM documents d
		WHERE d.account_id = $1 AND (
			EXISTS (SELECT 1 FROM project_grants g WHERE g.account_id = d.account_id AND g.project_id = d.project_id
				AND g.user_id = $2 AND (g.rights & $3) <> 0)
			OR EXISTS (SELECT 1 FROM job_documents jd
				JOIN job_grants g ON g.account_id = jd.account_id AND g.codyt = jd.codyt AND g.job_id = jd.job_id
				WHERE jd.account_id = d.account_id AND jd.document_id = d.id AND g.user_id = $2 AND (g.rights & $3) <> 0))
		ORDER BY d.id`, []any{p.Account, p.UserID, int(refstore.RightRead)}, func(r *sql.Rows) error {
		d, err := scanDocument(r)
		docs = append(docs, d)
		return err
	})
	return docs, err
}

// SegmentCounts counts the segments of documents.
func (s *Store) SegmentCounts(ctx context.Context, account string, documentIDs []int64) (_ map[int64]int64, err error) {
	defer classify(&err)
	counts := make(map[int64]int64, len(documentIDs))
	if len(documentIDs) == 0 {
		return counts, nil // "IN ()" is a syntax error on PostgreSQL
	}
	args := make([]any, 0, len(documentIDs)+1)
	args = append(args, account)
	for _, id := range documentIDs {
		args = append(args, id)
	}
	err = scanAll(ctx, s.read, `SELECT d.id, COUNT(s.id) FROM documents d
		LEFT JOIN segments s ON s.account_id = d.account_id AND s.document_id = d.id
		WHERE d.account_id = $1 AND d.id IN (`+placeholders(2, len(documentIDs))+`)
		GROUP BY d.id`, args, func(r *sql.Rows) error {
		var id, n int64
		err := r.Scan(&id, &n)
		counts[id] = n
		return err
	})
	return counts, err
}
