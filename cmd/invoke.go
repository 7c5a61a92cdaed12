package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdInvoke(f *cmdutil.Factory) *cobra.Command {
	return notImplemented("invoke FUNCTION", "Call one function")
}
