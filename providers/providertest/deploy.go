package providertest

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
)

// testAbilities checks that Has and Require agree for every ability and
// that every missing ability says why.
func testAbilities(t *testing.T, e *env) {
	p := e.open("ctabil")
	if p.Name == "" {
		t.Error("Provider.Name is empty: messages and records need it")
	}
	for _, a := range providers.Abilities {
		err := p.Require(a)
		if p.Has(a) {
			if err != nil {
				t.Errorf("Has(%s) but Require(%s) = %v", a, a, err)
			}
			continue
		}
		if providers.CodeOf(err) != providers.Unsupported {
			t.Errorf("Require(%s) of a missing ability = %v (code %v), want code Unsupported", a, err, providers.CodeOf(err))
			continue
		}
		if strings.TrimSpace(p.Missing[a]) == "" {
			t.Errorf("the provider lacks %s but Missing gives no reason (Require says %q)", a, err)
		} else if !strings.Contains(err.Error(), p.Missing[a]) {
			t.Errorf("Require(%s) = %q does not give the reason %q", a, err, p.Missing[a])
		}
		t.Logf("lacks %s: %v", a, err)
	}
}

// sameSettings reports how got (as Deployed returns it) differs from want
// (as it was applied) in what the project sets.
func sameSettings(got, want providers.FunctionDeployment) []string {
	var diffs []string
	check := func(field string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			diffs = append(diffs, field+": got "+strconv.Quote(toString(a))+", applied "+strconv.Quote(toString(b)))
		}
	}
	check("runtime", got.Runtime, want.Runtime)
	check("handler", got.Handler, want.Handler)
	check("memory", got.MemoryMB, want.MemoryMB)
	check("timeout", got.TimeoutS, want.TimeoutS)
	check("code hash", got.CodeSha256, want.CodeSha256)
	check("environment", got.Env, want.Env)
	if len(got.Rules) != len(want.Rules) {
		diffs = append(diffs, "rules: got "+strconv.Itoa(len(got.Rules))+", applied "+strconv.Itoa(len(want.Rules)))
	} else {
		for _, w := range want.Rules {
			i := slices.IndexFunc(got.Rules, func(r providers.RuleSpec) bool { return r.ID == w.ID })
			if i < 0 {
				diffs = append(diffs, "rule "+w.ID+" is missing")
				continue
			}
			if g := got.Rules[i]; g.Bus != w.Bus || !equalJSON(g.Pattern, w.Pattern) {
				diffs = append(diffs, "rule "+w.ID+": got bus "+g.Bus+" pattern "+string(g.Pattern)+", applied bus "+w.Bus+" pattern "+string(w.Pattern))
			}
		}
	}
	return diffs
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	}
	b, _ := jsonMarshal(v)
	return string(b)
}

// checkDeployed fails unless p's Deployed holds exactly want, each with the
// settings it was applied with.
func (e *env) checkDeployed(p *providers.Provider, want ...providers.FunctionDeployment) []providers.FunctionDeployment {
	e.t.Helper()
	got := e.deployed(p)
	var names, wantNames []string
	for _, g := range got {
		names = append(names, g.Name)
	}
	for _, w := range want {
		wantNames = append(wantNames, w.Name)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		e.t.Fatalf("Deployed returns %v, want %v", names, wantNames)
	}
	for _, w := range want {
		g := got[slices.IndexFunc(got, func(g providers.FunctionDeployment) bool { return g.Name == w.Name })]
		if d := sameSettings(g, w); len(d) > 0 {
			e.t.Errorf("Deployed %s differs from what was applied:\n  %s", w.Name, strings.Join(d, "\n  "))
		}
	}
	return got
}

// mutations returns the harness's mutating calls so far, or nil, false.
func (e *env) mutations() ([]string, bool) {
	m, ok := e.h.(MutationRecorder)
	if !ok {
		return nil, false
	}
	return m.MutatingCalls(), true
}

