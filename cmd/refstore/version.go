package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/refstore/refstore/internal/buildinfo"
)

func versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print the version, commit and Go version of this build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Read()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(info)
			}
			return printVersion(cmd.OutOrStdout(), info)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object, for scripts")
	return cmd
}

func printVersion(w io.Writer, i buildinfo.Info) error {
	fmt.Fprintf(w, "refstore %s\n", i.Version)
	if i.Revision != "" {
		mod := ""
		if i.Modified {
			mod = " (modified)"
		}
		fmt.Fprintf(w, "  commit:     %s%s\n", i.Revision, mod)
	}
	if i.CommitTime != "" {
		fmt.Fprintf(w, "  committed:  %s\n", i.CommitTime)
	}
	if i.BuildTime != "" {
		fmt.Fprintf(w, "  built:      %s\n", i.BuildTime)
	}
	_, err := fmt.Fprintf(w, "  go:         %s %s/%s\n", i.GoVersion, i.OS, i.Arch)
	return err
}
