package gcp

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/gcptest"
	"github.com/evcli/evcli/tune"
)

// probeEnv deploys function orders at 256 MB on a fake whose handler runs
// onInvoke (nil: answers its memory), and returns the provider.
func probeEnv(t *testing.T, onInvoke func(fn *functionspb.Function) gcptest.Result) (*harness, *providers.Provider) {
	t.Helper()
	if onInvoke == nil {
		onInvoke = func(fn *functionspb.Function) gcptest.Result {
			return gcptest.Result{Status: 200, Body: []byte(`"` + fn.GetServiceConfig().GetAvailableMemory() + `"`), Logs: []string{"probed"}}
		}
	}
	h, p := deployEnv(t, "shop", gcptest.WithInvoke(func(fn *functionspb.Function, _ []byte, _ http.Header, _ []byte) gcptest.Result {
		return onInvoke(fn)
	}))
	fd := h.fn(t, "shop", "orders", 1, `{"source":["shop"]}`)
	fd.Role = "orders@evcli-conformance.iam.gserviceaccount.com"
	if err := p.Deployer.ApplyFunction(context.Background(), fd, true, nil); err != nil {
		t.Fatal(err)
	}
	return h, p
}

// copies are the functions of the fake other than the deployed one.
func copies(h *harness) []string {
	var out []string
	for _, f := range h.fake.Functions() {
		if !strings.HasSuffix(f.Name, "/"+FunctionID("shop", "orders")) {
			out = append(out, f.Name)
		}
	}
	return out
}

