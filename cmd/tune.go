package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdTune(f *cmdutil.Factory) *cobra.Command {
	c := &cobra.Command{Use: "tune", Short: "Right-size functions from observed metrics"}
	c.AddCommand(notImplemented("memory", "Recommend and apply Lambda memory"))
	return c
}
