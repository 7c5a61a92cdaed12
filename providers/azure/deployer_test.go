package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/azure/aztest"
	"github.com/evcli/evcli/providers/providertest"
)

// testEnv is a fake, a provider on it for project, and helpers.
type testEnv struct {
	t       *testing.T
	ctx     context.Context
	h       *harness
	p       *providers.Provider
	project string
}

func newTestEnv(t *testing.T, project string, envOver map[string]string) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	h := newHarness(t.TempDir())
	h.envOver = envOver
	t.Cleanup(h.Close)
	e := &testEnv{t: t, ctx: ctx, h: h, project: project}
	e.p = e.open()
	return e
}

func (e *testEnv) open() *providers.Provider {
	e.t.Helper()
	p, err := e.h.Open(e.ctx, providers.OpenOptions{Project: e.project, Bus: e.project + "-bus"})
	if err != nil {
		e.t.Fatalf("open: %v", err)
	}
	e.t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func (e *testEnv) fn(name string, variant int, patterns ...string) providers.FunctionDeployment {
	e.t.Helper()
	fd, err := e.h.Function(name, variant)
	if err != nil {
		e.t.Fatal(err)
	}
	fd.Name, fd.MemoryMB, fd.TimeoutS, fd.Architecture = name, 512, 30, "x86_64"
	fd.Env = map[string]string{"GREETING": "hello"}
	for i, p := range patterns {
		fd.Rules = append(fd.Rules, providers.RuleSpec{ID: fmt.Sprintf("%s-%d", name, i), Bus: e.project + "-bus", Pattern: json.RawMessage(p)})
	}
	return fd
}

// deploy plans desired against what is deployed and applies it.
func (e *testEnv) deploy(p *providers.Provider, desired []providers.FunctionDeployment) []deploy.Change {
	e.t.Helper()
	deployed, err := p.Deployer.Deployed(e.ctx)
	if err != nil {
		e.t.Fatalf("Deployed: %v", err)
	}
	plan := deploy.Plan(desired, deployed, deploy.PlanOptions{Prune: true})
	for _, r := range deploy.Apply(e.ctx, plan, p.Deployer, deploy.ApplyOptions{Concurrency: 8}) {
		if r.Err != nil {
			e.t.Fatalf("%s %s: %v", r.Change.Action, r.Change.Name, r.Err)
		}
	}
	return plan
}

// TestNoChangeDeployMakesNoWrites deploys 12 functions, then deploys them
// again: the second plan changes nothing and the fake records no
// mutating call, only reads (one listing, one settings read per app, one
// subscription listing per topic).
func TestNoChangeDeployMakesNoWrites(t *testing.T) {
	e := newTestEnv(t, "nochange", nil)
	var desired []providers.FunctionDeployment
	for i := range 12 {
		desired = append(desired, e.fn(fmt.Sprintf("f%02d", i), 1, `{"source":["ct.shop"],"detail-type":[{"prefix":"Order"}]}`,
			`{"detail":{"amount":[{"numeric":[">",100]}]}}`))
	}
	e.deploy(e.p, desired)
	before := len(e.h.fake.Calls())
	p := e.open()
	plan := e.deploy(p, desired)
	if deploy.HasChanges(plan) {
		t.Fatalf("the second plan changes %v", plan)
	}
	calls := e.h.fake.Calls()[before:]
	var reads []string
	for _, c := range calls {
		if c.Mutating {
			t.Errorf("a no-change deploy made the mutating call %s %s", c.Method, c.Path)
		}
		reads = append(reads, c.Method)
	}
	// Open's shared check (storage, Log Analytics workspace, App Insights
	// component, topic), the listing, 12 settings reads, one listing of
	// the bus topic's role assignments (each app's EventGrid Data Sender
	// role: one read for all apps, not one per app), one subscription
	// listing.
	if want := 4 + 1 + 12 + 1 + 1; len(calls) != want {
		t.Errorf("a no-change deploy of 12 functions made %d calls, want %d: %v", len(calls), want, reads)
	}
}

// TestTransientErrorsAreRetried: ARM's 429 with Retry-After (retried by
// the SDK's pipeline), OneDeploy's 409 (a deployment in progress) and
// 429, and a 503 from ARM.
func TestTransientErrorsAreRetried(t *testing.T) {
	e := newTestEnv(t, "retry", nil)
	e.h.fake.Fail("PUT", "/Microsoft.Web/sites/", 429, "TooManyRequests", "1", 1)
	e.h.fake.Fail("POST", "/api/publish", 409, "Conflict", "", 1)
	e.h.fake.Fail("POST", "/api/publish", 429, "TooManyRequests", "0", 1)
	e.h.fake.Fail("GET", "/eventSubscriptions", 503, "ServiceUnavailable", "", 1)
	fd := e.fn("orders", 1, `{"source":["ct.shop"]}`)
	e.deploy(e.p, []providers.FunctionDeployment{fd})
	got, err := e.p.Deployer.Deployed(e.ctx)
	if err != nil || len(got) != 1 || got[0].CodeSha256 != fd.CodeSha256 || len(got[0].Drift) > 0 {
		t.Fatalf("after retries Deployed = %+v, %v", got, err)
	}
	var publishes int
	for _, c := range e.h.fake.Calls() {
		if strings.HasSuffix(c.Path, "/api/publish") {
			publishes++
		}
	}
	if publishes != 3 {
		t.Errorf("OneDeploy was called %d times, want 3 (409, 429, then accepted)", publishes)
	}
}

// TestFailedDeploymentKeepsTheOldHash: a OneDeploy deployment that fails
// is an error naming its message and log, and the app keeps the earlier
// code hash, so the next plan publishes again.
func TestFailedDeploymentKeepsTheOldHash(t *testing.T) {
	e := newTestEnv(t, "failed", nil)
	v1 := e.fn("orders", 1)
	e.deploy(e.p, []providers.FunctionDeployment{v1})
	e.h.fake.FailNextDeployment("ModuleNotFoundError: No module named 'app'")
	v2 := e.fn("orders", 2)
	err := e.p.Deployer.ApplyFunction(e.ctx, v2, true, nil)
	if err == nil || !strings.Contains(err.Error(), "No module named") || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("ApplyFunction with a failing deployment = %v", err)
	}
	var pe *providers.Error
	if !asError(err, &pe) || !strings.Contains(pe.Hint, "/log") {
		t.Errorf("the hint %q does not point at the deployment log", pe.Hint)
	}
	got, _ := e.p.Deployer.Deployed(e.ctx)
	if len(got) != 1 || got[0].CodeSha256 != v1.CodeSha256 {
		t.Fatalf("after a failed publish Deployed = %+v, want the old code hash", got)
	}
	plan := e.deploy(e.p, []providers.FunctionDeployment{v2})
	if len(plan) != 1 || !plan[0].CodeChanged {
		t.Errorf("the next plan = %+v, want the code published again", plan)
	}
}

