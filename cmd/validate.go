package cmd

import (
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

func newCmdValidate(f *cmdutil.Factory) *cobra.Command {
	return notImplemented("validate", "Check evcli.yaml")
}
