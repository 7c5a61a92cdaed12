package cmd

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local"
	"github.com/evcli/evcli/providers/local/store"
)

type deployOptions struct {
	Functions        []string
	DryRun           bool
	Prune            bool
	DetailedExitCode bool
	Concurrency      int
}

func newCmdDeploy(f *cmdutil.Factory) *cobra.Command {
	var o deployOptions
	c := &cobra.Command{
		Use:   "deploy",
		Short: "Package, plan and deploy functions and rules",
		Long: `Package every function (deterministic zips), compare them with what the provider has
deployed, show the plan (create / update with the fields that change / unchanged) and
apply it, functions in parallel. An unchanged function is not touched.

With --dry-run the plan is printed and nothing changes; --detailed-exitcode then exits 2
when there are changes. --prune also deletes functions this project no longer defines.`,
		Example: `  evcli deploy
  evcli deploy --dry-run --detailed-exitcode
  evcli deploy --function inventory -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if o.Concurrency < 0 {
				return cmdutil.UsageError("--concurrency must be at least 1")
			}
			return runDeploy(c.Context(), f, o)
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&o.Functions, "function", nil, "deploy only these functions (repeat or comma-separate)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
	fl.BoolVar(&o.Prune, "prune", false, "delete deployed functions the project no longer defines")
	fl.BoolVar(&o.DetailedExitCode, "detailed-exitcode", false, "with --dry-run: exit 2 when the plan has changes")
	fl.IntVar(&o.Concurrency, "concurrency", 4, "functions deployed at once")
	return c
}

func runDeploy(ctx context.Context, f *cmdutil.Factory, o deployOptions) error {
	p, err := f.Project()
	if err != nil {
		return err
	}
	if err := providerOf(p, "deploy"); err != nil {
		return err
	}
	if o.Prune && len(o.Functions) > 0 {
		return cmdutil.UsageError("--prune deletes functions missing from the project: it cannot be combined with --function")
	}
	desiredEnv, err := resolveEnvironments(f, p, o.Functions)
	if err != nil {
		return err
	}
	var jl *cmdutil.JSONLines
	if f.Globals.JSON() {
		jl = cmdutil.NewJSONLines(f.IO.Out, "deploy")
	}
	start := f.Now()
	arts, err := deploy.Package(ctx, p, deploy.PackageOptions{Functions: o.Functions, Progress: func(ev deploy.ArtifactEvent) {
		switch {
		case jl != nil:
			_ = jl.Write(map[string]any{"type": "package", "function": ev.Function, "phase": ev.Phase})
		case ev.Phase == deploy.PhaseBuilding:
			fmt.Fprintf(f.IO.ErrOut, "packaging %s\n", ev.Function)
		}
	}})
	if err != nil {
		return err
	}
	desired := desiredDeployments(p, arts, desiredEnv)

	db, err := store.Open(stateDir(p))
	if err != nil {
		return err
	}
	defer db.Close()
	d := local.NewDeployer(db, stateDir(p), local.ReloadServer(stateDir(p)))
	deployed, err := d.Deployed(ctx)
	if err != nil {
		return err
	}
	if len(o.Functions) > 0 { // compare only the named functions
		keep := deployed[:0]
		for _, fd := range deployed {
			if slices.Contains(o.Functions, fd.Name) {
				keep = append(keep, fd)
			}
		}
		deployed = keep
	}
	plan := deploy.Plan(desired, deployed, deploy.PlanOptions{Prune: o.Prune})
	printPlan(f, jl, plan)
	if o.DryRun {
		if o.DetailedExitCode && deploy.HasChanges(plan) {
			return cmdutil.Silent(cmdutil.ExitUsage)
		}
		return nil
	}
	if !deploy.HasChanges(plan) {
		if jl == nil {
			fmt.Fprintln(f.IO.ErrOut, "Nothing to do: every function is up to date.")
		} else {
			_ = jl.Write(map[string]any{"type": "summary", "applied": 0, "failed": 0, "unchanged": len(plan), "elapsedMs": ms(f.Now().Sub(start))})
		}
		return nil
	}
	results := deploy.Apply(ctx, plan, d, deploy.ApplyOptions{Concurrency: o.Concurrency, Now: f.Now, Progress: func(pr deploy.Progress) {
		if jl != nil {
			rec := map[string]any{"type": "progress", "function": pr.Function, "step": pr.Step, "elapsedMs": ms(pr.Elapsed)}
			if pr.Err != nil {
				rec["error"] = pr.Err.Error()
			}
			_ = jl.Write(rec)
			return
		}
		switch pr.Step {
		case "start":
		case "done":
			fmt.Fprintf(f.IO.ErrOut, "%s %s (%s)\n", okMark(f), pr.Function, pr.Elapsed.Round(time.Millisecond))
		case "failed":
			fmt.Fprintf(f.IO.ErrOut, "%s %s: %v\n", failMark(f), pr.Function, pr.Err)
		default:
			if !f.IO.IsStderrTTY() {
				fmt.Fprintf(f.IO.ErrOut, "%s: %s\n", pr.Function, pr.Step)
			}
		}
	}})
	applied, failed, unchanged := 0, 0, 0
	for _, r := range results {
		switch {
		case r.Change.Action == deploy.Unchanged:
			unchanged++
		case r.Err != nil:
			failed++
		default:
			applied++
		}
	}
	elapsed := f.Now().Sub(start)
	if jl != nil {
		_ = jl.Write(map[string]any{"type": "summary", "applied": applied, "failed": failed, "unchanged": unchanged, "elapsedMs": ms(elapsed)})
	} else {
		fmt.Fprintf(f.IO.ErrOut, "Deployed %d change(s), %d failed, %d unchanged in %s.\n", applied, failed, unchanged, elapsed.Round(time.Millisecond))
	}
	if failed > 0 {
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

// resolveEnvironments returns each function's environment with its secrets
// read from evcli's own environment. A missing secret stops the deploy
// before anything is built or changed.
func resolveEnvironments(f *cmdutil.Factory, p *project.Project, only []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	var missing []string
	for _, fn := range p.Functions {
		if len(only) > 0 && !slices.Contains(only, fn.Name) {
			continue
		}
		env := map[string]string{}
		for k, v := range fn.Environment {
			env[k] = v
		}
		for _, s := range fn.Secrets {
			v := f.Getenv(s)
			if v == "" {
				missing = append(missing, fmt.Sprintf("%s (function %s)", s, fn.Name))
			}
			env[s] = v
		}
		if p.Bus != "" {
			if _, ok := env["EVENT_BUS_NAME"]; !ok {
				env["EVENT_BUS_NAME"] = p.Bus
			}
		}
		out[fn.Name] = env
	}
	if len(missing) > 0 {
		return nil, cmdutil.UsageError("secret environment variables are not set: %s\n  export them before deploying; their values are never printed or stored", strings.Join(missing, ", "))
	}
	return out, nil
}

func desiredDeployments(p *project.Project, arts []deploy.Artifact, env map[string]map[string]string) []providers.FunctionDeployment {
	var out []providers.FunctionDeployment
	for _, a := range arts {
		fn := p.Function(a.Function)
		if fn == nil {
			continue
		}
		fd := providers.FunctionDeployment{
			Name: fn.Name, Runtime: fn.Runtime, Handler: fn.Handler, Architecture: fn.Architecture,
			MemoryMB: fn.MemoryMB, TimeoutS: fn.TimeoutS, Concurrency: fn.Concurrency,
			Env: env[fn.Name], SecretNames: fn.Secrets, CodeSha256: a.CodeSha256, ArtifactPath: a.Path,
			Correlation: fn.Correlation, Role: fn.Role,
		}
		for i, ev := range fn.Events {
			b := ev.Bus
			if b == "" {
				b = p.Bus
			}
			fd.Rules = append(fd.Rules, providers.RuleSpec{ID: fmt.Sprintf("%s-%d", fn.Name, i), Bus: b, Pattern: ev.Pattern})
		}
		out = append(out, fd)
	}
	return out
}

func printPlan(f *cmdutil.Factory, jl *cmdutil.JSONLines, plan []deploy.Change) {
	if jl != nil {
		for _, c := range plan {
			fields := make([]string, len(c.Fields))
			for i, fc := range c.Fields {
				fields[i] = fc.String()
			}
			_ = jl.Write(map[string]any{"type": "plan", "function": c.Function, "action": c.Action, "codeChanged": c.CodeChanged, "fields": fields})
		}
		return
	}
	counts := map[deploy.Action]int{}
	for _, c := range plan {
		counts[c.Action]++
	}
	w := f.IO.Out
	fmt.Fprintf(w, "Plan: %d to create, %d to update, %d unchanged", counts[deploy.Create], counts[deploy.Update], counts[deploy.Unchanged])
	if counts[deploy.Delete] > 0 {
		fmt.Fprintf(w, ", %d to delete", counts[deploy.Delete])
	}
	fmt.Fprintln(w)
	width := 0
	for _, c := range plan {
		width = max(width, len(c.Function))
	}
	color := f.IO.ColorEnabled()
	for _, c := range plan {
		sym, col := "=", "2"
		switch c.Action {
		case deploy.Create:
			sym, col = "+", "32"
		case deploy.Update:
			sym, col = "~", "33"
		case deploy.Delete:
			sym, col = "-", "31"
		}
		line := fmt.Sprintf("  %s %-*s  %s", sym, width, c.Function, c.Action)
		if len(c.Fields) > 0 && c.Action == deploy.Update {
			parts := make([]string, len(c.Fields))
			for i, fc := range c.Fields {
				parts[i] = fc.String()
			}
			line += ": " + strings.Join(parts, ", ")
		}
		writeColored(w, color, col, line)
	}
}

func writeColored(w io.Writer, color bool, code, s string) {
	if color {
		fmt.Fprintf(w, "\x1b[%sm%s\x1b[0m\n", code, s)
		return
	}
	fmt.Fprintln(w, s)
}

func okMark(f *cmdutil.Factory) string {
	if f.IO.ErrColorEnabled() {
		return "\x1b[32m✓\x1b[0m"
	}
	return "ok"
}

func failMark(f *cmdutil.Factory) string {
	if f.IO.ErrColorEnabled() {
		return "\x1b[31m✗\x1b[0m"
	}
	return "FAILED"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