// TestProbeCreatesInvokesAndDeletesCopies: tune memory --probe on gcp
// creates a copy at each size (the live source, runtime, entry point,
// account; no project label, so no listing sees it), invokes it runs
// times, records the request log's durations, and deletes it.
func TestProbeCreatesInvokesAndDeletesCopies(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{} // copy id -> invocations
	h, p := probeEnv(t, func(fn *functionspb.Function) gcptest.Result {
		mu.Lock()
		seen[fn.Name[strings.LastIndex(fn.Name, "/")+1:]]++
		mu.Unlock()
		return gcptest.Result{Status: 200, Body: []byte(`{}`)}
	})
	if err := p.Require(providers.AbilityProbe); err != nil {
		t.Fatalf("gcp cannot probe: %v", err)
	}
	live, _ := h.fake.Function("projects/" + testCloudProject + "/locations/" + testRegion + "/functions/" + FunctionID("shop", "orders"))
	before := len(h.fake.MutatingCalls())
	results, err := tune.Probe(context.Background(), p.Prober, "orders", []int{512, 1024}, []byte(`{"x":1}`), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	var creates, deletes int
	for _, c := range h.fake.MutatingCalls()[before:] {
		switch c.Method {
		case "CreateFunction":
			creates++
			f := c.Resource[strings.LastIndex(c.Resource, "/")+1:]
			if !strings.HasPrefix(f, FunctionID("shop", "orders")+"-tune-") {
				t.Errorf("copy named %s", f)
			}
		case "DeleteFunction":
			deletes++
		case "Upload":
			t.Errorf("the probe uploaded a source: the copy builds from the live one")
		default:
			t.Errorf("the probe made %v", c)
		}
	}
	if creates != 2 || deletes != 2 {
		t.Errorf("%d creates and %d deletes, want a copy per size, each deleted", creates, deletes)
	}
	if l := copies(h); len(l) != 0 {
		t.Errorf("copies left: %v", l)
	}
	if len(seen) != 2 {
		t.Errorf("invoked %v, want two copies", seen)
	}
	for id, n := range seen {
		if n != 3 || !strings.Contains(id, "-tune-") {
			t.Errorf("%s invoked %d times, want a copy invoked 3 times", id, n)
		}
	}
	if len(results) != 2 {
		t.Fatalf("results %+v", results)
	}
	for _, r := range results {
		if r.Runs != 3 || r.Failed != 0 {
			t.Errorf("%d MB: %+v, want 3 measured invocations", r.MemoryMB, r)
		}
	}
	// The records carry the request log's durations, per execution.
	recs, err := p.Prober.Probe(context.Background(), "orders", 2048, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
	logged := loggedLatencies(t, h)
	for _, r := range recs {
		want, ok := logged[r.RequestID]
		if !ok || r.DurationMs <= 0 || r.DurationMs != want || r.MemorySizeMB != 2048 || r.Function != "orders" || r.Outcome != "ok" || r.BilledDurationMs < 100 {
			t.Errorf("record %+v: want the request log's duration %v (logged: %v) at 2048 MB", r, want, ok)
		}
	}
	if got, _ := h.fake.Function(live.Name); got.GetServiceConfig().GetAvailableMemory() != live.GetServiceConfig().GetAvailableMemory() ||
		got.GetServiceConfig().GetRevision() != live.GetServiceConfig().GetRevision() {
		t.Errorf("the live function changed: %v -> %v", live.GetServiceConfig(), got.GetServiceConfig())
	}
	if d, _ := p.Deployer.Deployed(context.Background()); len(d) != 1 {
		t.Errorf("Deployed = %+v", d)
	}
}

// loggedLatencies reads every request log entry of the fake's copies:
// execution id -> latency in ms, as the driver reads it.
func loggedLatencies(t *testing.T, h *harness) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, e := range h.fake.LogEntries() {
		if e.HttpRequest != nil {
			out[e.Labels["execution_id"]] = float64(e.HttpRequest.GetLatency().AsDuration().Microseconds()) / 1000
		}
	}
	return out
}

// TestProbeDeletesTheCopyOnEveryExitPath: an invocation failing, a create
// whose answer is lost after the server made the copy, and Ctrl-C during
// an invocation all leave no copy.
func TestProbeDeletesTheCopyOnEveryExitPath(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness, cancel context.CancelFunc) func(*functionspb.Function) gcptest.Result
		want  func(error) bool
	}{
		{"invoke refused", func(h *harness, _ context.CancelFunc) func(*functionspb.Function) gcptest.Result {
			return func(*functionspb.Function) gcptest.Result {
				return gcptest.Result{Status: 429, Body: []byte("Rate exceeded.")}
			}
		}, func(err error) bool { return providers.CodeOf(err) == providers.Throttled }},
		{"create's operation unreadable", func(h *harness, _ context.CancelFunc) func(*functionspb.Function) gcptest.Result {
			h.fake.Fail("GetOperation", status.Error(codes.PermissionDenied, "Permission 'cloudfunctions.operations.get' denied"))
			return nil
		}, func(err error) bool { return providers.CodeOf(err) == providers.PermissionDenied }},
		{"interrupted during an invocation", func(h *harness, cancel context.CancelFunc) func(*functionspb.Function) gcptest.Result {
			n := 0
			return func(fn *functionspb.Function) gcptest.Result {
				if n++; n == 2 {
					cancel()
				}
				return gcptest.Result{Status: 200, Body: []byte(`{}`)}
			}
		}, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var handler func(*functionspb.Function) gcptest.Result
			h, p := probeEnv(t, func(fn *functionspb.Function) gcptest.Result {
				if handler != nil {
					return handler(fn)
				}
				return gcptest.Result{Status: 200, Body: []byte(`{}`)}
			})
			before := len(h.fake.MutatingCalls())
			handler = tt.setup(h, cancel)
			_, err := p.Prober.Probe(ctx, "orders", 512, nil, 3)
			if err == nil || !tt.want(err) {
				t.Fatalf("Probe = %v", err)
			}
			created := false
			for _, c := range h.fake.MutatingCalls()[before:] {
				created = created || c.Method == "CreateFunction"
			}
			if !created {
				t.Fatal("no copy was created: the test proves nothing")
			}
			if l := copies(h); len(l) != 0 {
				t.Errorf("copies left after %v: %v", err, l)
			}
		})
	}
}

func TestProbeRefusesWhatItCannotCopy(t *testing.T) {
	_, p := probeEnv(t, nil)
	if _, err := p.Prober.Probe(context.Background(), "nope", 512, nil, 1); providers.CodeOf(err) != providers.NotFound {
		t.Errorf("probing a missing function = %v, want NotFound", err)
	}
	if _, err := p.Prober.Probe(context.Background(), "orders", 64, nil, 1); providers.CodeOf(err) != providers.InvalidArgument {
		t.Errorf("probing at 64 MB = %v, want InvalidArgument", err)
	}
}

func TestTuneCopyID(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, c := range []struct{ id, want string }{
		{"shop-orders-1a2b", "shop-orders-1a2b-tune-512-abc123"},
		{long, strings.Repeat("a", 63-len("-tune-512-abc123")) + "-tune-512-abc123"},
	} {
		got := TuneCopyID(c.id, 512, "abc123")
		if got != c.want || len(got) > 63 {
			t.Errorf("TuneCopyID(%q) = %q, want %q", c.id, got, c.want)
		}
	}
}
