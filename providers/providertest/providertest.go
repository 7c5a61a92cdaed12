package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
)

// Harness gives the suite what differs by driver. The suite calls it from
// one goroutine.
type Harness interface {
	// Open opens a provider for the project o names (o.Project, o.Bus are
	// set by the suite) on this harness's backing state; the harness fills
	// in the rest (directory, endpoint, store). The suite closes it.
	Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error)
	// Function returns the desired deployment of a function called name
	// whose code behaves as Handler says: ArtifactPath written, CodeSha256
	// set, Runtime and Handler filled in. Different variants have different
	// code hashes. The suite sets memory, timeout, environment and rules.
	Function(name string, variant int) (providers.FunctionDeployment, error)
	// Close releases the backing state.
	Close()
}

// HarnessMaker makes a Harness on fresh backing state; it may skip t.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// MutationRecorder is implemented by a harness whose backing state records
// the calls that change it (a fake cloud).
type MutationRecorder interface {
	// MutatingCalls returns, per mutating call since the harness was made,
	// the resource it touched (function, role, "bus/rule", ...).
	MutatingCalls() []string
}

// DeliveryObserver is implemented by a harness that can tell which
// functions ran for which event, for providers without a Waiter.
type DeliveryObserver interface {
	// Received returns, for each of ids (event ids PublishResult gave),
	// the functions that received it, waiting as long as deliveries may
	// take (within ctx).
	Received(ctx context.Context, bus string, ids []string) (map[string][]string, error)
}

// StoreWriter is implemented by a harness whose provider's store is not
// filled by publishing on the bus in the test's backing state.
type StoreWriter interface {
	// WriteEvents puts evs in the store that p reads, as the provider's
	// fill path would (AggregateID, AggregateVersion, DetailType, Time,
	// Detail, ID are set).
	WriteEvents(ctx context.Context, p *providers.Provider, evs []providers.StoredEvent) error
}

// Skipper is implemented by a harness whose backing state cannot run some
// checks (an emulator lacks an API).
type Skipper interface {
	// Skip returns why check (a top-level check name: "Deploy", "Bus",
	// "Store", "Logs", "Metrics", ...) cannot run, or "".
	Skip(check string) string
}

// Run runs every check against the driver that makeHarness opens.
func Run(t *testing.T, makeHarness HarnessMaker) {
	t.Helper()
	checks := []struct {
		name    string
		ability providers.Ability
		fn      func(*testing.T, *env)
	}{
		{"Abilities", "", testAbilities},
		{"Deploy", providers.AbilityDeploy, testDeploy},
		{"Rollback", providers.AbilityRollback, testRollback},
		{"Invoke", providers.AbilityInvoke, testInvoke},
		{"Bus", providers.AbilityPublish, testBus},
		{"Store", providers.AbilityStore, testStore},
		{"Logs", providers.AbilityLogs, testLogs},
		{"Metrics", providers.AbilityMetrics, testMetrics},
		{"Workflows", providers.AbilityWorkflow, testWorkflows},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			h, err := makeHarness(ctx, t)
			if err != nil {
				t.Fatalf("making the harness: %v", err)
			}
			t.Cleanup(h.Close)
			if s, ok := h.(Skipper); ok {
				if why := s.Skip(c.name); why != "" {
					t.Skipf("%s is not checked here: %s", c.name, why)
				}
			}
			e := &env{t: t, ctx: ctx, h: h}
			if c.ability != "" {
				p := e.open("ctprobe")
				if !p.Has(c.ability) {
					err := p.Require(c.ability)
					if providers.CodeOf(err) != providers.Unsupported || p.Missing[c.ability] == "" {
						t.Fatalf("the provider lacks %s but Require says %v (code %v) and Missing says %q: want Unsupported with a reason",
							c.ability, err, providers.CodeOf(err), p.Missing[c.ability])
					}
					t.Skipf("%s: the provider lacks it: %v", c.ability, err)
				}
			}
			c.fn(t, e)
		})
	}
}

// env is one check's harness, context and helpers.
type env struct {
	t   *testing.T
	ctx context.Context
	h   Harness
}

// busOf is the event bus of project.
func busOf(project string) string { return project + "-bus" }

// open opens a fresh provider for project and closes it when the check ends.
func (e *env) open(project string) *providers.Provider {
	e.t.Helper()
	return e.openWith(providers.OpenOptions{Project: project, Bus: busOf(project)})
}

