package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
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

// TestPlanComparesSecretHashes: when the deployed side reports secrets as
// keyed hashes (a driver that keeps no readable values), the plan compares
// the hashes and never the values; a cloud that returns values (no
// SecretHashes) is compared on values as before.
func TestPlanComparesSecretHashes(t *testing.T) {
	secret := func(value, hash string) func(*providers.FunctionDeployment) {
		return func(f *providers.FunctionDeployment) {
			f.Env["TOKEN"] = value
			f.SecretNames = []string{"TOKEN"}
			if hash != "" {
				f.SecretHashes = map[string]string{"TOKEN": hash}
			}
		}
	}
	// The local driver's deployed side: no secret in Env, its hash only.
	deployedHashed := func(hash string) func(*providers.FunctionDeployment) {
		return func(f *providers.FunctionDeployment) {
			delete(f.Env, "TOKEN")
			f.SecretNames = []string{"TOKEN"}
			f.SecretHashes = map[string]string{}
			if hash != "" {
				f.SecretHashes["TOKEN"] = hash
			}
		}
	}
	tests := []struct {
		name              string
		desired, deployed providers.FunctionDeployment
		want              string
	}{
		{"same hash: unchanged", fd("a", secret("s3cret", "h1")), fd("a", deployedHashed("h1")), "unchanged a code=false []"},
		{"other hash: changed, by name", fd("a", secret("other", "h2")), fd("a", deployedHashed("h1")), "update a code=false [environment ~TOKEN]"},
		{"deployed without a hash (older evcli): added", fd("a", secret("s3cret", "h1")), fd("a", deployedHashed("")), "update a code=false [environment +TOKEN]"},
		{"desired without a hash never equals", fd("a", secret("s3cret", "")), fd("a", deployedHashed("h1")), "update a code=false [environment ~TOKEN]"},
		{"secret removed", fd("a", func(f *providers.FunctionDeployment) { delete(f.Env, "TOKEN") }), fd("a", deployedHashed("h1")), "update a code=false [environment -TOKEN]"},
		{"values compared where the cloud returns them", fd("a", secret("s3cret", "")), fd("a", secret("s3cret", "")), "unchanged a code=false []"},
		{"a value equal to the hash is still a change", fd("a", secret("h1", "h9")), fd("a", deployedHashed("h1")), "update a code=false [environment ~TOKEN]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Plan([]providers.FunctionDeployment{tt.desired}, []providers.FunctionDeployment{tt.deployed}, PlanOptions{})
			if got := summary(plan); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("plan %v, want %q", got, tt.want)
			}
			b, _ := json.Marshal(plan)
			for _, s := range []string{"s3cret", "other", "h1", "h2"} {
				if strings.Contains(string(b), s) {
					t.Errorf("the plan's JSON holds %q: %s", s, b)
				}
			}
		})
	}
}

// secretHasher is a deployer that reports secrets as hashes.
type secretHasher struct {
	providers.Deployer
	calls int
}

func (h *secretHasher) HashSecrets(_ context.Context, values map[string]string) (map[string]string, error) {
	h.calls++
	out := map[string]string{}
	for k, v := range values {
		out[k] = "h(" + k + "=" + fmt.Sprint(len(v)) + ")"
	}
	return out, nil
}

func TestHashSecretsFillsDesiredHashes(t *testing.T) {
	desired := []providers.FunctionDeployment{
		fd("a", func(f *providers.FunctionDeployment) { f.SecretNames = []string{"TOKEN"} }),
		fd("b"),
	}
	h := &secretHasher{}
	if err := hashSecrets(context.Background(), h, desired); err != nil {
		t.Fatal(err)
	}
	if got := desired[0].SecretHashes; !reflect.DeepEqual(got, map[string]string{"TOKEN": "h(TOKEN=6)"}) {
		t.Errorf("hashes of a = %v", got)
	}
	if desired[1].SecretHashes != nil || h.calls != 1 {
		t.Errorf("b (no secrets) got hashes %v; %d calls, want 1", desired[1].SecretHashes, h.calls)
	}
}

// A pattern read back from a cloud equals the one evcli wrote whatever
// escapes, key order and spacing its writer used; a different value, or a
// number spelled differently, is a change.
func TestSameRulesComparesPatternsNotSpellings(t *testing.T) {
	rule := func(p string) []providers.RuleSpec {
		return []providers.RuleSpec{{ID: "r0", Bus: "b", Pattern: json.RawMessage(p)}}
	}
	wrote := `{"detail":{"total":[{"numeric":[">",100,"<=",200]}]},"source":["shop"]}`
	for _, tc := range []struct {
		read string
		same bool
	}{
		{`{"detail":{"total":[{"numeric":["\u003e",100,"\u003c=",200]}]},"source":["shop"]}`, true}, // Go's json.Marshal
		{`{"source": ["shop"], "detail": {"total": [{"numeric": [">", 100, "<=", 200]}]}}`, true},   // another order, spaces
		{`{"detail":{"total":[{"numeric":[">",100,"<=",300]}]},"source":["shop"]}`, false},
		{`{"detail":{"total":[{"numeric":[">",100.0,"<=",200]}]},"source":["shop"]}`, false},
		{`{"detail":{"total":[{"numeric":[">=",100,"<=",200]}]},"source":["shop"]}`, false},
		{`not json`, false},
	} {
		if got := sameRules(rule(wrote), rule(tc.read)); got != tc.same {
			t.Errorf("sameRules(%s, %s) = %v, want %v", wrote, tc.read, got, tc.same)
		}
	}
}
