package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdTail(f *cmdutil.Factory) *cobra.Command {
	return notImplemented("tail", "Follow the logs of many functions, grouped by correlation ID")
}