func testDeploy(t *testing.T, e *env) {
	const proj, other = "cta", "ctb"
	alpha := e.fn(proj, "cta-alpha", 1, `{"source":["ct.deploy"],"detail-type":["Alpha"]}`)
	beta := e.fn(proj, "cta-beta", 1, `{"source":["ct.deploy"],"detail-type":[{"prefix":"Beta"}]}`)
	gamma := e.fn(other, "ctb-gamma", 1, `{"source":["ct.deploy"]}`)

	pa := e.open(proj)
	e.cleanup(pa, alpha.Name, beta.Name)
	pb := e.open(other)
	e.cleanup(pb, gamma.Name)

	t.Run("FirstDeployCreates", func(t *testing.T) {
		e := e.sub(t)
		plan := e.deploy(pa, []providers.FunctionDeployment{alpha, beta}, false)
		if got, want := actions(plan), []string{"cta-alpha:create", "cta-beta:create"}; !slices.Equal(got, want) {
			t.Fatalf("first plan = %v, want %v", got, want)
		}
		e.checkDeployed(pa, alpha, beta)
	})
	if t.Failed() {
		return
	}

	t.Run("SecondDeployChangesNothing", func(t *testing.T) {
		e := e.sub(t)
		p := e.open(proj) // a later run of the command
		before := e.deployed(p)
		calls, counted := e.mutations()
		if p.Shared != nil {
			changes, err := p.Shared.PlanShared(e.ctx, false)
			if err != nil {
				t.Fatalf("PlanShared: %v", err)
			}
			for _, c := range changes {
				if c.Action != "unchanged" {
					t.Errorf("second PlanShared: %s %s is %s %v, want unchanged", c.Kind, c.Name, c.Action, c.Fields)
				}
			}
		}
		plan := e.deploy(p, []providers.FunctionDeployment{alpha, beta}, true)
		if got, want := actions(plan), []string{"cta-alpha:unchanged", "cta-beta:unchanged"}; !slices.Equal(got, want) {
			t.Errorf("second plan = %v, want %v (fields: %v)", got, want, fieldsOf(plan))
		}
		if after := e.deployed(p); !reflect.DeepEqual(before, after) {
			t.Errorf("a deploy that planned nothing changed Deployed:\nbefore %+v\nafter  %+v", before, after)
		}
		if counted {
			now, _ := e.mutations()
			if extra := now[len(calls):]; len(extra) > 0 {
				t.Errorf("a deploy that planned nothing made %d mutating calls: %v", len(extra), extra)
			}
		}
	})

	t.Run("ChangedCodeUpdatesOnlyThatFunction", func(t *testing.T) {
		e := e.sub(t)
		p := e.open(proj)
		before := e.deployed(p)
		alpha2 := e.fn(proj, alpha.Name, 2, `{"source":["ct.deploy"],"detail-type":["Alpha"]}`)
		if alpha2.CodeSha256 == alpha.CodeSha256 {
			t.Fatalf("the harness gave variant 2 the code hash of variant 1 (%s)", alpha.CodeSha256)
		}
		calls, counted := e.mutations()
		plan := e.deploy(p, []providers.FunctionDeployment{alpha2, beta}, false)
		if got, want := actions(plan), []string{"cta-alpha:update", "cta-beta:unchanged"}; !slices.Equal(got, want) || !plan[0].CodeChanged {
			t.Fatalf("plan after a code change = %v (alpha code changed: %v), want %v with code changed", got, plan[0].CodeChanged, want)
		}
		after := e.checkDeployed(p, alpha2, beta)
		if !reflect.DeepEqual(before[1], after[1]) {
			t.Errorf("updating alpha's code changed beta:\nbefore %+v\nafter  %+v", before[1], after[1])
		}
		e.onlyTouched(calls, counted, alpha.Name, beta.Name)
		alpha = alpha2
	})

	t.Run("ChangedSettingUpdatesOnlyThatFunction", func(t *testing.T) {
		e := e.sub(t)
		p := e.open(proj)
		before := e.deployed(p)
		beta2 := beta
		beta2.MemoryMB = 256
		calls, counted := e.mutations()
		plan := e.deploy(p, []providers.FunctionDeployment{alpha, beta2}, false)
		if got, want := actions(plan), []string{"cta-alpha:unchanged", "cta-beta:update"}; !slices.Equal(got, want) || plan[1].CodeChanged {
			t.Fatalf("plan after a memory change = %v (beta code changed: %v), want %v without a code change", got, plan[1].CodeChanged, want)
		}
		if f := fieldsOf(plan)[1]; !slices.Equal(f, []string{"memory 128 -> 256"}) {
			t.Errorf("beta's plan changes %v, want only memory 128 -> 256", f)
		}
		after := e.checkDeployed(p, alpha, beta2)
		if !reflect.DeepEqual(before[0], after[0]) {
			t.Errorf("changing beta's memory changed alpha:\nbefore %+v\nafter  %+v", before[0], after[0])
		}
		e.onlyTouched(calls, counted, beta.Name, alpha.Name)
		beta = beta2
	})

	t.Run("PruneRemovesOnlyThisProject", func(t *testing.T) {
		e := e.sub(t)
		if plan := e.deploy(pb, []providers.FunctionDeployment{gamma}, false); !slices.Equal(actions(plan), []string{"ctb-gamma:create"}) {
			t.Fatalf("project %s's first plan = %v, want ctb-gamma:create", other, actions(plan))
		}
		otherBefore := e.checkDeployed(pb, gamma)
		p := e.open(proj)
		plan := e.deploy(p, []providers.FunctionDeployment{alpha}, true)
		if got, want := actions(plan), []string{"cta-alpha:unchanged", "cta-beta:delete"}; !slices.Equal(got, want) {
			t.Fatalf("prune plan = %v, want %v: it may delete only this project's functions", got, want)
		}
		e.checkDeployed(p, alpha)
		if after := e.deployed(e.open(other)); !reflect.DeepEqual(otherBefore, after) {
			t.Errorf("pruning project %s changed project %s:\nbefore %+v\nafter  %+v", proj, other, otherBefore, after)
		}
		// Pruning everything of this project leaves the other project alone too.
		if plan := e.deploy(p, nil, true); !slices.Equal(actions(plan), []string{"cta-alpha:delete"}) {
			t.Errorf("prune-all plan = %v, want [cta-alpha:delete]", actions(plan))
		}
		e.checkDeployed(p)
		e.checkDeployed(e.open(other), gamma)
	})
}

