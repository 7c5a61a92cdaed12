package main

import (
	"errors"
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

	deadline = time.Now().Add(budget(time.Minute))
	for {
		r = cli.must("replay", "--provider", "azure", "--since", "1h", "--dry-run")
		if strings.Contains(r.stdout+r.stderr, "2 events would be published") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store writer did not store the two events within %s; replay --dry-run says:\n%s%s", budget(time.Minute), r.stdout, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r = cli.must("replay", "--provider", "azure", "--since", "1h", "--yes")
	if !strings.Contains(r.stdout+r.stderr, "2 selected, 2 published, 0 failed") {
		t.Errorf("replay did not re-publish both stored events:\n%s%s", r.stdout, r.stderr)
	}
	got = cli.waitInvocations(fns, created, 2)
	for _, f := range fns {
		if len(got[f]) != 2 {
			t.Errorf("after the replay, %s ran %d times for the OrderCreated flow; want 2: %v", f, len(got[f]), got[f])
		}
	}
	if other := cli.invocations(nil, shipped); len(other) != 0 {
		t.Errorf("functions ran for OrderShipped, which no pattern matches: %v", other)
	}
}
