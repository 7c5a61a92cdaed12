package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdDeploy(f *cmdutil.Factory) *cobra.Command {
	return notImplemented("deploy", "Package, plan and deploy functions and rules")
}
