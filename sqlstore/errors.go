package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/refstore/refstore"
)

// classify turns the failures of an unreachable or struggling database into the domain's
// 503 (and a full disk into 507), so that callers see "try again" rather than a bare 500.
// Domain errors and everything else pass through unchanged.
func classify(errp *error) {
	err := *errp
	if err == nil {
		return
	}
	var de *refstore.Error
	if errors.As(err, &de) || errors.Is(err, sql.ErrNoRows) || errors.Is(err, context.Canceled) {
		return
	}
	unavailable := func() {
		*errp = &refstore.Error{Code: refstore.CodeUnavailable, Message: "The metadata store is unavailable.", Err: err}
	}
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var liteErr *sqlite.Error
	switch {
	case errors.As(err, &pgErr):
		// Class 08: connection exceptions; 53: insufficient resources; 57P0x: the server
		// is shutting down or starting.
		if strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") || strings.HasPrefix(pgErr.Code, "57P0") {
			unavailable()
		}
	case errors.As(err, &connErr), errors.As(err, &netErr), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, context.DeadlineExceeded), pgconn.SafeToRetry(err),
		strings.Contains(err.Error(), "conn closed"):
		unavailable()
	case errors.As(err, &liteErr):
		switch liteErr.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			// A full disk, or a database on storage that became read-only: 507, as the
			// blob store's ENOSPC and EROFS.
			*errp = &refstore.Error{Code: refstore.CodeStorageFull, Message: "Insufficient storage.", Err: err}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			unavailable()
		}
	}
}

// isForeignKeyViolation reports a write refused because a row it removes is still
// referenced (or one it adds references nothing).
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		return liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY || liteErr.Code()&0xff == sqlite3.SQLITE_CONSTRAINT &&
			strings.Contains(liteErr.Error(), "FOREIGN KEY")
	}
	return false
}
