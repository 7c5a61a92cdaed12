package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdInit(f *cmdutil.Factory) *cobra.Command {
	return notImplemented("init NAME", "Scaffold a project from a template")
}
