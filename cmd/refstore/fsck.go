package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/fsck"
)

// exitError ends the process with a status of its own.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func fsckCommand() *cobra.Command {
	var (
		stores                    storeURLs
		repair, quick             bool
		orphanGrace, expiredGrace time.Duration
		deleteGrace               time.Duration
	)
	cmd := &cobra.Command{
		Use:   "fsck [--repair] [--quick]",
		Short: "Check the metadata against the stored bytes; --repair fixes what can be fixed without losing data",
		Long: `Checks that every blob the metadata records is stored with its size and SHA-256 (--quick:
size only), that no stored bytes lack metadata, that no expired file tokens or files of
interrupted writes (tmp/, S3 multipart uploads) are left, and that the reference-material
tree matches the metadata. Prints one line per problem, then a summary line.

Exit status: 0 clean (or everything repaired), 1 problems found (or left unrepaired),
2 fsck could not run.

Without --repair it only reads, and runs next to running servers (the embedded default
included). --repair removes orphan bytes, expired file tokens and leftovers, relinks the
tree and brings back a lost blob from the tree's copy when it has one; it never removes
metadata that names lost or damaged bytes: those are reported as NOT repaired. On the
embedded default --repair needs the server stopped; on a shared backend it runs next to
live nodes and only removes unnamed bytes older than --orphan-grace (the tree is relinked
only when no node uses the data directory).`,
		Args: cobra.NoArgs,
	}
	f := envFlags{fs: cmd.Flags()}
	f.storeFlags(&stores)
	cmd.Flags().BoolVar(&repair, "repair", false, "fix what can be fixed without losing data")
	cmd.Flags().BoolVar(&quick, "quick", false, "compare sizes only: do not read and hash every blob")
	cmd.Flags().Var(newDuration(&orphanGrace, time.Hour, ""), "orphan-grace",
		"while other processes may write, bytes no metadata names are a problem once this old (and S3 multipart uploads)")
	cmd.Flags().Var(newDuration(&expiredGrace, 10*time.Minute, ""), "expired-grace",
		"file tokens expired less than this ago are left to the servers' sweeper")
	cmd.Flags().Var(newDuration(&deleteGrace, -1, "as serve"), "delete-grace",
		"as serve --delete-grace, for bytes a repair unreferences (default 0 on files, 15m on S3)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{2, err} })
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.err != nil {
			return &exitError{2, f.err}
		}
		ctx, stop := signalContext(cmd.Context())
		defer stop()
		st, exclusive, err := openFsckStores(ctx, stores, repair)
		if err != nil {
			return &exitError{2, err}
		}
		cfg := fsck.Config{Repair: repair, Quick: quick, Exclusive: exclusive, OrphanGrace: orphanGrace,
			ExpiredGrace: expiredGrace, DeleteGrace: st.deleteGrace(deleteGrace)}
		rep, err := fsck.Run(ctx, fsck.Stores{Meta: st.meta, Blobs: st.blobs, Caps: refstore.BlobCapabilitiesOf(st.blobs)}, cfg)
		for _, p := range rep.Problems {
			fmt.Println(p.String())
		}
		if cerr := st.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing the stores: %w", cerr)
		}
		if err != nil {
			return &exitError{2, fmt.Errorf("fsck: %w", err)}
		}
		fmt.Println(rep.Summary())
		if rep.Unrepaired() > 0 {
			return &exitError{code: 1}
		}
		return nil
	}
	return cmd
}

// openFsckStores opens the stores read-only for a check, and for writing for a repair.
// exclusive says no server uses them.
func openFsckStores(ctx context.Context, u storeURLs, repair bool) (*stores, bool, error) {
	if !repair {
		st, err := openStoresReadOnly(ctx, u)
		if err != nil {
			return nil, false, err
		}
		// Only the embedded default is one process's: a stopped cluster's young unnamed bytes
		// are left to its orphan sweep, as while it runs.
		return st, u.embedded() && st.files != nil && st.files.Idle(), nil
	}
	if !strings.HasPrefix(u.blobsURL(), "file:") {
		st, err := openStores(ctx, u)
		return st, false, err
	}
	// Alone on the data directory when no node holds it, shared with them otherwise.
	st, err := openStoresMode(ctx, u, storeMode{exclusive: true})
	if errors.Is(err, filestore.ErrInUse) {
		if u.embedded() {
			return nil, false, fmt.Errorf("%w: a refstore server is running on it; stop it for --repair "+
				"(fsck without --repair runs next to it)", err)
		}
		st, err = openStores(ctx, u)
		return st, false, err
	}
	return st, err == nil, err
}
