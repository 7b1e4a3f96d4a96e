// Command refstore runs the reference-media service.
//
//	refstore serve            the embedded default: ./refstore-data, 127.0.0.1:8080
//	refstore export           the reference material as the SPEC's layout, with a manifest
//	refstore import           loads an export into any backends
//	refstore fsck             checks the metadata against the stored bytes
//	refstore backup           snapshots the embedded default while it serves
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "refstore",
		Short:         "Reference media for translation segments, behind a Wordbee-compatible API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), exportCommand(), importCommand(), fsckCommand(), backupCommand())
	err := root.Execute()
	logOutput.Flush()
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "refstore:", ee.err)
		}
		os.Exit(ee.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "refstore:", err)
		os.Exit(1)
	}
}
