package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdLocal(f *cmdutil.Factory) *cobra.Command {
	c := &cobra.Command{Use: "local", Short: "Run the local provider"}
	c.AddCommand(notImplemented("serve", "Run the local runtime, bus and endpoints in the foreground"))
	return c
}
