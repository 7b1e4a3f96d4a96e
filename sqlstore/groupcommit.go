package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// groupCommit runs the write transactions of concurrent callers together on SQLite's one
// writer connection: what arrives while a commit is being made durable goes into the next
// transaction, each caller's work inside a savepoint of its own, and one commit — one
// fsync — makes them all durable. A caller whose work fails is rolled back to its
// savepoint alone; a commit that fails fails them all. Alone, a caller gets a plain
// transaction, so a single writer pays nothing for this.
type groupCommit struct {
	db        *sql.DB
	reqs      chan *txRequest
	done      chan struct{}
	closeOnce sync.Once
}

type txRequest struct {
	ctx context.Context
	fn  func(tx *sql.Tx) error
	err chan error
}

// maxGroup bounds how many callers share one transaction, so that one commit never
// waits for an unbounded amount of work.
const maxGroup = 64

func newGroupCommit(db *sql.DB) *groupCommit {
	g := &groupCommit{db: db, reqs: make(chan *txRequest), done: make(chan struct{})}
	go g.run()
	return g
}

// do runs fn in a write transaction shared with concurrent callers and returns once it is
// committed (or failed).
func (g *groupCommit) do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	r := &txRequest{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.done:
		return errors.New("sqlstore: closed")
	}
	return <-r.err
}

func (g *groupCommit) close() { g.closeOnce.Do(func() { close(g.done) }) }

func (g *groupCommit) run() {
	for {
		var first *txRequest
		select {
		case first = <-g.reqs:
		case <-g.done:
			return
		}
		group := []*txRequest{first}
	collect:
		for len(group) < maxGroup {
			select {
			case r := <-g.reqs:
				group = append(group, r)
			default:
				break collect
			}
		}
		g.commit(group)
	}
}

func (g *groupCommit) commit(group []*txRequest) {
	errs := make([]error, len(group))
	finish := func(commitErr error) {
		for i, r := range group {
			if errs[i] == nil {
				errs[i] = commitErr
			}
			r.err <- errs[i]
		}
	}
	// The transaction is not bound to one caller's context: a caller that gives up must
	// not take the others' work with it.
	tx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		finish(err)
		return
	}
	if len(group) == 1 {
		if errs[0] = group[0].fn(tx); errs[0] != nil {
			tx.Rollback()
			finish(nil)
			return
		}
		finish(tx.Commit())
		return
	}
	succeeded := 0
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.Exec("SAVEPOINT caller"); err != nil {
			errs[i] = err
			continue
		}
		if errs[i] = r.fn(tx); errs[i] != nil {
			if _, err := tx.Exec("ROLLBACK TO caller"); err != nil {
				// The transaction cannot be trusted any more: fail the whole group.
				tx.Rollback()
				for j := range errs {
					if errs[j] == nil {
						errs[j] = err
					}
				}
				finish(nil)
				return
			}
		} else {
			succeeded++
		}
		tx.Exec("RELEASE caller")
	}
	if succeeded == 0 {
		tx.Rollback()
		finish(nil)
		return
	}
	finish(tx.Commit())
}