// onlyTouched fails when a mutating call since calls names the function
// that must not change. Without a recorder there is nothing to check.
func (e *env) onlyTouched(calls []string, counted bool, changed, untouched string) {
	e.t.Helper()
	if !counted {
		return
	}
	now, _ := e.mutations()
	extra := now[len(calls):]
	if len(extra) == 0 {
		e.t.Errorf("updating %s made no mutating call", changed)
	}
	for _, c := range extra {
		if strings.Contains(c, untouched) {
			e.t.Errorf("updating %s touched %s: mutating call on %q (all: %v)", changed, untouched, c, extra)
		}
	}
}

func fieldsOf(plan []deploy.Change) [][]string {
	out := make([][]string, len(plan))
	for i, c := range plan {
		for _, f := range c.Fields {
			out[i] = append(out[i], f.String())
		}
	}
	return out
}

// sub is e for a subtest.
func (e *env) sub(t *testing.T) *env { return &env{t: t, ctx: e.ctx, h: e.h} }

func testRollback(t *testing.T, e *env) {
	const proj = "ctr"
	p := e.open(proj)
	fn := e.fn(proj, "ctr-roll", 1)
	e.cleanup(p, fn.Name)
	e.deploy(p, []providers.FunctionDeployment{fn}, false)
	e.deploy(p, []providers.FunctionDeployment{e.fn(proj, fn.Name, 2)}, false)

	from, to, err := p.Rollbacker.Rollback(e.ctx, fn.Name, "")
	if err != nil {
		t.Fatalf("Rollback(%s): %v", fn.Name, err)
	}
	if from == "" || to == "" || from == to {
		t.Fatalf("Rollback(%s) moved from %q to %q: want two different versions", fn.Name, from, to)
	}
	if a, b := versionNum(from), versionNum(to); a >= 0 && b >= 0 && b >= a {
		t.Errorf("Rollback(%s) moved from version %s to %s: want an earlier one", fn.Name, from, to)
	}
	// The live version is now to: rolling "back" to from moves it forward again.
	from2, to2, err := p.Rollbacker.Rollback(e.ctx, fn.Name, from)
	if err != nil {
		t.Fatalf("Rollback(%s, %s): %v", fn.Name, from, err)
	}
	if from2 != to || to2 != from {
		t.Errorf("Rollback(%s, %s) moved from %q to %q, want from %q (the live version) to %q", fn.Name, from, from2, to2, to, from)
	}
	if _, _, err := p.Rollbacker.Rollback(e.ctx, "ctr-no-such-function", ""); providers.CodeOf(err) != providers.NotFound {
		t.Errorf("Rollback of an unknown function = %v (code %v), want code NotFound", err, providers.CodeOf(err))
	}
}

func versionNum(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}
