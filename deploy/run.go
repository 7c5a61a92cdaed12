package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// RunOptions configure Run, the whole deploy pipeline.
type RunOptions struct {
	Project *project.Project
	// Functions limits the deploy to these functions (empty: all).
	Functions []string
	// Prune deletes deployed functions the project no longer defines.
	Prune bool
	// DryRun stops after the plan.
	DryRun bool
	// Concurrency bounds the functions applied at once (default 4).
	Concurrency int
	// Getenv resolves secret environment variables at deploy time.
	Getenv func(string) string
	Now    func() time.Time

	// OnPackage is told as each function is packaged.
	OnPackage func(ArtifactEvent)
	// OnPlan receives the plan before anything is applied (also on a dry
	// run): shared resources first, then functions.
	OnPlan func([]Change)
	// Progress receives each step of each change being applied, from one
	// goroutine at a time.
	Progress func(Progress)
}

// Summary is what a deploy did.
type Summary struct {
	Plan      []Change
	Applied   int
	Unchanged int
	// Failures are the changes that failed, in plan order.
	Failures []Result
	// SharedFailed: the project-level resources could not be applied, so
	// no function was changed.
	SharedFailed bool
	Elapsed      time.Duration
}

// Changed reports whether the plan changes anything.
func (s Summary) Changed() bool { return HasChanges(s.Plan) }

// MissingSecretsError lists secret environment variables that are not set.
type MissingSecretsError struct{ Missing []string }

func (e *MissingSecretsError) Error() string {
	return fmt.Sprintf("secret environment variables are not set: %s\n  export them before deploying; their values are never printed or stored", strings.Join(e.Missing, ", "))
}

// Run packages the project's functions, plans them (and the provider's
// shared resources) against what is deployed, and applies the plan: shared
// resources first — if they fail, no function is changed — then functions
// in parallel, a failure stopping nothing else. d is the provider's
// deployer; shared may be nil. A missing secret stops the deploy before
// anything is built (*MissingSecretsError). The returned error is for the
// pipeline (packaging, reading state, a cancelled context); failed changes
// are in the Summary.
func Run(ctx context.Context, d providers.Deployer, shared providers.SharedDeployer, o RunOptions) (sum Summary, err error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	start := o.Now()
	env, err := Environments(o.Project, o.Functions, o.Getenv)
	if err != nil {
		return sum, err
	}
	// A function that fails to build is reported, and the others are
	// deployed: its deployed version stays as it is (it is left out of the
	// plan, so not even --prune deletes it).
	var buildFailed []Result
	arts, err := Package(ctx, o.Project, PackageOptions{Functions: o.Functions, Now: o.Now, Progress: func(ev ArtifactEvent) {
		if ev.Phase == PhaseFailed {
			buildFailed = append(buildFailed, Result{Change: Change{Name: ev.Function, Action: Update}, Err: ev.Err, Elapsed: ev.Elapsed})
		}
		if o.OnPackage != nil {
			o.OnPackage(ev)
		}
	}})
	if err != nil && (len(arts) == 0 || len(buildFailed) == 0 || ctx.Err() != nil) {
		return sum, err
	}
	defer func() {
		if len(buildFailed) > 0 && err == nil {
			sum.Failures = append(buildFailed, sum.Failures...)
		}
	}()
	desired := Desired(o.Project, arts, env)
	if n, ok := d.(providers.Namer); ok {
		for i := range desired {
			desired[i].PhysicalName = n.PhysicalName(desired[i].Name)
		}
	}
	if rc, ok := d.(providers.RuleChecker); ok {
		if err := rc.CheckRules(desired); err != nil {
			return sum, err
		}
	}
	if err := hashSecrets(ctx, d, desired); err != nil {
		return sum, err
	}

	var sharedPlan []providers.ResourceChange
	if shared != nil {
		if sharedPlan, err = shared.PlanShared(ctx, o.Prune); err != nil {
			return sum, err
		}
	}
	var deployed []providers.FunctionDeployment
	if only, ok := d.(providers.NamedReader); ok && len(o.Functions) > 0 {
		deployed, err = only.DeployedFunctions(ctx, o.Functions)
	} else {
		deployed, err = d.Deployed(ctx)
	}
	if err != nil {
		return sum, err
	}
	if len(o.Functions) > 0 { // compare only the named functions
		deployed = slices.DeleteFunc(deployed, func(fd providers.FunctionDeployment) bool { return !slices.Contains(o.Functions, fd.Name) })
	}
	deployed = slices.DeleteFunc(deployed, func(fd providers.FunctionDeployment) bool {
		return slices.ContainsFunc(buildFailed, func(r Result) bool { return r.Change.Name == fd.Name })
	})
	sum.Plan = append(SharedChanges(sharedPlan), Plan(desired, deployed, PlanOptions{Prune: o.Prune})...)
	if o.OnPlan != nil {
		o.OnPlan(sum.Plan)
	}
	defer func() { sum.Elapsed = o.Now().Sub(start) }()
	if o.DryRun || !sum.Changed() {
		sum.Unchanged = len(sum.Plan)
		return sum, nil
	}

	progress := serialized(o.Progress)
	var sharedChanges []providers.ResourceChange
	for _, c := range sharedPlan {
		if c.Action != string(Unchanged) {
			sharedChanges = append(sharedChanges, c)
		}
	}
	if len(sharedChanges) > 0 {
		if err := applyShared(ctx, shared, sharedChanges, o.Now, progress); err != nil {
			sum.SharedFailed = true
			sum.Unchanged = len(sum.Plan) - len(sharedChanges)
			for _, c := range sum.Plan[:len(sharedPlan)] {
				if c.Action != Unchanged {
					sum.Failures = append(sum.Failures, Result{Change: c, Err: err})
					break
				}
			}
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			return sum, nil
		}
	}
	// Shared resources are done: Apply serializes the functions' progress.
	results := Apply(ctx, sum.Plan[len(sharedPlan):], d, ApplyOptions{Concurrency: o.Concurrency, Now: o.Now, Progress: o.Progress})
	sum.Applied = len(sharedChanges)
	sum.Unchanged = len(sharedPlan) - len(sharedChanges)
	for _, r := range results {
		switch {
		case r.Change.Action == Unchanged:
			sum.Unchanged++
		case r.Err != nil:
			sum.Failures = append(sum.Failures, r)
		default:
			sum.Applied++
		}
	}
	return sum, ctx.Err()
}

