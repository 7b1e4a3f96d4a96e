// Command refstore runs the reference-media service.
//
//	refstore serve            the embedded default: ./refstore-data, 127.0.0.1:8080
//	refstore export           the reference material as its on-disk layout, with a manifest
//	refstore import           loads an export into any backends
//	refstore fsck             checks the metadata against the stored bytes
//	refstore backup           snapshots the embedded default while it serves
//	refstore version          the build: version, commit, Go version
//	refstore healthcheck      exit 0 when a server answers /healthz (container HEALTHCHECKs)
//
// serve takes --config FILE (REFSTORE_CONFIG): a YAML file of its settings, keyed by flag
// name, under the flags and the REFSTORE_* environment (deploy/refstore.yaml); the other
// commands read the same file for the settings they share with serve.
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
	root.SetFlagErrorFunc(flagError)
	// The commands that open the stores, and healthcheck, read serve's configuration file
	// too, taking the settings they share with it (data, metadata, blobs, log format …).
	shared := serveFlagNames()
	root.AddCommand(withConfig(serveCommand()), withConfig(exportCommand(), shared...),
		withConfig(importCommand(), shared...), exitCode(2, withConfig(fsckCommand(), shared...)),
		withConfig(backupCommand(), shared...), versionCommand(), withConfig(healthcheckCommand(), shared...))
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
