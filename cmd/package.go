package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdPackage(f *cmdutil.Factory) *cobra.Command {
	return notImplemented("package", "Build and zip every function")
}
