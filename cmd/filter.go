package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdFilter(f *cmdutil.Factory) *cobra.Command {
	c := &cobra.Command{Use: "filter", Short: "Test and validate EventBridge event patterns"}
	c.AddCommand(notImplemented("test", "Evaluate event patterns against events"))
	return c
}