// openWith is open with more options set (o.Project and o.Bus too).
func (e *env) openWith(o providers.OpenOptions) *providers.Provider {
	e.t.Helper()
	project := o.Project
	p, err := e.h.Open(e.ctx, o)
	if err != nil {
		e.t.Fatalf("open %s: %v", project, err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			e.t.Errorf("close %s: %v", project, err)
		}
	})
	return p
}

// fn is a desired function of project: the harness's code, 128 MB, 10 s,
// one rule on the project's bus for each pattern.
func (e *env) fn(project, name string, variant int, patterns ...string) providers.FunctionDeployment {
	e.t.Helper()
	fd, err := e.h.Function(name, variant)
	if err != nil {
		e.t.Fatalf("function %s: %v", name, err)
	}
	fd.Name = name
	fd.MemoryMB, fd.TimeoutS = 128, 10
	if fd.Architecture == "" {
		fd.Architecture = "x86_64"
	}
	fd.Env = map[string]string{"CONFORMANCE_PROJECT": project}
	for i, pat := range patterns {
		fd.Rules = append(fd.Rules, providers.RuleSpec{ID: fmt.Sprintf("%s-%d", name, i), Bus: busOf(project), Pattern: json.RawMessage(pat)})
	}
	return fd
}

// plan reads what p has deployed and plans desired against it with the
// command's planner; shared resources are planned and applied first, as the
// command does.
func (e *env) plan(p *providers.Provider, desired []providers.FunctionDeployment, prune bool) []deploy.Change {
	e.t.Helper()
	if p.Shared != nil {
		changes, err := p.Shared.PlanShared(e.ctx, prune)
		if err != nil {
			e.t.Fatalf("PlanShared: %v", err)
		}
		if err := p.Shared.ApplyShared(e.ctx, changes, nil); err != nil {
			e.t.Fatalf("ApplyShared: %v", err)
		}
	}
	deployed := e.deployed(p)
	return deploy.Plan(desired, deployed, deploy.PlanOptions{Prune: prune})
}

// apply carries out plan and fails the check on any error.
func (e *env) apply(p *providers.Provider, plan []deploy.Change) {
	e.t.Helper()
	for _, r := range deploy.Apply(e.ctx, plan, p.Deployer, deploy.ApplyOptions{Concurrency: 2}) {
		if r.Err != nil {
			e.t.Fatalf("%s %s: %v", r.Change.Action, r.Change.Name, r.Err)
		}
	}
}

// deploy plans and applies desired and returns the plan.
func (e *env) deploy(p *providers.Provider, desired []providers.FunctionDeployment, prune bool) []deploy.Change {
	e.t.Helper()
	plan := e.plan(p, desired, prune)
	e.apply(p, plan)
	return plan
}

// deployed returns p's deployed functions sorted by name.
func (e *env) deployed(p *providers.Provider) []providers.FunctionDeployment {
	e.t.Helper()
	fds, err := p.Deployer.Deployed(e.ctx)
	if err != nil {
		e.t.Fatalf("Deployed: %v", err)
	}
	slices.SortFunc(fds, func(a, b providers.FunctionDeployment) int { return cmpString(a.Name, b.Name) })
	return fds
}

// cleanup deletes p's functions when the check ends (a real cloud account
// keeps what a test leaves behind).
func (e *env) cleanup(p *providers.Provider, names ...string) {
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, n := range names {
			if err := p.Deployer.DeleteFunction(ctx, n); err != nil && providers.CodeOf(err) != providers.NotFound {
				e.t.Logf("cleanup: delete %s: %v", n, err)
			}
		}
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// poll calls f until it returns true or an error, or the check's context
// ends; it fails the check then, with what f last said.
func (e *env) poll(what string, f func() (bool, string, error)) {
	e.t.Helper()
	delay := 10 * time.Millisecond
	last := ""
	for {
		ok, state, err := f()
		if err != nil {
			e.t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		last = state
		if err := providers.Sleep(e.ctx, delay); err != nil {
			e.t.Fatalf("%s: gave up (%v); last seen: %s", what, err, last)
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// actions summarises a plan as "function:action" in plan order.
func actions(plan []deploy.Change) []string {
	out := make([]string, len(plan))
	for i, c := range plan {
		out[i] = c.Name + ":" + string(c.Action)
	}
	return out
}

// equalJSON reports whether a and b are the same JSON value.
func equalJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

var errStop = errors.New("stop")