// hashSecrets fills SecretHashes of desired functions with the deployer's
// keyed hashes of their secret values, when the deployer reports deployed
// secrets that way (providers.SecretHasher); Plan then compares hashes.
func hashSecrets(ctx context.Context, d providers.Deployer, desired []providers.FunctionDeployment) error {
	h, ok := d.(providers.SecretHasher)
	if !ok {
		return nil
	}
	for i := range desired {
		fd := &desired[i]
		if len(fd.SecretNames) == 0 {
			continue
		}
		values := make(map[string]string, len(fd.SecretNames))
		for _, n := range fd.SecretNames {
			values[n] = fd.Env[n]
		}
		hashes, err := h.HashSecrets(ctx, values)
		if err != nil {
			return fmt.Errorf("hash the secrets of function %s: %w", fd.Name, err)
		}
		fd.SecretHashes = hashes
	}
	return nil
}

// SharedChanges turns a provider's shared-resource plan into changes.
func SharedChanges(rcs []providers.ResourceChange) []Change {
	out := make([]Change, len(rcs))
	for i, rc := range rcs {
		c := Change{Kind: rc.Kind, Name: rc.Name, Action: Action(rc.Action)}
		for _, f := range rc.Fields {
			c.Fields = append(c.Fields, FieldChange{Field: f})
		}
		out[i] = c
	}
	return out
}

// applyShared applies the project-level changes, reporting each resource's
// steps as Progress; a resource is done when ApplyShared returns.
func applyShared(ctx context.Context, sd providers.SharedDeployer, changes []providers.ResourceChange, now func() time.Time, progress func(Progress)) error {
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
	ev := func(i int, step string, err error) Progress {
		return Progress{Kind: changes[i].Kind, Name: changes[i].Name, Step: step, Err: err, Elapsed: now().Sub(started[i])}
	}
	err := sd.ApplyShared(ctx, changes, func(resource, step string) {
		mu.Lock()
		defer mu.Unlock()
		i := find(resource)
		if i < 0 {
			progress(Progress{Kind: "resource", Name: resource, Step: step})
			return
		}
		if _, ok := started[i]; !ok {
			started[i] = now()
			order = append(order, i)
			progress(ev(i, "start", nil))
		}
		progress(ev(i, step, nil))
	})
	mu.Lock()
	defer mu.Unlock()
	if err == nil {
		for i := range changes {
			if _, ok := started[i]; !ok {
				started[i] = now()
			}
			progress(ev(i, "done", nil))
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
				started[i] = now()
			}
			progress(ev(i, "failed", e))
		} else if _, ok := started[i]; ok {
			progress(ev(i, "done", nil))
		}
	}
	return err
}

// Environments returns each function's environment with its secrets read
// through getenv. A missing secret is a *MissingSecretsError naming all of
// them.
func Environments(p *project.Project, only []string, getenv func(string) string) (map[string]map[string]string, error) {
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
			v := ""
			if getenv != nil {
				v = getenv(s)
			}
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
		return nil, &MissingSecretsError{Missing: missing}
	}
	return out, nil
}

// rulePlace is where ev's pattern stands in the project file at path.
func rulePlace(path string, ev project.EventSource) *providers.RulePlace {
	if path == "" {
		return nil
	}
	w := &providers.RulePlace{File: path, Line: ev.Pos.Line, Col: ev.Pos.Col}
	if len(ev.Members) > 0 {
		w.Members = make(map[string][2]int, len(ev.Members))
		for k, p := range ev.Members {
			w.Members[k] = [2]int{p.Line, p.Col}
		}
	}
	return w
}

// Desired is the desired state of the packaged functions.
func Desired(p *project.Project, arts []Artifact, env map[string]map[string]string) []providers.FunctionDeployment {
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
			fd.Rules = append(fd.Rules, providers.RuleSpec{ID: fmt.Sprintf("%s-%d", fn.Name, i), Bus: b, Pattern: ev.Pattern,
				Where: rulePlace(p.Path, ev)})
		}
		out = append(out, fd)
	}
	return out
}
