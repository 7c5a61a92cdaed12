package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
)

type rollbackOptions struct {
	Function string
	To       string
}

func newCmdRollback(f *cmdutil.Factory) *cobra.Command {
	var o rollbackOptions
	c := &cobra.Command{
		Use:   "rollback FUNCTION [--to VERSION]",
		Short: "Point a function's live alias back at an earlier version",
		Long: `Move the alias "live" of one function back to an earlier published version: the
version before the current one, or the one --to names. Only the alias moves: nothing is
built or uploaded, and the event rules, which target the alias, follow at once. A later
evcli deploy publishes a new version and moves live forward again.

Rollback needs published versions, so it works on AWS; the local provider keeps only the
deployed code and says so.`,
		Example: `  evcli rollback inventory
  evcli rollback inventory --to 6 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Function = args[0]
			if c.Flags().Changed("to") && !isVersionNumber(o.To) {
				return cmdutil.UsageError("--to %q: name a published version number, e.g. --to 6", o.To)
			}
			return runRollback(c.Context(), f, o)
		},
	}
	c.Flags().StringVar(&o.To, "to", "", "version to point live at (default: the one before the current)")
	return c
}

func isVersionNumber(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != "0" && !strings.HasPrefix(s, "0")
}

func runRollback(ctx context.Context, f *cmdutil.Factory, o rollbackOptions) (err error) {
	p, err := f.Project()
	if err != nil {
		return err
	}
	if err := checkFunctionName(p.Path, o.Function, p.Functions); err != nil {
		return err
	}
	prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityRollback})
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiterOf(f), prov, &err)
	from, to, err := prov.Rollbacker.Rollback(ctx, o.Function, o.To)
	if err != nil {
		return err
	}
	if f.Globals.JSON() {
		return cmdutil.NewJSONLines(f.IO.Out, "rollback").Write(map[string]string{"type": "rollback", "function": o.Function, "alias": "live", "from": from, "to": to})
	}
	fmt.Fprintf(f.IO.Out, "%s: live %s -> %s\n", o.Function, from, to)
	return nil
}
