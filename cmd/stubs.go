package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

// notImplemented builds a command that a later issue fills in.
func notImplemented(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(c *cobra.Command, args []string) error {
			return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Msg: c.CommandPath() + ": not implemented yet"}
		},
	}
}
