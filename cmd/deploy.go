package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
)

type deployOptions struct {
	Functions        []string
	DryRun           bool
	Prune            bool
	DetailedExitCode bool
	Concurrency      int
	Settings         deploySettings
	// settingFlags names the provider settings given (refused by a
	// provider that has no use for them).
	settingFlags []string
}

// logRetentionDays are the retention periods CloudWatch Logs accepts.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func newCmdDeploy(f *cmdutil.Factory) *cobra.Command {
	var o deployOptions
	c := &cobra.Command{
		Use:   "deploy",
		Short: "Package, plan and deploy functions and rules",
		Long: `Package every function (deterministic zips), compare them with what the provider has
deployed, show the plan (create / update with the fields that change / unchanged) and
apply it, functions in parallel. An unchanged function is not touched.

With --dry-run the plan is printed and nothing changes; --detailed-exitcode then exits 2
when there are changes. --prune also deletes functions this project no longer defines.

On AWS (--provider aws, or provider: aws in evcli.yaml) evcli reads what exists — functions
with their configuration and code hash, rules, the event bus and the event-store table —
and calls the Lambda, IAM, EventBridge, CloudWatch Logs and DynamoDB APIs directly: code is
uploaded only when its hash differs, each function gets a new version and its alias "live"
moves to it. Zips over the direct-upload limit go through --artifact-bucket. The bus and the
table are applied first; if that fails, no function is changed.

On a terminal the apply phase is a live table (function, step, elapsed, result); otherwise
one line per step; -o json streams plan, progress and summary records.`,
		Example: `  evcli deploy
  evcli deploy --dry-run --detailed-exitcode
  evcli deploy --provider aws --region eu-west-1 --artifact-bucket my-artifacts
  evcli deploy --function inventory -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if o.Concurrency < 1 {
				return cmdutil.UsageError("--concurrency must be at least 1")
			}
			for _, name := range []string{"artifact-bucket", "log-retention"} {
				if c.Flags().Changed(name) {
					o.settingFlags = append(o.settingFlags, "--"+name)
				}
			}
			if c.Flags().Changed("log-retention") && !slices.Contains(logRetentionDays, o.Settings.LogRetentionDays) {
				return cmdutil.UsageError("--log-retention %d: CloudWatch Logs keeps logs for one of %s days", o.Settings.LogRetentionDays, joinInts(logRetentionDays))
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
	fl.StringVar(&o.Settings.ArtifactBucket, "artifact-bucket", "", "aws: S3 bucket for zips over Lambda's direct-upload limit")
	fl.IntVar(&o.Settings.LogRetentionDays, "log-retention", 0, "aws: days CloudWatch Logs keeps each function's logs (default 14)")
	return c
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// deploySettings are deploy's flags that some clouds use.
type deploySettings struct {
	ArtifactBucket   string
	LogRetentionDays int // 0: the provider's default
}

func runDeploy(ctx context.Context, f *cmdutil.Factory, o deployOptions) (err error) {
	p, err := f.Project()
	if err != nil {
		return err
	}
	if o.Prune && len(o.Functions) > 0 {
		return cmdutil.UsageError("--prune deletes functions missing from the project: it cannot be combined with --function")
	}
	// Secrets first: a missing one stops the deploy before anything is
	// opened or built.
	if _, err := deploy.Environments(p, o.Functions, f.Getenv); err != nil {
		var ms *deploy.MissingSecretsError
		var ue *deploy.UnknownFunctionError
		switch {
		case errors.As(err, &ms):
			return cmdutil.UsageError("%s", ms.Error())
		case errors.As(err, &ue):
			return cmdutil.UsageError("--function: %v", ue)
		}
		return err
	}
	prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityDeploy}, func(oo *providers.OpenOptions) {
		oo.ArtifactBucket, oo.LogRetentionDays = o.Settings.ArtifactBucket, o.Settings.LogRetentionDays
	})
	if err != nil {
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Code == providers.Unsupported && len(o.settingFlags) > 0 {
			return cmdutil.UsageError("%s: not for the %s provider (%v)", strings.Join(o.settingFlags, ", "), providerName(p), pe.Err)
		}
		return err
	}
	defer closeProvider(ctx, waiterOf(f), prov, &err)
	var jl *cmdutil.JSONLines
	if f.Globals.JSON() {
		jl = cmdutil.NewJSONLines(f.IO.Out, "deploy")
	}
	var progress deployProgress
	sum, runErr := deploy.Run(ctx, prov.Deployer, prov.Shared, deploy.RunOptions{
		Project: p, Functions: o.Functions, Prune: o.Prune, DryRun: o.DryRun, Concurrency: o.Concurrency,
		Getenv: f.Getenv, Now: f.Now,
		OnPackage: func(ev deploy.ArtifactEvent) { renderPackageEvent(f, jl, ev) },
		OnPlan: func(plan []deploy.Change) {
			printPlan(f, jl, plan)
			if o.DryRun || !deploy.HasChanges(plan) {
				return
			}
			var rows []progressRowSpec
			for _, c := range plan {
				if c.Action != deploy.Unchanged {
					kind := c.Kind
					if kind == "" {
						kind = "function"
					}
					rows = append(rows, progressRowSpec{Kind: kind, Name: c.Name, Action: string(c.Action)})
				}
			}
			progress = newDeployProgress(f, jl, rows)
		},
		Progress: func(pr deploy.Progress) { progress.Step(pr) },
	})
	if progress != nil {
		progress.Stop()
	}
	var ue *deploy.UnknownFunctionError
	if errors.As(runErr, &ue) {
		return cmdutil.UsageError("--function: %v", ue)
	}
	if runErr != nil && !(ctx.Err() != nil && progress != nil) {
		return runErr
	}
	if o.DryRun {
		if o.DetailedExitCode && sum.Changed() {
			return cmdutil.Silent(cmdutil.ExitUsage)
		}
		return nil
	}
	if !sum.Changed() && len(sum.Failures) == 0 {
		if jl == nil {
			if len(sum.Plan) > 0 && !sum.Plan[0].IsFunction() {
				fmt.Fprintln(f.IO.ErrOut, "Nothing to do: every function and resource is up to date.")
			} else {
				fmt.Fprintln(f.IO.ErrOut, "Nothing to do: every function is up to date.")
			}
		} else {
			_ = jl.Write(map[string]any{"type": "summary", "applied": 0, "failed": 0, "unchanged": len(sum.Plan), "elapsedMs": ms(sum.Elapsed)})
		}
		return nil
	}
	if sum.SharedFailed {
		sharedErr := sum.Failures[0].Err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if jl != nil {
			_ = jl.Write(map[string]any{"type": "summary", "applied": 0, "failed": 1, "unchanged": sum.Unchanged,
				"elapsedMs": ms(sum.Elapsed), "error": sharedErr.Error()})
		} else {
			fmt.Fprintf(f.IO.ErrOut, "Deploy stopped: the project's shared resources could not be applied, so no function was changed.\n")
		}
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: sharedErr}
	}
	var failed []string
	var failures []map[string]string
	for _, r := range sum.Failures {
		failed = append(failed, r.Change.Name)
		failures = append(failures, map[string]string{"function": r.Change.Name, "error": r.Err.Error()})
	}
	if jl != nil {
		rec := map[string]any{"type": "summary", "applied": sum.Applied, "failed": len(failed), "unchanged": sum.Unchanged, "elapsedMs": ms(sum.Elapsed)}
		if len(failures) > 0 {
			rec["failures"] = failures
		}
		_ = jl.Write(rec)
	} else {
		names := ""
		if len(failed) > 0 {
			names = " (" + strings.Join(failed, ", ") + ")"
		}
		if ctx.Err() != nil {
			fmt.Fprintf(f.IO.ErrOut, "Deploy interrupted after %s: %d change(s) applied, %d not finished%s. Run evcli deploy again to converge.\n",
				sum.Elapsed.Round(time.Millisecond), sum.Applied, len(failed), names)
		} else {
			fmt.Fprintf(f.IO.ErrOut, "Deployed %d change(s), %d failed%s, %d unchanged in %s.\n", sum.Applied, len(failed), names, sum.Unchanged, sum.Elapsed.Round(time.Millisecond))
		}
		if len(failed) > 0 && ctx.Err() == nil {
			fmt.Fprintln(f.IO.ErrOut, "Run evcli deploy again to retry: what was applied stays, and only what differs is changed.")
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(failed) > 0 {
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

func printPlan(f *cmdutil.Factory, jl *cmdutil.JSONLines, plan []deploy.Change) {
	if jl != nil {
		for _, c := range plan {
			fields := make([]string, len(c.Fields))
			for i, fc := range c.Fields {
				fields[i] = fc.String()
			}
			if c.IsFunction() {
				_ = jl.Write(map[string]any{"type": "plan", "function": c.Name, "action": c.Action, "codeChanged": c.CodeChanged, "fields": fields})
			} else {
				_ = jl.Write(map[string]any{"type": "plan", "kind": c.Kind, "name": c.Name, "action": c.Action, "fields": fields})
			}
		}
		return
	}
	counts := map[deploy.Action]int{}
	width := 0
	for _, c := range plan {
		counts[c.Action]++
		width = max(width, len(c.Label()))
	}
	w := f.IO.Out
	fmt.Fprintf(w, "Plan: %d to create, %d to update, %d unchanged", counts[deploy.Create], counts[deploy.Update], counts[deploy.Unchanged])
	if counts[deploy.Delete] > 0 {
		fmt.Fprintf(w, ", %d to delete", counts[deploy.Delete])
	}
	fmt.Fprintln(w)
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
		text := fmt.Sprintf("  %s %-*s  %s", sym, width, c.Label(), c.Action)
		if len(c.Fields) > 0 && c.Action == deploy.Update {
			fields := make([]string, len(c.Fields))
			for i, fc := range c.Fields {
				fields[i] = fc.String()
			}
			text += ": " + strings.Join(fields, ", ")
		}
		writeColored(w, color, col, text)
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

// renderPackageEvent prints one packaging step: "packaging payment:
// compiling (go build) 12s" lines on stderr, or a "package" JSON record.
func renderPackageEvent(f *cmdutil.Factory, jl *cmdutil.JSONLines, ev deploy.ArtifactEvent) {
	if jl != nil {
		rec := map[string]any{"type": "package", "function": ev.Function, "phase": ev.Phase}
		if ev.Step != "" {
			rec["step"] = ev.Step
		}
		if ev.Elapsed > 0 {
			rec["elapsedMs"] = ms(ev.Elapsed)
		}
		if ev.Err != nil {
			rec["error"] = ev.Err.Error()
		}
		_ = jl.Write(rec)
		return
	}
	elapsed := ""
	if ev.Elapsed >= time.Second {
		elapsed = " " + ev.Elapsed.Round(time.Second).String()
	}
	switch ev.Phase {
	case deploy.PhaseBuilding:
		if ev.Step == "" {
			fmt.Fprintf(f.IO.ErrOut, "packaging %s\n", ev.Function)
		} else if ev.Elapsed >= time.Second || ev.Step == deploy.StepCompiling || ev.Step == deploy.StepDownloading || ev.Step == deploy.StepCached {
			// quick steps (collecting and zipping a script) stay silent
			fmt.Fprintf(f.IO.ErrOut, "packaging %s: %s%s\n", ev.Function, ev.Step, elapsed)
		}
	case deploy.PhaseDone:
		if ev.Elapsed >= time.Second {
			fmt.Fprintf(f.IO.ErrOut, "packaged %s in %s\n", ev.Function, ev.Elapsed.Round(100*time.Millisecond))
		}
	case deploy.PhaseFailed:
		fmt.Fprintf(f.IO.ErrOut, "packaging %s failed:\n  %v\n", ev.Function, ev.Err)
	}
}
