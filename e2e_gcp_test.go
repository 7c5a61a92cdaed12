package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/internal/fakecloud"
	"github.com/evcli/evcli/internal/testenv"
)

// cloudEnvUnset are the variables of the developer's own cloud setup that
// must not reach evcli in a test against a fake cloud.
var cloudEnvUnset = []string{
	"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT",
	"PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST",
	"EVCLI_PROVIDER", "EVCLI_REGION",
	"AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_LOCATION", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
}

// syncBuffer is a bytes.Buffer safe for the fake's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startFakeGCP starts a fake Google Cloud for t, skipping t with the fix
// when the Firestore emulator (Java) or node is not installed.
func startFakeGCP(t *testing.T) *fakecloud.GCP {
	t.Helper()
	var log syncBuffer
	g, err := fakecloud.StartGCP(fakecloud.GCPOptions{Log: &log, FirestoreWait: budget(90 * time.Second), TempDir: t.TempDir()})
	var absent *fakecloud.AbsentError
	if errors.As(err, &absent) {
		testenv.Skip(t, absent.What, absent.Fix)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Close()
		if t.Failed() {
			t.Logf("the fake cloud's log:\n%s", log.String())
		}
	})
	return g
}

// cloudCLI runs evcli in dir against a fake cloud's env.
// replayStoredPair waits until the store writer has stored the two events
// sent (replay --dry-run finds them), replays them, and checks that every
// function of fns ran a second time for the flow of created.
func (c cloudCLI) replayStoredPair(fns []string, created string) {
	c.t.Helper()
	deadline := time.Now().Add(budget(time.Minute))
	for {
		r := c.must("replay", "--provider", c.provider, "--since", "1h", "--dry-run")
		if strings.Contains(r.stdout+r.stderr, "2 events would be published") {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the store writer did not store the two events within %s; replay --dry-run says:\n%s%s", budget(time.Minute), r.stdout, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := c.must("replay", "--provider", c.provider, "--since", "1h", "--yes")
	if !strings.Contains(r.stdout+r.stderr, "2 selected, 2 published, 0 failed") {
		c.t.Errorf("replay did not re-publish both stored events:\n%s%s", r.stdout, r.stderr)
	}
	got := c.waitInvocations(fns, created, 2)
	for _, f := range fns {
		if len(got[f]) != 2 {
			c.t.Errorf("after the replay, %s ran %d times for the OrderCreated flow; want 2: %v", f, len(got[f]), got[f])
		}
	}
}

type cloudCLI struct {
	t        *testing.T
	dir      string
	env      []string
	provider string
}

func (c cloudCLI) run(args ...string) result {
	c.t.Helper()
	return runWith(c.t, c.dir, "", c.env, cloudEnvUnset, args...)
}

func (c cloudCLI) must(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("evcli %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// invocations reads `tail -o json --follow=false` and returns, per
// function, the distinct request ids (Cloud Functions' execution ids) of
// its log lines with correlation id corr.
func (c cloudCLI) invocations(args []string, corr string) map[string][]string {
	c.t.Helper()
	got, _ := c.invocationsOut(args, corr)
	return got
}

// invocationsOut is invocations that also returns tail's output.
func (c cloudCLI) invocationsOut(args []string, corr string) (map[string][]string, string) {
	c.t.Helper()
	r := c.must(append([]string{"tail", "--provider", c.provider, "-o", "json", "--follow=false", "--since", "1h"}, args...)...)
	out := map[string][]string{}
	for _, rec := range records(c.t, r.stdout, "log") {
		fn, _ := rec["function"].(string)
		id, _ := rec["requestId"].(string)
		if rec["correlationId"] != corr || fn == "" || id == "" {
			continue
		}
		if !slices.Contains(out[fn], id) {
			out[fn] = append(out[fn], id)
		}
	}
	return out, r.stdout + r.stderr
}

// waitInvocations polls tail until every function in fns has at least n
// invocations with correlation id corr, within a budget.
func (c cloudCLI) waitInvocations(fns []string, corr string, n int) map[string][]string {
	c.t.Helper()
	wait := budget(time.Minute)
	deadline := time.Now().Add(wait)
	for {
		got, out := c.invocationsOut(nil, corr)
		done := true
		for _, f := range fns {
			done = done && len(got[f]) >= n
		}
		if done {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after %s, the functions' invocations with correlation id %s are %v; want %d each for %v; tail says:\n%s",
				wait, corr, got, n, fns, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestGCPEndToEnd drives the evcli binary against a fake Google Cloud
// (pstest, the Firestore emulator, gcptest; the deployed Node.js code run
// by the local runtime), reached only through the emulator and endpoint
// variables: init -> deploy (a second deploy writes nothing) -> send ->
// the functions whose patterns match run, the others do not -> tail shows
// the flow by correlation id -> replay re-publishes from Firestore and the
// functions run again.
func TestGCPEndToEnd(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	g := startFakeGCP(t)

	root := t.TempDir()
	must(t, root, "init", "shop", "--provider", "gcp", "--template", "fan-out", "--lang", "node")
	dir := filepath.Join(root, "shop")
	appendFile(t, filepath.Join(dir, "evcli.yaml"), "region: europe-west1\nstore:\n  type: firestore\n  table: shop-events\n")
	// An event no function's pattern matches: it is stored, and runs nothing.
	const shipped = "5111bbed-0000-4000-8000-000000002002"
	writeFile(t, filepath.Join(dir, "events", "order-shipped.json"),
		`{"source": "shop.orders", "detail-type": "OrderShipped", "detail": {"orderId": "ord-1001", "correlationId": "`+shipped+`"}}`+"\n")
	cli := cloudCLI{t: t, dir: dir, env: g.Env, provider: "gcp"}
	fns := []string{"analytics", "inventory", "notification", "payment"}

	start := time.Now()
	r := cli.must("deploy", "--provider", "gcp")
	t.Logf("first deploy: %s", time.Since(start).Round(time.Millisecond))
	for _, f := range fns {
		if !strings.Contains(r.stdout+r.stderr, "ok "+f) {
			t.Errorf("the first deploy does not say %s was deployed:\n%s%s", f, r.stdout, r.stderr)
		}
	}
	before := g.MutatingCalls()
	if len(before) == 0 {
		t.Fatal("the first deploy made no mutating call on the fake")
	}
	r = cli.must("deploy", "--provider", "gcp")
	if !strings.Contains(r.stdout+r.stderr, "0 to create, 0 to update, 6 unchanged") {
		t.Errorf("the second deploy's plan is not all unchanged:\n%s%s", r.stdout, r.stderr)
	}
	if after := g.MutatingCalls(); !slices.Equal(before, after) {
		t.Errorf("the second deploy, with nothing changed, made mutating calls: %v", after[len(before):])
	}

	for _, f := range []string{"events/order-created.json", "events/order-shipped.json"} {
		if r := cli.must("send", "--provider", "gcp", f); !strings.Contains(r.stdout+r.stderr, "sent ") {
			t.Fatalf("send %s: want the event sent, got:\n%s%s", f, r.stdout, r.stderr)
		}
	}
	const created = "c0ffee00-0000-4000-8000-000000001001" // the template's event
	got := cli.waitInvocations(fns, created, 1)
	for _, f := range fns {
		if len(got[f]) != 1 {
			t.Errorf("%s ran %d times for the one OrderCreated event: %v", f, len(got[f]), got[f])
		}
	}

	// The flow by correlation id: a prefix selects it, and only it.
	r = cli.must("tail", "--provider", "gcp", "-o", "json", "--follow=false", "--since", "1h", "--correlation", created[:8])
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

	// Replay reads Firestore: wait until the writer stored both events.
	cli.replayStoredPair(fns, created)
	// Nothing ran for the OrderShipped event, sent or replayed.
	if other := cli.invocations(nil, shipped); len(other) != 0 {
		t.Errorf("functions ran for OrderShipped, which no pattern matches: %v", other)
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprint(f, text); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