// TestPermanentErrorsAreClassified: a 404 topic names the bus to deploy,
// a 403 is PermissionDenied with a hint.
func TestPermanentErrorsAreClassified(t *testing.T) {
	e := newTestEnv(t, "perm", nil)
	fd := e.fn("orders", 1, `{"source":["ct.shop"]}`)
	fd.Rules[0].Bus = "someone-elses-bus"
	err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil)
	if providers.CodeOf(err) != providers.NotFound || !strings.Contains(err.Error(), "someone-elses-bus") {
		t.Errorf("a rule on a bus without a topic = %v (code %v), want NotFound naming the topic", err, providers.CodeOf(err))
	}
	var pe *providers.Error
	if !asError(err, &pe) || !strings.Contains(pe.Hint, "deploy the project that owns that bus") {
		t.Errorf("the error's hint = %q", pe.Hint)
	}
	e.h.fake.Fail("GET", "/Microsoft.Web/sites", 403, "AuthorizationFailed", "", 1)
	_, err = e.p.Deployer.Deployed(e.ctx)
	if providers.CodeOf(err) != providers.PermissionDenied || !asError(err, &pe) || !strings.Contains(pe.Hint, "Contributor") {
		t.Errorf("a 403 listing = %v (code %v), want PermissionDenied with the roles as the hint", err, providers.CodeOf(err))
	}
}

