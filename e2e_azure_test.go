package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/internal/fakecloud"
	"github.com/evcli/evcli/internal/testenv"
)

// startFakeAzure starts a fake Azure for t, skipping t with the fix when
// cosmosdb-server (node, .ci/node_modules) is not installed.
func startFakeAzure(t *testing.T) *fakecloud.Azure {
	t.Helper()
	var log syncBuffer
	a, err := fakecloud.StartAzure(fakecloud.AzureOptions{Log: &log, EmulatorWait: budget(30 * time.Second), TempDir: t.TempDir()})
	var absent *fakecloud.AbsentError
	if errors.As(err, &absent) {
		testenv.Skip(t, absent.What, absent.Fix)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		if t.Failed() {
			t.Logf("the fake cloud's log:\n%s", log.String())
		}
	})
	return a
}

// TestAzureEndToEnd is TestGCPEndToEnd on a fake Azure (aztest: ARM,
// OneDeploy, Event Grid with its filter semantics, Log Analytics; the
// Event Grid handlers run by the local runtime's Azure Functions host;
// cosmosdb-server for the event store), reached only through the
// EVCLI_AZURE_*_ENDPOINT and AZURE_* variables: init -> deploy (a second
// deploy writes nothing) -> send -> the functions whose patterns match run
// -> tail by correlation id -> replay re-publishes from Cosmos DB.
func TestAzureEndToEnd(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	a := startFakeAzure(t)

	root := t.TempDir()
	must(t, root, "init", "shop", "--provider", "azure", "--template", "fan-out", "--lang", "node")
	dir := filepath.Join(root, "shop")
	appendFile(t, filepath.Join(dir, "evcli.yaml"), "store:\n  type: cosmos\n  table: shop-events\n  keys:\n    ttl: ttl\n")
	const shipped = "5111bbed-0000-4000-8000-000000002002"
	writeFile(t, filepath.Join(dir, "events", "order-shipped.json"),
		`{"source": "shop.orders", "detail-type": "OrderShipped", "detail": {"orderId": "ord-1001", "correlationId": "`+shipped+`"}}`+"\n")
	cli := cloudCLI{t: t, dir: dir, env: a.Env, provider: "azure"}
	fns := []string{"analytics", "inventory", "notification", "payment"}

	start := time.Now()
	r := cli.run("deploy", "--provider", "azure")
	if r.code != 0 {
		t.Fatalf("evcli deploy --provider azure: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("first deploy: %s", time.Since(start).Round(time.Millisecond))
	before := a.MutatingCalls()
	if len(before) == 0 {
		t.Fatal("the first deploy made no mutating call on the fake")
	}
	r = cli.must("deploy", "--provider", "azure")
	if !strings.Contains(r.stdout+r.stderr, "0 to create, 0 to update") || !strings.Contains(r.stdout+r.stderr, "Nothing to do") {
		t.Errorf("the second deploy's plan is not all unchanged:\n%s%s", r.stdout, r.stderr)
	}
	if after := a.MutatingCalls(); !slices.Equal(before, after) {
		t.Errorf("the second deploy, with nothing changed, made mutating calls: %v", after[len(before):])
	}

	for _, f := range []string{"events/order-created.json", "events/order-shipped.json"} {
		r := cli.run("send", "--provider", "azure", f)
		if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "sent ") {
			t.Fatalf("send %s: want the event sent, got exit %d:\n%s%s", f, r.code, r.stdout, r.stderr)
		}
	}
	const created = "c0ffee00-0000-4000-8000-000000001001" // the template's event
	// The first runs: wait until they show.
	deadline := time.Now().Add(budget(time.Minute))
	for {
		got, out := cli.invocationsOut([]string{"payment"}, created)
		if len(got["payment"]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment did not run within %s; tail says:\n%s", budget(time.Minute), out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := cli.waitInvocations(fns, created, 1)
	for _, f := range fns {
		if len(got[f]) != 1 {
			t.Errorf("%s ran %d times for the one OrderCreated event: %v", f, len(got[f]), got[f])
		}
	}

	r = cli.must("tail", "--provider", "azure", "-o", "json", "--follow=false", "--since", "1h", "--correlation", created[:8])
	var seen []string
	for _, rec := range records(t, r.stdout, "log") {
		if rec["correlationId"] != created {
			t.Errorf("tail --correlation %s shows a line of another flow: %v", created[:8], rec)
		}
		if f, _ := rec["function"].(string); !slices.Contains(seen, f) {
			seen = append(seen, f)
		}
	}
	slices.Sort(seen)
	if !slices.Equal(seen, fns) {
		t.Errorf("tail --correlation %s shows functions %v; want %v", created[:8], seen, fns)
	}

	cli.replayStoredPair(fns, created)
	if other := cli.invocations(nil, shipped); len(other) != 0 {
		t.Errorf("functions ran for OrderShipped, which no pattern matches: %v", other)
	}
	// Every delivery went through evcli's entrypoint: the host ran the
	// app's events function (evcli_entry.js), which ran the handler. (A
	// run that failed was retried, as Event Grid retries: only the
	// successful ones are counted.)
	var ok int
	for _, run := range a.Runs() {
		if run.Function == "evcli-store-writer" || strings.Contains(run.App, "writer") {
			continue
		}
		if run.Function != "events" || !slices.ContainsFunc(run.Logs, func(l string) bool {
			return strings.HasPrefix(l, "Executed 'Functions.events' (")
		}) {
			t.Errorf("a run of %s went to function %q, not events through evcli's entrypoint; its lines: %q", run.App, run.Function, run.Logs)
		}
		if run.Status/100 == 2 {
			ok++
		} else {
			t.Logf("a delivery to %s failed (retried): %s", run.App, run.Error)
		}
	}
	if ok != 2*len(fns) {
		t.Errorf("the fake's host ran the project's apps successfully %d times; want %d (one event, replayed once, to %d functions)", ok, 2*len(fns), len(fns))
	}
}

// TestAzureGuardEndToEnd: a Node.js function whose pattern Event Grid
// cannot enforce (a wildcard on a detail field) is refused by deploy
// (exit 2, naming the operator) unless EVCLI_AZURE_GUARD=in-function; with
// it, Event Grid delivers every event of the enforceable part to the
// app's events function, and evcli's entrypoint runs its guard (the
// filter package built for WebAssembly) before the handler: the handler
// runs for the matching event only, and the other is acknowledged with
// the guard's log line.
func TestAzureGuardEndToEnd(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	a := startFakeAzure(t)

	root := t.TempDir()
	must(t, root, "init", "guard", "--provider", "azure", "--template", "fan-out", "--lang", "node")
	dir := filepath.Join(root, "guard")
	y, err := os.ReadFile(filepath.Join(dir, "evcli.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(y), "functions:\n")
	if !ok {
		t.Fatalf("the template's evcli.yaml has no functions: section:\n%s", y)
	}
	writeFile(t, filepath.Join(dir, "evcli.yaml"), head+`functions:
  analytics:
    source: functions/analytics
    runtime: nodejs20.x
    handler: index.analytics
    memory: 128
    timeout: 10
    events:
      - pattern: {source: [guard.orders], detail-type: [OrderCreated], detail: {orderId: [{wildcard: "ord-1*"}]}}
`)
	const (
		matching = "9aa00000-0000-4000-8000-000000000001"
		dropped  = "9aa00000-0000-4000-8000-000000000002"
	)
	writeFile(t, filepath.Join(dir, "events", "match.json"),
		`{"source": "guard.orders", "detail-type": "OrderCreated", "detail": {"orderId": "ord-1001", "correlationId": "`+matching+`"}}`+"\n")
	writeFile(t, filepath.Join(dir, "events", "other.json"),
		`{"source": "guard.orders", "detail-type": "OrderCreated", "detail": {"orderId": "ord-2002", "correlationId": "`+dropped+`"}}`+"\n")

	cli := cloudCLI{t: t, dir: dir, env: a.Env, provider: "azure"}
	r := cli.run("deploy", "--provider", "azure")
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "wildcard") || len(a.MutatingCalls()) != 0 {
		t.Fatalf("deploy without the guard: exit %d and %d writes; want exit 2 naming the wildcard, no write:\n%s%s",
			r.code, len(a.MutatingCalls()), r.stdout, r.stderr)
	}
	cli.env = append(slices.Clone(a.Env), "EVCLI_AZURE_GUARD=in-function")
	cli.must("deploy", "--provider", "azure")
	for _, f := range []string{"events/match.json", "events/other.json"} {
		cli.must("send", "--provider", "azure", f)
	}

	wait := budget(time.Minute)
	deadline := time.Now().Add(wait)
	var runs []fakecloud.AzureRun
	for {
		runs = runs[:0]
		for _, run := range a.Runs() {
			if run.Function == "events" {
				runs = append(runs, run)
			}
		}
		if len(runs) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, the host ran events %d times; want 2 (both events pass Event Grid's filters): %+v", wait, len(runs), a.Runs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ran := func(run fakecloud.AzureRun, corr string) bool {
		return slices.ContainsFunc(run.Logs, func(l string) bool { return strings.Contains(l, "order recorded") && strings.Contains(l, corr) })
	}
	guarded := func(run fakecloud.AzureRun) bool {
		return slices.ContainsFunc(run.Logs, func(l string) bool {
			return strings.HasPrefix(l, "evcli guard: event ") && strings.HasSuffix(l, "acknowledged without running the handler")
		})
	}
	var handled, acked int
	for _, run := range runs {
		switch {
		case run.Status/100 != 2:
			t.Errorf("a delivery failed (status %d): %q", run.Status, run.Logs)
		case ran(run, matching) && !guarded(run):
			handled++
		case guarded(run) && !slices.ContainsFunc(run.Logs, func(l string) bool { return strings.Contains(l, "order recorded") }):
			acked++
		default:
			t.Errorf("a delivery neither ran the handler for %s nor was dropped by the guard: %q", matching, run.Logs)
		}
	}
	if len(runs) != 2 || handled != 1 || acked != 1 {
		t.Errorf("%d deliveries to events: %d ran the handler, %d dropped by the guard; want 2: 1 and 1", len(runs), handled, acked)
	}
	// invoke calls the entrypoint's evcli-invoke, which runs the handler
	// without the guard and answers its result. The body reaches an
	// app.eventGrid handler as it is, so the payload is a CloudEvent.
	r = cli.must("invoke", "--provider", "azure", "analytics", "--payload",
		`{"specversion": "1.0", "id": "inv-1", "source": "guard.orders", "type": "OrderCreated", "data": {"orderId": "ord-3003", "items": [{"quantity": 2}]}}`)
	if !strings.Contains(r.stdout, `"units": 2`) && !strings.Contains(r.stdout, `"units":2`) {
		t.Errorf("invoke analytics: want the handler's result (units 2), got:\n%s%s", r.stdout, r.stderr)
	}
	if !slices.ContainsFunc(a.Runs(), func(run fakecloud.AzureRun) bool {
		return run.Function == "evcli-invoke" && slices.ContainsFunc(run.Logs, func(l string) bool {
			return strings.HasPrefix(l, "Executed 'Functions.evcli-invoke' (Succeeded, ")
		})
	}) {
		t.Errorf("invoke did not run the app's evcli-invoke function: %+v", a.Runs())
	}
	// tail sees the handler's line for the matching event only.
	if got := cli.waitInvocations([]string{"analytics"}, matching, 1); len(got["analytics"]) != 1 {
		t.Errorf("analytics ran %d times for the matching event: %v", len(got["analytics"]), got)
	}
	if other := cli.invocations(nil, dropped); len(other) != 0 {
		t.Errorf("the handler ran for the event the guard drops: %v", other)
	}
}

// TestAzureEntrypointPython: a Python function published with evcli's
// generated entrypoint (evcli_entry.py, named by PYTHON_SCRIPT_FILE_NAME)
// runs on the fake as the Python worker would run it: Event Grid's
// deliveries go to the entrypoint's events function, which runs the
// function's event_grid_trigger handler, and invoke goes to evcli-invoke,
// which answers the handler's result.
func TestAzureEntrypointPython(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "python")
	a := startFakeAzure(t)

	root := t.TempDir()
	must(t, root, "init", "pyshop", "--provider", "azure", "--template", "fan-out", "--lang", "python")
	dir := filepath.Join(root, "pyshop")
	y, err := os.ReadFile(filepath.Join(dir, "evcli.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Keep one function, analytics (the last the template lists).
	head, _, ok := strings.Cut(string(y), "functions:\n")
	i := strings.Index(string(y), "  analytics:\n")
	if !ok || i < 0 {
		t.Fatalf("the template's evcli.yaml has no analytics function:\n%s", y)
	}
	writeFile(t, filepath.Join(dir, "evcli.yaml"), head+"functions:\n"+string(y)[i:])
	cli := cloudCLI{t: t, dir: dir, env: a.Env, provider: "azure"}
	cli.must("deploy", "--provider", "azure")
	cli.must("send", "--provider", "azure", "events/order-created.json")

	wait := budget(time.Minute)
	deadline := time.Now().Add(wait)
	for {
		var run *fakecloud.AzureRun
		for _, r := range a.Runs() {
			if r.Function == "events" {
				run = &r
			}
		}
		if run != nil {
			if run.Status/100 != 2 || !slices.ContainsFunc(run.Logs, func(l string) bool { return strings.Contains(l, "order recorded") }) {
				t.Errorf("the delivery to events: status %d, lines %q; want the handler's \"order recorded\"", run.Status, run.Logs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, the host has not run events: %+v", wait, a.Runs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := cli.must("invoke", "--provider", "azure", "analytics", "--payload",
		`{"specversion": "1.0", "id": "inv-1", "source": "pyshop.orders", "type": "OrderCreated", "data": {"orderId": "ord-3003", "items": [{"quantity": 2}]}}`)
	if !strings.Contains(r.stdout, `"units": 2`) && !strings.Contains(r.stdout, `"units":2`) {
		t.Errorf("invoke analytics: want the handler's result (units 2), got:\n%s%s", r.stdout, r.stderr)
	}
	if !slices.ContainsFunc(a.Runs(), func(run fakecloud.AzureRun) bool {
		return run.Function == "evcli-invoke" && run.Status == 200
	}) {
		t.Errorf("invoke did not run the app's evcli-invoke function: %+v", a.Runs())
	}
}
