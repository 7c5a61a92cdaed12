package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/replay"
)

// registerCompletions gives shell completion the values evcli knows:
// the enum flags everywhere, and the project's function names for
// --function, --rule and the commands that take a function argument, and
// the recorded replays for --resume. Completion never fails loudly: a
// project that does not load completes nothing.
func registerCompletions(f *cmdutil.Factory, root *cobra.Command) {
	fixed := func(vals ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp)
	}
	_ = root.RegisterFlagCompletionFunc("output", fixed("text", "json"))
	_ = root.RegisterFlagCompletionFunc("provider", fixed("local", "aws", "gcp", "azure"))
	_ = root.RegisterFlagCompletionFunc("color", fixed("auto", "always", "never"))
	functions := func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		p, err := f.Project()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, fn := range p.Functions {
			names = append(names, fn.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
	replays := func(c *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		p, err := f.Project()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := context.Background()
		prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityState})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer prov.Close(ctx)
		recs, err := replay.List(ctx, replay.KVCheckpoints{KV: prov.State})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, r := range recs {
			names = append(names, r.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
	workflows := func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		p, err := f.Project()
		if err != nil || len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, w := range p.Workflows {
			names = append(names, w.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, name := range []string{"function", "rule"} {
			if c.LocalFlags().Lookup(name) != nil {
				if _, ok := c.GetFlagCompletionFunc(name); !ok {
					_ = c.RegisterFlagCompletionFunc(name, functions)
				}
			}
		}
		if c.LocalFlags().Lookup("strategy") != nil {
			_ = c.RegisterFlagCompletionFunc("strategy", fixed("cost", "speed", "balanced"))
		}
		if c.LocalFlags().Lookup("resume") != nil {
			_ = c.RegisterFlagCompletionFunc("resume", replays)
		}
		switch c.CommandPath() {
		case "evcli invoke", "evcli tail", "evcli rollback":
			if c.ValidArgsFunction == nil {
				c.ValidArgsFunction = functions
			}
		case "evcli workflow show", "evcli workflow start", "evcli workflow run", "evcli workflow executions":
			if c.ValidArgsFunction == nil {
				c.ValidArgsFunction = workflows
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
