package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// memDeployer is a Deployer (and SharedDeployer) in memory that records
// every change it makes.
type memDeployer struct {
	mu        sync.Mutex
	fns       map[string]providers.FunctionDeployment
	changes   []string
	failFn    string
	sharedErr error
	bus       bool
}

func (d *memDeployer) Deployed(context.Context) ([]providers.FunctionDeployment, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []providers.FunctionDeployment
	for _, fd := range d.fns {
		out = append(out, fd)
	}
	return out, nil
}

func (d *memDeployer) ApplyFunction(_ context.Context, fd providers.FunctionDeployment, _ bool, step func(string)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if fd.Name == d.failFn {
		return errors.New("boom")
	}
	step("upload code")
	d.fns[fd.Name] = fd
	d.changes = append(d.changes, "apply "+fd.Name)
	return nil
}

func (d *memDeployer) DeleteFunction(_ context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.fns, name)
	d.changes = append(d.changes, "delete "+name)
	return nil
}

func (d *memDeployer) PlanShared(context.Context, bool) ([]providers.ResourceChange, error) {
	a := "create"
	if d.bus {
		a = "unchanged"
	}
	return []providers.ResourceChange{{Kind: "bus", Name: "shop-bus", Action: a}}, nil
}

func (d *memDeployer) ApplyShared(_ context.Context, cs []providers.ResourceChange, step func(string, string)) error {
	if d.sharedErr != nil {
		return &providers.Error{Resource: "bus shop-bus", Err: d.sharedErr}
	}
	step("bus shop-bus", "create bus")
	d.bus = true
	d.changes = append(d.changes, "shared bus")
	return nil
}

func twoFunctions(t *testing.T) *project.Project {
	p := nodeProject(t, map[string]string{"functions/orders/index.js": "exports.handler = async () => 1;\n",
		"functions/billing/index.js": "exports.handler = async () => 2;\n"})
	p.Functions = append(p.Functions, project.Function{Name: "billing", Source: "functions/billing", Runtime: "nodejs20.x",
		Handler: "index.handler", Secrets: []string{"API_KEY"}})
	return p
}

func TestRunPipeline(t *testing.T) {
	ctx := context.Background()
	p := twoFunctions(t)
	getenv := func(k string) string {
		if k == "API_KEY" {
			return "s3cret"
		}
		return ""
	}
	d := &memDeployer{fns: map[string]providers.FunctionDeployment{}}

	// A dry run plans shared resources first, then functions, and changes nothing.
	var planned []string
	sum, err := Run(ctx, d, d, RunOptions{Project: p, DryRun: true, Getenv: getenv, OnPlan: func(cs []Change) {
		for _, c := range cs {
			planned = append(planned, string(c.Action)+" "+c.Label())
		}
	}})
	if err != nil || !slices.Equal(planned, []string{"create bus shop-bus", "create orders", "create billing"}) || len(d.changes) != 0 || !sum.Changed() {
		t.Fatalf("dry run: err %v, plan %v, changes %v", err, planned, d.changes)
	}

	// Applying: shared first, every step reported once per change.
	var steps []string
	sum, err = Run(ctx, d, d, RunOptions{Project: p, Getenv: getenv, Concurrency: 1, Progress: func(pr Progress) {
		steps = append(steps, pr.Label()+":"+pr.Step)
	}})
	if err != nil || sum.Applied != 3 || len(sum.Failures) != 0 || d.changes[0] != "shared bus" {
		t.Fatalf("apply: err %v, %+v, changes %v", err, sum, d.changes)
	}
	if steps[0] != "bus shop-bus:start" || !slices.Contains(steps, "orders:done") || !slices.Contains(steps, "billing:upload code") {
		t.Fatalf("steps %v", steps)
	}
	if d.fns["billing"].Env["API_KEY"] != "s3cret" {
		t.Fatalf("billing deployed without its secret")
	}

	// Nothing changed: nothing applied.
	d.changes = nil
	sum, err = Run(ctx, d, d, RunOptions{Project: p, Getenv: getenv})
	if err != nil || sum.Changed() || len(d.changes) != 0 || sum.Unchanged != 3 {
		t.Fatalf("second run: err %v, %+v, changes %v", err, sum, d.changes)
	}
}

