package aws

import (
	"context"
	"fmt"
	"testing"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
)

// fiftyDeployed deploys 50 functions with one rule each and returns the
// desired state.
func fiftyDeployed(tb testing.TB) (*deployEnv, []providers.FunctionDeployment) {
	srv := awstest.New(awstest.WithSettleReads(0))
	tb.Cleanup(srv.Close)
	sl := &sleepRecorder{}
	ctx := context.Background()
	e := &deployEnv{t: tb, srv: srv, sleep: sl, dir: tb.TempDir(), ctx: ctx,
		d: NewDeployer(srv.Config(ctx), DeployerOptions{Project: "shop", Bus: "shop-bus", Sleep: sl.Sleep})}
	desired := make([]providers.FunctionDeployment, 50)
	for i := range desired {
		desired[i] = e.fn(fmt.Sprintf("fn%02d", i), "v1")
	}
	changes, err := e.d.PlanShared(ctx, false)
	if err == nil {
		err = e.d.ApplyShared(ctx, changes, nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	deployed, err := e.d.Deployed(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range deploy.Apply(ctx, deploy.Plan(desired, deployed, deploy.PlanOptions{}), e.d, deploy.ApplyOptions{Concurrency: 8}) {
		if r.Err != nil {
			tb.Fatal(r.Err)
		}
	}
	return e, desired
}

// noChangeRead is what evcli deploy does when nothing changed: plan the
// shared resources, read the functions, plan.
func noChangeRead(tb testing.TB, e *deployEnv, desired []providers.FunctionDeployment) []deploy.Change {
	shared, err := e.d.PlanShared(e.ctx, true)
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range shared {
		if c.Action != "unchanged" {
			tb.Fatalf("shared: %+v", c)
		}
	}
	deployed, err := e.d.Deployed(e.ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return deploy.Plan(desired, deployed, deploy.PlanOptions{Prune: true})
}

func TestDeployNoChange50FunctionsReadsOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys 50 functions")
	}
	e, desired := fiftyDeployed(t)
	e.srv.ResetCalls()
	plan := noChangeRead(t, e, desired)
	for _, c := range plan {
		if c.Action != deploy.Unchanged {
			t.Errorf("%s: %s %v", c.Name, c.Action, c.Fields)
		}
	}
	if m := e.srv.MutatingCalls(); len(m) > 0 {
		t.Errorf("mutating calls: %v", m)
	}
	byAction := map[string]int{}
	for _, c := range e.srv.Calls() {
		byAction[c.Action]++
	}
	// Per function: GetFunction (tags, concurrency), the live alias's
	// configuration, the alias's policy; per rule its targets: linear.
	if byAction["GetFunction"] != 50 || byAction["GetFunctionConfiguration"] != 50 || byAction["ListTargetsByRule"] != 50 || byAction["GetPolicy"] != 50 {
		t.Errorf("calls by action = %v", byAction)
	}
	t.Logf("no-change read of 50 functions: %d calls %v", len(e.srv.Calls()), byAction)
}

// BenchmarkNoChangeDeploy50 measures the read and plan of a deploy in which
// none of 50 functions changed, against the local fake.
func BenchmarkNoChangeDeploy50(b *testing.B) {
	e, desired := fiftyDeployed(b)
	e.srv.ResetCalls()
	b.ResetTimer()
	for b.Loop() {
		noChangeRead(b, e, desired)
	}
	b.StopTimer()
	calls := e.srv.Calls()
	mut := 0
	for _, c := range calls {
		if c.Mutating {
			mut++
		}
	}
	b.ReportMetric(float64(len(calls))/float64(b.N), "calls/op")
	b.ReportMetric(float64(mut)/float64(b.N), "mutating/op")
}
