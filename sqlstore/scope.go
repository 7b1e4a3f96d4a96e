package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/refstore/refstore"
)

// Access resolves a scope: its project, the caller's rights and the documents it covers.
// A project scope counts only project grants; a job scope counts the project grant and the
// grant on that job; a Flex document counts the project grant and the grants of every job
// covering the document.
func (s *Store) Access(ctx context.Context, p refstore.Principal, sc refstore.Scope) (_ refstore.Access, err error) {
	defer classify(&err)
	var acc refstore.Access
	var rights int
	switch sc.Kind {
	case refstore.ScopeProject:
		acc.ProjectID = sc.ID
		err = s.read.QueryRowContext(ctx, `SELECT COALESCE(g.rights, 0) FROM projects p
			LEFT JOIN project_grants g ON g.account_id = p.account_id AND g.project_id = p.id AND g.user_id = $2
			WHERE p.account_id = $1 AND p.id = $3`, p.Account, p.UserID, sc.ID).Scan(&rights)
	case refstore.ScopeStandardJob, refstore.ScopeCodytJob:
		codyt := sc.Kind == refstore.ScopeCodytJob
		var jobRights int
		err = s.read.QueryRowContext(ctx, `SELECT j.project_id, COALESCE(pg.rights, 0), COALESCE(jg.rights, 0) FROM jobs j
			LEFT JOIN project_grants pg ON pg.account_id = j.account_id AND pg.project_id = j.project_id AND pg.user_id = $2
			LEFT JOIN job_grants jg ON jg.account_id = j.account_id AND jg.codyt = j.codyt AND jg.job_id = j.id AND jg.user_id = $2
			WHERE j.account_id = $1 AND j.codyt = $3 AND j.id = $4`, p.Account, p.UserID, codyt, sc.ID).
			Scan(&acc.ProjectID, &rights, &jobRights)
		if err == nil {
			rights |= jobRights
			acc.Documents = []int64{}
			err = scanAll(ctx, s.read, `SELECT document_id FROM job_documents
				WHERE account_id = $1 AND codyt = $2 AND job_id = $3 ORDER BY document_id`,
				[]any{p.Account, codyt, sc.ID}, func(r *sql.Rows) error {
					var d int64
					err := r.Scan(&d)
					acc.Documents = append(acc.Documents, d)
					return err
				})
		}
	case refstore.ScopeDocument:
		err = s.read.QueryRowContext(ctx, `SELECT project_id FROM documents WHERE account_id = $1 AND id = $2`,
			p.Account, sc.ID).Scan(&acc.ProjectID)
		if err == nil {
			var r refstore.Rights
			r, err = s.DocumentRights(ctx, p, sc.ID)
			rights = int(r)
			acc.Documents = []int64{sc.ID}
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return acc, refstore.Errorf(refstore.CodeScopeNotFound, "The scope %s does not exist.", sc)
	}
	acc.Rights = refstore.Rights(rights)
	return acc, err
}

// DocumentRights ORs the caller's project grant on the document's project with the grants
// of every job that covers the document.
func (s *Store) DocumentRights(ctx context.Context, p refstore.Principal, documentID int64) (_ refstore.Rights, err error) {
	defer classify(&err)
	var rights refstore.Rights
	err = scanAll(ctx, s.read, `SELECT g.rights FROM documents d
		JOIN project_grants g ON g.account_id = d.account_id AND g.project_id = d.project_id AND g.user_id = $2
		WHERE d.account_id = $1 AND d.id = $3
		UNION ALL
		SELECT g.rights FROM job_documents jd
		JOIN job_grants g ON g.account_id = jd.account_id AND g.codyt = jd.codyt AND g.job_id = jd.job_id AND g.user_id = $2
		WHERE jd.account_id = $1 AND jd.document_id = $3`, []any{p.Account, p.UserID, documentID},
		func(r *sql.Rows) error {
			var v int
			err := r.Scan(&v)
			rights |= refstore.Rights(v)
			return err
		})
	return rights, err
}

// Segment places one segment in its document and project.
func (s *Store) Segment(ctx context.Context, account string, id int64) (_ refstore.SegmentRef, err error) {
	defer classify(&err)
	ref := refstore.SegmentRef{ID: id}
	err = s.read.QueryRowContext(ctx, `SELECT s.document_id, d.project_id FROM segments s
		JOIN documents d ON d.account_id = s.account_id AND d.id = s.document_id
		WHERE s.account_id = $1 AND s.id = $2`, account, id).Scan(&ref.DocumentID, &ref.ProjectID)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, refstore.Errorf(refstore.CodeSegmentNotFound, "Segment %d does not exist.", id)
	}
	return ref, err
}

// Segments places several segments; unknown ids are left out.
func (s *Store) Segments(ctx context.Context, account string, ids []int64) (_ []refstore.SegmentRef, err error) {
	defer classify(&err)
	refs := make([]refstore.SegmentRef, 0, len(ids))
	if len(ids) == 0 {
		return refs, nil // "IN ()" is a syntax error on PostgreSQL
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, account)
	for _, id := range ids {
		args = append(args, id)
	}
	err = scanAll(ctx, s.read, `SELECT s.id, s.document_id, d.project_id FROM segments s
		JOIN documents d ON d.account_id = s.account_id AND d.id = s.document_id
		WHERE s.account_id = $1 AND s.id IN (`+placeholders(2, len(ids))+`)`, args, func(r *sql.Rows) error {
		var ref refstore.SegmentRef
		err := r.Scan(&ref.ID, &ref.DocumentID, &ref.ProjectID)
		refs = append(refs, ref)
		return err
	})
	return refs, err
}