// TestUnenforceableRefusedBeforeAnyCall: without the guard, a rule Event
// Grid cannot enforce is refused (Unsupported: exit 2) naming the
// operator, and nothing is called.
func TestUnenforceableRefusedBeforeAnyCall(t *testing.T) {
	e := newTestEnv(t, "refuse", nil)
	before := len(e.h.fake.Calls())
	fd := e.fn("audit", 1, `{"source":["ct.net"],"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`)
	err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil)
	if providers.CodeOf(err) != providers.Unsupported || !strings.Contains(err.Error(), "detail.ip: cidr") {
		t.Fatalf("ApplyFunction = %v (code %v), want Unsupported naming detail.ip: cidr", err, providers.CodeOf(err))
	}
	if n := len(e.h.fake.Calls()) - before; n != 0 {
		t.Errorf("a refused rule made %d calls", n)
	}
}

// TestGuardDeploysTheEnforceablePart: with EVCLI_AZURE_GUARD=in-function
// the rule deploys with the filter minus the cidr field, the app carries
// EVCLI_GUARD, and the guard (in the harness, as evcli's entrypoint does)
// drops what Event Grid let through but the pattern does not match.
func TestGuardDeploysTheEnforceablePart(t *testing.T) {
	e := newTestEnv(t, "guard", map[string]string{EnvGuard: "in-function"})
	fd := e.fn("audit", 1, `{"source":["ct.net"],"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`)
	// The guard runs in Node.js functions (evcli_entry.js).
	fd.Runtime, fd.Handler = "nodejs20.x", "index.payment"
	fd.ArtifactPath, fd.CodeSha256 = writeArtifact(t, t.TempDir(), "audit", nodeFiles)
	e.deploy(e.p, []providers.FunctionDeployment{fd})
	apps := e.h.fake.Apps()
	if len(apps) != 1 || apps[0].Settings[SettingGuard] != "in-function" {
		t.Fatalf("apps = %+v, want one with %s", apps, SettingGuard)
	}
	// The package carries the entrypoint and the guard's engine.
	if m := aztest.PackageFunctions(apps[0].Package); m[EventsFunction] != "eventGridTrigger" || m[InvokeFunction] != "httpTrigger" {
		t.Errorf("the published package registers %v, want events and evcli-invoke", m)
	}
	if l := string(listing(t, apps[0].Package)); !strings.Contains(l, "evcli_guard.wasm.gz") || !strings.Contains(l, `"guard": true`) {
		t.Errorf("the guarded package lacks the engine:\n%s", l)
	}
	if apps[0].Settings[SettingEntry] != entryTag(true) {
		t.Errorf("%s = %q, want %q", SettingEntry, apps[0].Settings[SettingEntry], entryTag(true))
	}
	evs := []providers.Event{
		{Source: "ct.net", DetailType: "Conn", Detail: json.RawMessage(`{"ip":"10.1.2.3"}`)},
		{Source: "ct.net", DetailType: "Conn", Detail: json.RawMessage(`{"ip":"192.168.0.1"}`)},
		{Source: "ct.other", DetailType: "Conn", Detail: json.RawMessage(`{"ip":"10.1.2.3"}`)},
	}
	rep, err := providers.PublishAll(e.ctx, e.p.Bus, "guard-bus", evs, e.p.BusLimits, providers.RetryPolicy{})
	if err != nil || rep.Failed() > 0 {
		t.Fatalf("PublishAll: %v %+v", err, rep.Results)
	}
	var ids []string
	for _, r := range rep.Results {
		ids = append(ids, r.EventID)
	}
	dels, _ := e.h.fake.Deliveries(Topic("guard-bus"))
	if len(dels) != 2 {
		t.Errorf("Event Grid delivered %d events, want 2 (the source filter holds; the cidr is the guard's)", len(dels))
	}
	got, err := e.h.Received(e.ctx, "guard-bus", ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !slices.Equal(got[ids[0]], []string{"audit"}) {
		t.Errorf("handled = %v, want only the first event by audit", got)
	}
}

// TestDriftIsRepaired: an event subscription deleted outside evcli is
// drift the plan shows, and the next deploy puts it back.
func TestDriftIsRepaired(t *testing.T) {
	e := newTestEnv(t, "drift", nil)
	fd := e.fn("orders", 1, `{"source":["ct.shop"]}`)
	e.deploy(e.p, []providers.FunctionDeployment{fd})
	d := e.p.Deployer.(*deployer)
	poller, err := d.subs.BeginDelete(e.ctx, d.topicScope(Topic("drift-bus")), d.c.names.EventSubscription(fd.Rules[0].ID), nil)
	if err == nil {
		_, err = poller.PollUntilDone(e.ctx, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.p.Deployer.Deployed(e.ctx)
	if err != nil || len(got) != 1 || len(got[0].Drift) != 1 || !strings.Contains(got[0].Drift[0], "missing") {
		t.Fatalf("Deployed after the subscription was deleted = %+v, %v; want drift naming it", got, err)
	}
	plan := e.deploy(e.p, []providers.FunctionDeployment{fd})
	if len(plan) != 1 || plan[0].Action != deploy.Update {
		t.Fatalf("plan = %+v, want one update", plan)
	}
	if got, _ := e.p.Deployer.Deployed(e.ctx); len(got) != 1 || len(got[0].Drift) != 0 {
		t.Errorf("after the repair Deployed = %+v", got)
	}
}

// TestMemoryRoundsToFlexSizes: the instance is the Flex size that holds
// the memory asked for; over 4096 is refused.
func TestMemoryRoundsToFlexSizes(t *testing.T) {
	for _, c := range []struct{ in, want int }{{128, 512}, {512, 512}, {1024, 2048}, {2048, 2048}, {3000, 4096}, {4096, 4096}} {
		if got, err := FlexMemory(c.in); err != nil || got != c.want {
			t.Errorf("FlexMemory(%d) = %d, %v, want %d", c.in, got, err, c.want)
		}
	}
	e := newTestEnv(t, "mem", nil)
	fd := e.fn("big", 1)
	fd.MemoryMB = 8192
	if err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil); providers.CodeOf(err) != providers.InvalidArgument || !strings.Contains(err.Error(), "4096") {
		t.Errorf("8192 MB = %v, want InvalidArgument naming the sizes", err)
	}
}

// TestReservedSettingsAndRoleRefused: evcli.yaml cannot set an app
// setting evcli or the platform owns, nor an AWS role.
func TestReservedSettingsAndRoleRefused(t *testing.T) {
	e := newTestEnv(t, "reserved", nil)
	fd := e.fn("f", 1)
	fd.Env["WEBSITE_RUN_FROM_PACKAGE"] = "1"
	if err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil); providers.CodeOf(err) != providers.InvalidArgument {
		t.Errorf("a reserved setting = %v", err)
	}
	fd = e.fn("f", 1)
	fd.Env["FUNCTIONS_WORKER_RUNTIME"] = "node" // the function is Python
	if err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil); providers.CodeOf(err) != providers.InvalidArgument || !strings.Contains(err.Error(), `sets it to "python"`) {
		t.Errorf("FUNCTIONS_WORKER_RUNTIME of another runtime = %v", err)
	}
	fd = e.fn("f", 1)
	fd.Role = "arn:aws:iam::1:role/x"
	if err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil); providers.CodeOf(err) != providers.Unsupported {
		t.Errorf("a role = %v", err)
	}
}

