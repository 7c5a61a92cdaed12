package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdSend(f *cmdutil.Factory) *cobra.Command {
	return notImplemented("send EVENT.json", "Put events on the bus")
}
