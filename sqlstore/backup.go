package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
)

// SnapshotSQLite writes a consistent copy of a SQLite database to dst (a new file) with
// VACUUM INTO, next to the server that may be writing it: the copy is one read
// transaction's view, and the writer is never blocked. The copy is fsynced.
func SnapshotSQLite(ctx context.Context, src, dst string) error {
	if src == "" || dst == "" {
		return errors.New("snapshot: source and destination paths are required")
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("metadata store sqlite:%s: %w", src, err)
	}
	// Read-only, but not query_only: VACUUM INTO writes only the new file.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return fmt.Errorf("metadata store sqlite:%s: %w", src, err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("copying sqlite:%s: %w", src, err)
	}
	f, err := os.Open(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