// TestWorkerRuntimeIsAzuresOwn: handlers: azure gives every function
// FUNCTIONS_WORKER_RUNTIME (so its code sees the host's value locally).
// Flex Consumption refuses that name as an app setting and sets it from
// the app's runtime, so the deployer checks it, never writes it, and reads
// it back: the second deploy plans nothing.
func TestWorkerRuntimeIsAzuresOwn(t *testing.T) {
	e := newTestEnv(t, "worker", nil)
	fd := e.fn("f", 1, `{"source":["ct.shop"]}`)
	if fd.Runtime != "python3.12" {
		t.Fatalf("fixture runtime %s; the test wants a Python function", fd.Runtime)
	}
	fd.Env["FUNCTIONS_WORKER_RUNTIME"] = "python"
	e.deploy(e.p, []providers.FunctionDeployment{fd})
	for _, app := range e.h.fake.Apps() {
		if _, ok := app.Settings["FUNCTIONS_WORKER_RUNTIME"]; ok {
			t.Errorf("app %s has FUNCTIONS_WORKER_RUNTIME as an app setting", app.Name)
		}
	}
	before := len(e.h.fake.Calls())
	if plan := e.deploy(e.open(), []providers.FunctionDeployment{fd}); deploy.HasChanges(plan) {
		t.Errorf("the second deploy plans %v", plan)
	}
	for _, c := range e.h.fake.Calls()[before:] {
		if c.Mutating {
			t.Errorf("the second deploy made the mutating call %s %s", c.Method, c.Path)
		}
	}
}

