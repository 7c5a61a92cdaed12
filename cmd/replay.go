package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdReplay(f *cmdutil.Factory) *cobra.Command {
	return notImplemented("replay", "Publish stored events to the bus again")
}
