package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
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
	AWS              awsDeployFlags
	// awsOnly names the AWS-only flags given, refused on other providers.
	awsOnly []string
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
					o.awsOnly = append(o.awsOnly, "--"+name)
				}
			}
			if !slices.Contains(logRetentionDays, o.AWS.LogRetentionDays) {
				return cmdutil.UsageError("--log-retention %d: CloudWatch Logs keeps logs for one of %s days", o.AWS.LogRetentionDays, joinInts(logRetentionDays))
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
	fl.StringVar(&o.AWS.ArtifactBucket, "artifact-bucket", "", "aws: S3 bucket for zips over Lambda's direct-upload limit")
	fl.IntVar(&o.AWS.LogRetentionDays, "log-retention", defaultLogRetentionDays, "aws: days CloudWatch Logs keeps each function's logs")
	return c
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// deployTarget is the provider side of a deploy.
type deployTarget struct {
	d      providers.Deployer
	shared providers.SharedDeployer // nil when the provider has no project-level resources
	close  func() error
}

// openDeployTarget opens the project's deployer: the local store, or the AWS
// driver (credentials are checked here, before anything is built).
func openDeployTarget(ctx context.Context, f *cmdutil.Factory, p *project.Project, o deployOptions) (*deployTarget, error) {
	if p.Provider == "aws" {
		d, err := openAWSDriver(ctx, f, p, o.AWS)
		if err != nil {
			return nil, err
		}
		return &deployTarget{d: d, shared: d, close: func() error { return nil }}, nil
	}
	if len(o.awsOnly) > 0 {
		return nil, cmdutil.UsageError("%s: only for the aws provider (provider: aws in evcli.yaml, or --provider aws)", strings.Join(o.awsOnly, ", "))
	}
	db, err := store.Open(stateDir(p))
	if err != nil {
		return nil, err
	}
	return &deployTarget{d: local.NewDeployer(db, stateDir(p), local.ReloadServer(stateDir(p))), close: db.Close}, nil
}

// namedDeployedReader is a deployer that can read some functions without
// listing all of them (AWS), for deploy --function.
type namedDeployedReader interface {
	DeployedFunctions(ctx context.Context, names []string) ([]providers.FunctionDeployment, error)
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
	target, err := openDeployTarget(ctx, f, p, o)
	if err != nil {
		return err
	}
	defer target.close()
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
	if p.Provider != "aws" {
		for i := range desired {
			desired[i].Role = "" // only AWS runs functions with an IAM role
		}
	}

	var shared []providers.ResourceChange
	if target.shared != nil {
		if shared, err = target.shared.PlanShared(ctx, o.Prune); err != nil {
			return err
		}
	}
	var deployed []providers.FunctionDeployment
	if only, ok := target.d.(namedDeployedReader); ok && len(o.Functions) > 0 {
		deployed, err = only.DeployedFunctions(ctx, o.Functions)
	} else {
		deployed, err = target.d.Deployed(ctx)
	}
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
	printPlan(f, jl, shared, plan)
	var sharedChanges []providers.ResourceChange
	for _, c := range shared {
		if c.Action != string(deploy.Unchanged) {
			sharedChanges = append(sharedChanges, c)
		}
	}
	changes := deploy.HasChanges(plan) || len(sharedChanges) > 0
	if o.DryRun {
		if o.DetailedExitCode && changes {
			return cmdutil.Silent(cmdutil.ExitUsage)
		}
		return nil
	}
	if !changes {
		if jl == nil {
			if len(shared) > 0 {
				fmt.Fprintln(f.IO.ErrOut, "Nothing to do: every function and resource is up to date.")
			} else {
				fmt.Fprintln(f.IO.ErrOut, "Nothing to do: every function is up to date.")
			}
		} else {
			_ = jl.Write(map[string]any{"type": "summary", "applied": 0, "failed": 0, "unchanged": len(plan) + len(shared), "elapsedMs": ms(f.Now().Sub(start))})
		}
		return nil
	}

	var rows []progressRowSpec
	for _, c := range sharedChanges {
		rows = append(rows, progressRowSpec{Kind: c.Kind, Name: c.Name, Action: c.Action})
	}
	for _, c := range plan {
		if c.Action != deploy.Unchanged {
			rows = append(rows, progressRowSpec{Kind: "function", Name: c.Function, Action: string(c.Action)})
		}
	}
	progress := newDeployProgress(f, jl, rows)
	defer progress.Stop()

	if len(sharedChanges) > 0 {
		if err := applyShared(ctx, f, target.shared, sharedChanges, progress); err != nil {
			progress.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if jl != nil {
				_ = jl.Write(map[string]any{"type": "summary", "applied": 0, "failed": 1, "unchanged": len(plan) + len(shared) - len(sharedChanges),
					"elapsedMs": ms(f.Now().Sub(start)), "error": err.Error()})
			} else {
				fmt.Fprintf(f.IO.ErrOut, "Deploy stopped: the project's shared resources could not be applied, so no function was changed.\n")
			}
			return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: err}
		}
	}

	results := deploy.Apply(ctx, plan, target.d, deploy.ApplyOptions{Concurrency: o.Concurrency, Now: f.Now, Progress: progress.Function})
	progress.Stop()
	applied, unchanged := len(sharedChanges), len(shared)-len(sharedChanges)
	var failed []string
	var failures []map[string]string
	for _, r := range results {
		switch {
		case r.Change.Action == deploy.Unchanged:
			unchanged++
		case r.Err != nil:
			failed = append(failed, r.Change.Function)
			failures = append(failures, map[string]string{"function": r.Change.Function, "error": r.Err.Error()})
		default:
			applied++
		}
	}
	elapsed := f.Now().Sub(start)
	if jl != nil {
		rec := map[string]any{"type": "summary", "applied": applied, "failed": len(failed), "unchanged": unchanged, "elapsedMs": ms(elapsed)}
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
				elapsed.Round(time.Millisecond), applied, len(failed), names)
		} else {
			fmt.Fprintf(f.IO.ErrOut, "Deployed %d change(s), %d failed%s, %d unchanged in %s.\n", applied, len(failed), names, unchanged, elapsed.Round(time.Millisecond))
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

// applyShared applies the project-level changes, reporting each resource's
// steps; a resource is done when ApplyShared returns.
func applyShared(ctx context.Context, f *cmdutil.Factory, sd providers.SharedDeployer, changes []providers.ResourceChange, progress deployProgress) error {
	var mu sync.Mutex
	started := map[int]time.Time{}
	var order []int
	// find maps a step's or an error's resource ("bus shop-bus",
	// "eventbridge bus shop-bus", "dynamodb table shop-events") to its change.
	find := func(resource string) int {
		for i, c := range changes {
			label := c.Kind + " " + c.Name
			if resource == label || resource == c.Name || resource == c.Kind || strings.HasSuffix(resource, " "+label) {
				return i
			}
		}
		return -1
	}
	ev := func(i int, step string, err error) progressEvent {
		return progressEvent{Kind: changes[i].Kind, Name: changes[i].Name, Step: step, Err: err, Elapsed: f.Now().Sub(started[i])}
	}
	err := sd.ApplyShared(ctx, changes, func(resource, step string) {
		mu.Lock()
		defer mu.Unlock()
		i := find(resource)
		if i < 0 {
			progress.Shared(progressEvent{Kind: "resource", Name: resource, Step: step})
			return
		}
		if _, ok := started[i]; !ok {
			started[i] = f.Now()
			order = append(order, i)
			progress.Shared(ev(i, "start", nil))
		}
		progress.Shared(ev(i, step, nil))
	})
	mu.Lock()
	defer mu.Unlock()
	if err == nil {
		for i := range changes {
			if _, ok := started[i]; !ok {
				started[i] = f.Now()
			}
			progress.Shared(ev(i, "done", nil))
		}
		return nil
	}
	// The resources that failed are the ones the errors name (the driver
	// goes on after a failure and joins the errors), else the last one
	// started, else the first.
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	bad := map[int]error{}
	for _, e := range errs {
		var pe *providers.Error
		if errors.As(e, &pe) {
			if i := find(pe.Resource); i >= 0 {
				bad[i] = e
			}
		}
	}
	if len(bad) == 0 {
		i := 0
		if len(order) > 0 {
			i = order[len(order)-1]
		}
		bad[i] = err
	}
	for i := range changes {
		if e, ok := bad[i]; ok {
			if _, ok := started[i]; !ok {
				started[i] = f.Now()
			}
			progress.Shared(ev(i, "failed", e))
		} else if _, ok := started[i]; ok {
			progress.Shared(ev(i, "done", nil))
		}
	}
	return err
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

func printPlan(f *cmdutil.Factory, jl *cmdutil.JSONLines, shared []providers.ResourceChange, plan []deploy.Change) {
	if jl != nil {
		for _, c := range shared {
			fields := c.Fields
			if fields == nil {
				fields = []string{}
			}
			_ = jl.Write(map[string]any{"type": "plan", "kind": c.Kind, "name": c.Name, "action": c.Action, "fields": fields})
		}
		for _, c := range plan {
			fields := make([]string, len(c.Fields))
			for i, fc := range c.Fields {
				fields[i] = fc.String()
			}
			_ = jl.Write(map[string]any{"type": "plan", "function": c.Function, "action": c.Action, "codeChanged": c.CodeChanged, "fields": fields})
		}
		return
	}
	type line struct {
		name   string
		action deploy.Action
		fields []string
	}
	var lines []line
	for _, c := range shared {
		lines = append(lines, line{c.Kind + " " + c.Name, deploy.Action(c.Action), c.Fields})
	}
	for _, c := range plan {
		fields := make([]string, len(c.Fields))
		for i, fc := range c.Fields {
			fields[i] = fc.String()
		}
		lines = append(lines, line{c.Function, c.Action, fields})
	}
	counts := map[deploy.Action]int{}
	width := 0
	for _, l := range lines {
		counts[l.action]++
		width = max(width, len(l.name))
	}
	w := f.IO.Out
	fmt.Fprintf(w, "Plan: %d to create, %d to update, %d unchanged", counts[deploy.Create], counts[deploy.Update], counts[deploy.Unchanged])
	if counts[deploy.Delete] > 0 {
		fmt.Fprintf(w, ", %d to delete", counts[deploy.Delete])
	}
	fmt.Fprintln(w)
	color := f.IO.ColorEnabled()
	for _, l := range lines {
		sym, col := "=", "2"
		switch l.action {
		case deploy.Create:
			sym, col = "+", "32"
		case deploy.Update:
			sym, col = "~", "33"
		case deploy.Delete:
			sym, col = "-", "31"
		}
		text := fmt.Sprintf("  %s %-*s  %s", sym, width, l.name, l.action)
		if len(l.fields) > 0 && l.action == deploy.Update {
			text += ": " + strings.Join(l.fields, ", ")
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