// BenchmarkNoChangeDeploy50 is the README's number: a no-change deploy of
// 50 functions with two rules each against the fake (read calls only).
func BenchmarkNoChangeDeploy50(b *testing.B) {
	ctx := context.Background()
	h := newHarness(b.TempDir())
	defer h.Close()
	open := func() *providers.Provider {
		p, err := h.Open(ctx, providers.OpenOptions{Project: "bench", Bus: "bench-bus"})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	var desired []providers.FunctionDeployment
	path, sha, err := providertest.PythonArtifact(b.TempDir(), 1)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		name := fmt.Sprintf("fn%02d", i)
		desired = append(desired, providers.FunctionDeployment{Name: name, Runtime: "python3.12", Handler: "app.handler", MemoryMB: 512, TimeoutS: 30, Architecture: "x86_64",
			ArtifactPath: path, CodeSha256: sha, Env: map[string]string{"K": "v"}, Rules: []providers.RuleSpec{
				{ID: name + "-0", Bus: "bench-bus", Pattern: json.RawMessage(`{"source":["ct.shop"]}`)},
				{ID: name + "-1", Bus: "bench-bus", Pattern: json.RawMessage(`{"detail":{"n":[{"numeric":[">",1]}]}}`)}}})
	}
	p := open()
	deployed, _ := p.Deployer.Deployed(ctx)
	for _, r := range deploy.Apply(ctx, deploy.Plan(desired, deployed, deploy.PlanOptions{}), p.Deployer, deploy.ApplyOptions{Concurrency: 8}) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	first := len(h.fake.MutatingCalls())
	b.ResetTimer()
	for range b.N {
		p := open()
		deployed, err := p.Deployer.Deployed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if plan := deploy.Plan(desired, deployed, deploy.PlanOptions{}); deploy.HasChanges(plan) {
			b.Fatalf("the plan changes %v", plan)
		}
	}
	b.StopTimer()
	if m := len(h.fake.MutatingCalls()); m != first {
		b.Fatalf("no-change deploys made %d mutating calls", m-first)
	}
}