func TestRunStopsBeforeAnythingOnMissingSecrets(t *testing.T) {
	d := &memDeployer{fns: map[string]providers.FunctionDeployment{}}
	_, err := Run(context.Background(), d, d, RunOptions{Project: twoFunctions(t), Getenv: func(string) string { return "" }})
	var ms *MissingSecretsError
	if !errors.As(err, &ms) || !strings.Contains(err.Error(), "API_KEY (function billing)") || len(d.changes) != 0 {
		t.Fatalf("err %v, changes %v", err, d.changes)
	}
}

func TestRunSharedFailureChangesNoFunction(t *testing.T) {
	d := &memDeployer{fns: map[string]providers.FunctionDeployment{}, sharedErr: errors.New("denied")}
	sum, err := Run(context.Background(), d, d, RunOptions{Project: twoFunctions(t), Getenv: func(string) string { return "x" }})
	if err != nil || !sum.SharedFailed || len(d.changes) != 0 || len(sum.Failures) != 1 || sum.Failures[0].Change.Label() != "bus shop-bus" {
		t.Fatalf("err %v, %+v, changes %v", err, sum, d.changes)
	}
}

func TestRunFailureStopsNothingElse(t *testing.T) {
	d := &memDeployer{fns: map[string]providers.FunctionDeployment{}, failFn: "orders", bus: true}
	sum, err := Run(context.Background(), d, d, RunOptions{Project: twoFunctions(t), Getenv: func(string) string { return "x" }})
	if err != nil || sum.Applied != 1 || len(sum.Failures) != 1 || sum.Failures[0].Change.Name != "orders" || d.fns["billing"].Name != "billing" {
		t.Fatalf("err %v, %+v", err, sum)
	}
}

// TestRunBuildFailureStopsNothingElse: a function whose package fails is
// reported in the summary and left as deployed (not deleted, even with
// --prune); the other functions are deployed; packaging reports its steps.
func TestRunBuildFailureStopsNothingElse(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ok"), 0o755)
	os.WriteFile(filepath.Join(dir, "ok", "index.js"), []byte("exports.handler = async () => 1;\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "broken"), 0o755) // no index.js: the handler is missing
	p := &project.Project{Dir: dir, Name: "shop", Functions: []project.Function{
		{Name: "broken", Source: "broken", Runtime: "nodejs20.x", Handler: "index.handler", MemoryMB: 128, TimeoutS: 3},
		{Name: "ok", Source: "ok", Runtime: "nodejs20.x", Handler: "index.handler", MemoryMB: 128, TimeoutS: 3},
	}}
	d := &fakeDeployer{current: []providers.FunctionDeployment{{Name: "broken", Runtime: "nodejs20.x"}}}
	var steps []string
	sum, err := Run(context.Background(), d, nil, RunOptions{Project: p, Prune: true, OnPackage: func(ev ArtifactEvent) {
		steps = append(steps, ev.Function+":"+string(ev.Phase)+":"+ev.Step)
	}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if sum.Applied != 1 || len(sum.Failures) != 1 || sum.Failures[0].Change.Name != "broken" || sum.Failures[0].Err == nil {
		t.Fatalf("summary %+v, want ok applied and broken failed", sum)
	}
	if len(d.deleted) > 0 {
		t.Errorf("deleted %v: a function that failed to build stays deployed", d.deleted)
	}
	for _, want := range []string{"ok:building:" + StepCollecting, "ok:done:", "broken:failed:"} {
		if !strings.Contains(strings.Join(steps, " "), want) {
			t.Errorf("package events %v lack %s", steps, want)
		}
	}
}
