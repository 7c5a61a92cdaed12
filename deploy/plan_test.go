package deploy

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/evcli/evcli/providers"
)

func fd(name string, mut ...func(*providers.FunctionDeployment)) providers.FunctionDeployment {
	f := providers.FunctionDeployment{
		Name: name, Runtime: "provided.al2023", Handler: "bootstrap", Architecture: "x86_64",
		MemoryMB: 128, TimeoutS: 3, Concurrency: 10, CodeSha256: "abc=",
		Env:   map[string]string{"A": "1", "TOKEN": "s3cret"},
		Rules: []providers.RuleSpec{{ID: name + "-0", Bus: "b", Pattern: []byte(`{"source": ["x"]}`)}},
	}
	for _, m := range mut {
		m(&f)
	}
	return f
}

func summary(plan []Change) []string {
	var out []string
	for _, c := range plan {
		out = append(out, fmt.Sprintf("%s %s code=%v %v", c.Action, c.Name, c.CodeChanged, c.Fields))
	}
	return out
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name     string
		desired  []providers.FunctionDeployment
		deployed []providers.FunctionDeployment
		prune    bool
		want     []string
	}{
		{"create", []providers.FunctionDeployment{fd("a")}, nil, false,
			[]string{"create a code=true []"}},
		{"unchanged, pattern whitespace ignored", []providers.FunctionDeployment{fd("a")},
			[]providers.FunctionDeployment{fd("a", func(f *providers.FunctionDeployment) {
				f.Rules[0].Pattern = []byte(`{"source":["x"]}`)
			})}, false,
			[]string{"unchanged a code=false []"}},
		{"code only", []providers.FunctionDeployment{fd("a", func(f *providers.FunctionDeployment) { f.CodeSha256 = "new=" })},
			[]providers.FunctionDeployment{fd("a")}, false,
			[]string{"update a code=true [code changed]"}},
		{"memory only", []providers.FunctionDeployment{fd("a", func(f *providers.FunctionDeployment) { f.MemoryMB = 1024 })},
			[]providers.FunctionDeployment{fd("a", func(f *providers.FunctionDeployment) { f.MemoryMB = 512 })}, false,
			[]string{"update a code=false [memory 512 -> 1024]"}},
		{"role given in evcli.yaml replaces the managed one", []providers.FunctionDeployment{fd("a", func(f *providers.FunctionDeployment) {
			f.Role = "arn:aws:iam::123456789012:role/own"
		})}, []providers.FunctionDeployment{fd("a")}, false,
			[]string{"update a code=false [role (evcli-managed) -> arn:aws:iam::123456789012:role/own]"}},
		{"env names keys, never values", []providers.FunctionDeployment{fd("a", func(f *providers.FunctionDeployment) {
			f.Env = map[string]string{"A": "2", "NEW": "x"}
		})}, []providers.FunctionDeployment{fd("a")}, false,
			[]string{"update a code=false [environment ~A +NEW -TOKEN]"}},
		{"rules changed", []providers.FunctionDeployment{fd("a", func(f *providers.FunctionDeployment) {
			f.Rules = append(f.Rules, providers.RuleSpec{ID: "a-1", Bus: "b", Pattern: []byte(`{}`)})
		})}, []providers.FunctionDeployment{fd("a")}, false,
			[]string{"update a code=false [rules 1 -> 2]"}},
		{"no prune keeps extra", []providers.FunctionDeployment{fd("a")},
			[]providers.FunctionDeployment{fd("a"), fd("old")}, false,
			[]string{"unchanged a code=false []"}},
		{"prune deletes extra", []providers.FunctionDeployment{fd("a")},
			[]providers.FunctionDeployment{fd("z"), fd("a"), fd("old")}, true,
			[]string{"unchanged a code=false []", "delete old code=false []", "delete z code=false []"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summary(Plan(tt.desired, tt.deployed, PlanOptions{Prune: tt.prune}))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Plan:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

type fakeDeployer struct {
	mu      sync.Mutex
	applied []string
	deleted []string
	fail    map[string]error
	current []providers.FunctionDeployment // what Deployed returns
}

func (f *fakeDeployer) Deployed(context.Context) ([]providers.FunctionDeployment, error) {
	return f.current, nil
}

func (f *fakeDeployer) ApplyFunction(_ context.Context, d providers.FunctionDeployment, code bool, step func(string)) error {
	step("upload code")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[d.Name]; err != nil {
		return err
	}
	f.applied = append(f.applied, fmt.Sprintf("%s code=%v", d.Name, code))
	return nil
}

func (f *fakeDeployer) DeleteFunction(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, name)
	return nil
}

func TestApplyFailureStopsNothingElse(t *testing.T) {
	boom := errors.New("boom")
	d := &fakeDeployer{fail: map[string]error{"b": boom}}
	desired := []providers.FunctionDeployment{fd("a"), fd("b"), fd("c"), fd("same")}
	plan := Plan(desired, []providers.FunctionDeployment{fd("same"), fd("gone")}, PlanOptions{Prune: true})
	var steps []string
	res := Apply(context.Background(), plan, d, ApplyOptions{Concurrency: 2, Progress: func(p Progress) {
		steps = append(steps, p.Name+":"+p.Step)
	}})
	if len(res) != 5 {
		t.Fatalf("got %d results, want 5", len(res))
	}
	for _, r := range res {
		wantErr := r.Change.Name == "b"
		if (r.Err != nil) != wantErr {
			t.Errorf("%s: err = %v", r.Change.Name, r.Err)
		}
	}
	if !errors.Is(res[1].Err, boom) {
		t.Errorf("b: err = %v, want boom", res[1].Err)
	}
	if len(d.applied) != 2 || len(d.deleted) != 1 || d.deleted[0] != "gone" {
		t.Errorf("applied %v deleted %v", d.applied, d.deleted)
	}
	for _, s := range steps {
		if s == "same:start" {
			t.Errorf("unchanged function was touched: %v", steps)
		}
	}
}

// With one slot, changes start and finish strictly in plan order.
func TestApplyStartsInPlanOrder(t *testing.T) {
	d := &fakeDeployer{}
	var desired []providers.FunctionDeployment
	for i := range 20 {
		desired = append(desired, fd(fmt.Sprintf("f%02d", i)))
	}
	plan := Plan(desired, nil, PlanOptions{})
	var starts []string
	Apply(context.Background(), plan, d, ApplyOptions{Concurrency: 1, Progress: func(p Progress) {
		if p.Step == "start" {
			starts = append(starts, p.Name)
		}
	}})
	for i, fn := range starts {
		if want := plan[i].Name; fn != want {
			t.Fatalf("start %d was %s, want %s (order %v)", i, fn, want, starts)
		}
	}
	if len(starts) != len(plan) {
		t.Fatalf("%d starts for %d changes", len(starts), len(plan))
	}
}

// A cancelled context fails the changes that had not started.
func TestApplyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	plan := Plan([]providers.FunctionDeployment{fd("a"), fd("b")}, nil, PlanOptions{})
	d := &fakeDeployer{}
	res := Apply(ctx, plan, d, ApplyOptions{Concurrency: 1})
	for _, r := range res {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", r.Change.Name, r.Err)
		}
	}
	if len(d.applied) != 0 {
		t.Errorf("applied %v after cancel", d.applied)
	}
}
