package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// groupCommit runs the write transactions of concurrent callers together on SQLite's one
// writer connection: what arrives while a commit is being made durable goes into the next
// transaction, each caller's work inside a savepoint of its own, and one commit — one
// fsync — makes them all durable. A caller whose work fails is rolled back to its
// savepoint alone; a commit that fails fails them all. Alone, a caller gets a plain
// transaction, so a single writer pays nothing for this.
//
// The callers' work runs detached from their cancellation: SQLite answers a cancelled
// statement by interrupting the connection, and an interrupted write rolls back the whole
// transaction, with every other caller's work in it. A caller that gives up before its
// turn is skipped; once its work has started, it completes (or fails) like any other.
type groupCommit struct {
	db        *sql.DB
	reqs      chan *txRequest
	done      chan struct{}
	closeOnce sync.Once
}

type txRequest struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sql.Tx) error
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
// committed (or failed). fn gets ctx without its cancellation (its values stay).
func (g *groupCommit) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
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

// call runs a caller's work, detached from its cancellation; a panic becomes that
// caller's error instead of ending the process (the work runs on the group's goroutine,
// outside any recovery of the caller's).
func (r *txRequest) call(tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlstore: panic in a write transaction: %v\n%s", p, debug.Stack())
		}
	}()
	return r.fn(context.WithoutCancel(r.ctx), tx)
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
	// failAll ends a transaction that can no longer be trusted: every caller fails, those
	// whose work had succeeded with the reason.
	failAll := func(tx *sql.Tx, err error) {
		tx.Rollback()
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		finish(nil)
	}
	// The transaction is not bound to one caller's context: a caller that gives up must
	// not take the others' work with it.
	tx, err := g.db.BeginTx(context.Background(), nil)
	if err != nil {
		finish(err)
		return
	}
	if len(group) == 1 {
		if errs[0] = group[0].call(tx); errs[0] != nil {
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
			errs[i] = err // gave up before its turn: nothing of it ran
			continue
		}
		if _, err := tx.Exec("SAVEPOINT caller"); err != nil {
			failAll(tx, fmt.Errorf("sqlstore: starting a caller's savepoint: %w", err))
			return
		}
		if errs[i] = r.call(tx); errs[i] != nil {
			if _, err := tx.Exec("ROLLBACK TO caller"); err != nil {
				failAll(tx, fmt.Errorf("sqlstore: rolling back a failed caller's work (%v): %w", errs[i], err))
				return
			}
		} else {
			succeeded++
		}
		if _, err := tx.Exec("RELEASE caller"); err != nil {
			failAll(tx, fmt.Errorf("sqlstore: releasing a caller's savepoint: %w", err))
			return
		}
	}
	if succeeded == 0 {
		tx.Rollback()
		finish(nil)
		return
	}
	finish(tx.Commit())
}
