package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/service"
	"github.com/refstore/refstore/transfer"
)

func exportCommand() *cobra.Command {
	var (
		stores              storeURLs
		account, out, zipTo string
		project             int64
		logFormat, logLevel string
	)
	cmd := &cobra.Command{
		Use:   "export [--account A [--project P]] (--out DIR | --zip FILE)",
		Short: "Write the reference material in its on-disk layout with a manifest, from any backends",
		Long: `Writes every account's (or one account's, or one project's) reference material as the
on-disk layout of docs/api.md, accounts/{a}/projects/{p}/assets/{documentId}/{segmentId%1000}/{segmentId}/
[{locale}/][{relativePath}/]{name}, plus the manifest refstore-export.json (catalog, API key
hashes, every asset's id, address, content type and dates), into a new directory or as a zip
(--zip - streams it to stdout). It only reads, and runs while servers use the same backends.`,
		Args: cobra.NoArgs,
	}
	f := envFlags{fs: cmd.Flags()}
	f.storeFlags(&stores)
	f.String(&logFormat, "log-format", "text", "log format: text or json")
	f.String(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().StringVar(&account, "account", "", "export only this account")
	cmd.Flags().Int64Var(&project, "project", 0, "export only this project of --account")
	cmd.Flags().StringVar(&out, "out", "", "write the export into this directory (new or empty)")
	cmd.Flags().StringVar(&zipTo, "zip", "", "write the export as a zip file; - streams it to stdout")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.err != nil {
			return f.err
		}
		switch {
		case (out == "") == (zipTo == ""):
			return errors.New("give exactly one of --out DIR and --zip FILE")
		case project != 0 && account == "":
			return errors.New("--project needs --account")
		case zipTo == "-" && isTerminal(os.Stdout):
			return errors.New("--zip - writes a zip to stdout, which is a terminal: redirect it to a file or a pipe")
		}
		log, err := newLogger(logFormat, logLevel)
		if err != nil {
			return err
		}
		ctx, stop := signalContext(cmd.Context())
		defer stop()
		st, err := openStoresReadOnly(ctx, stores)
		if err != nil {
			return err
		}
		defer st.Close()
		src := transfer.Source{Meta: st.meta, Blobs: st.blobs}
		opts := transfer.ExportOptions{Account: account, Project: project, Log: log}
		var stats transfer.ExportStats
		switch {
		case out != "":
			stats, err = transfer.ExportDir(ctx, src, opts, out)
		case zipTo == "-":
			stats, err = transfer.ExportZip(ctx, src, opts, os.Stdout)
		default:
			stats, err = transfer.ExportZipFile(ctx, src, opts, zipTo)
		}
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		log.Info("exported", "accounts", stats.Accounts, "assets", stats.Assets, "bytes", stats.Bytes,
			"deleted_meanwhile", stats.Skipped)
		return nil
	}
	return cmd
}

func importCommand() *cobra.Command {
	var (
		stores              storeURLs
		from, account       string
		logFormat, logLevel string
	)
	cmd := &cobra.Command{
		Use:   "import --from (DIR | FILE.zip) [--account A]",
		Short: "Load an export (a directory or a zip file) into any backends",
		Long: `Loads what refstore export wrote into the backends named by --data, --metadata and
--blobs: the catalog and the API keys (users' keys keep working), then every asset with its
id, address, content type and dates, its bytes checked against the manifest's size and SHA-256.
An asset already at an address is replaced; running an import again is a no-op. On the
embedded default the server must be stopped; on PostgreSQL nodes may keep serving.`,
		Args: cobra.NoArgs,
	}
	f := envFlags{fs: cmd.Flags()}
	f.storeFlags(&stores)
	f.String(&logFormat, "log-format", "text", "log format: text or json")
	f.String(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().StringVar(&from, "from", "", "the export: a directory, or a zip file")
	cmd.Flags().StringVar(&account, "account", "", "import only this account of the export")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.err != nil {
			return f.err
		}
		switch from {
		case "":
			return errors.New("--from is required: the export's directory or zip file")
		case "-":
			return errors.New("--from -: a zip is read from its end, so save a streamed export to a file first")
		}
		log, err := newLogger(logFormat, logLevel)
		if err != nil {
			return err
		}
		ctx, stop := signalContext(cmd.Context())
		defer stop()
		ar, err := transfer.OpenArchive(from)
		if err != nil {
			return err
		}
		defer ar.Close()
		st, err := openStores(ctx, stores)
		if errors.Is(err, filestore.ErrInUse) {
			return fmt.Errorf("%w: a refstore server is running on it; stop it, import, then start it again "+
				"(export, which only reads, can run while it serves)", err)
		} else if err != nil {
			return err
		}
		defer st.Close()
		svc := service.New(st.meta, st.blobs, service.Config{DeleteGrace: st.deleteGrace(-1)}, log)
		if err := recoverUnclean(ctx, svc, st, svc.Config().OrphanGrace, log); err != nil {
			return err
		}
		stats, err := transfer.Import(ctx, transfer.Target{Service: svc, Meta: st.meta}, ar,
			transfer.ImportOptions{Account: account, Log: log})
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		log.Info("imported", "accounts", stats.Accounts, "assets", stats.Assets, "assets_stored", stats.Stored,
			"bytes_stored", stats.Bytes, "assets_replaced", stats.Replaced, "assets_unchanged", stats.Unchanged)
		return nil
	}
	return cmd
}

// signalContext ends on SIGINT or SIGTERM, so that an interrupted export removes what it
// wrote.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
