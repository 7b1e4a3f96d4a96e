package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/refstore/refstore/internal/config"
)

// withConfig gives cmd a --config flag (REFSTORE_CONFIG): a YAML file whose keys are the
// command's flag names. The file is applied after the command line is parsed, under it and
// under the environment, so precedence is flags > REFSTORE_* > file > defaults. Unknown
// keys and bad values stop the command with the file, line and key.
func withConfig(cmd *cobra.Command, ignored ...string) *cobra.Command {
	var path string
	f := envFlags{fs: cmd.Flags()}
	f.String(&path, "config", "", "YAML file of settings, keyed by these flag names (flags and REFSTORE_* win over it)")
	pre := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if path != "" {
			opts := config.Options{EnvPrefix: envPrefix, Reserved: []string{"config", "help"}, Ignored: ignored}
			if err := config.Apply(cmd.Flags(), path, opts); err != nil {
				return err
			}
		}
		if pre != nil {
			return pre(cmd, args)
		}
		return nil
	}
	return cmd
}

// serveFlagNames are the keys a configuration file for serve may hold: other commands
// reading the same file accept them and leave those they do not take alone.
func serveFlagNames() []string {
	var names []string
	serveCommand().Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	return names
}

// exitCode makes an error of cmd's configuration file end the process with code (fsck's
// "could not run" is 2).
func exitCode(code int, cmd *cobra.Command) *cobra.Command {
	pre := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		if err := pre(cmd, args); err != nil {
			return &exitError{code, err}
		}
		return nil
	}
	return cmd
}
