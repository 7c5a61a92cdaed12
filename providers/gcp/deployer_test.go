package gcp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/gcptest"
)

// deployEnv is a harness without Firestore, with a provider opened on it.
func deployEnv(t *testing.T, project string, opts ...gcptest.Option) (*harness, *providers.Provider) {
	t.Helper()
	h, err := newHarness(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	p := openOn(t, h, project)
	return h, p
}

func openOn(t *testing.T, h *harness, project string) *providers.Provider {
	t.Helper()
	p, err := h.Open(context.Background(), providers.OpenOptions{Project: project, Bus: project + "-bus"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func (h *harness) fn(t *testing.T, project, name string, variant int, patterns ...string) providers.FunctionDeployment {
	t.Helper()
	fd, err := h.Function(name, variant)
	if err != nil {
		t.Fatal(err)
	}
	fd.Name, fd.MemoryMB, fd.TimeoutS, fd.Architecture = name, 256, 30, "x86_64"
	fd.Env = map[string]string{"GREETING": "hi"}
	for i, p := range patterns {
		fd.Rules = append(fd.Rules, providers.RuleSpec{ID: fmt.Sprintf("r%d", i), Bus: project + "-bus", Pattern: []byte(p)})
	}
	return fd
}

// steps records the progress steps of ApplyFunction.
type steps struct {
	mu  sync.Mutex
	all []string
}

func (s *steps) add(x string) { s.mu.Lock(); s.all = append(s.all, x); s.mu.Unlock() }

func TestApplyReportsStagesAndUpdatesOnlyWhatDiffers(t *testing.T) {
	h, p := deployEnv(t, "shop", gcptest.WithSettle(3))
	fd := h.fn(t, "shop", "Orders_API", 1, `{"source":["shop"],"detail-type":["OrderPlaced"]}`)
	var st steps
	if err := p.Deployer.ApplyFunction(context.Background(), fd, true, st.add); err != nil {
		t.Fatalf("create: %v", err)
	}
	for _, want := range []string{"upload source", "create function", "build", "service", "create subscription"} {
		if !slices.ContainsFunc(st.all, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("steps %q lack %q", st.all, want)
		}
	}
	// The physical name carries the project, in Cloud Functions' alphabet.
	id := FunctionID("shop", "Orders_API")
	if !strings.HasPrefix(id, "shop-orders-api-") || len(id) > 63 {
		t.Errorf("FunctionID = %q, want shop-orders-api-<hash>", id)
	}
	full := "projects/" + testCloudProject + "/locations/" + testRegion + "/functions/" + id
	if _, ok := h.fake.Function(full); !ok {
		t.Fatalf("no function %s in the fake: %v", full, h.fake.Functions())
	}

	before := len(h.fake.MutatingCalls())
	fd.MemoryMB = 512
	if err := p.Deployer.ApplyFunction(context.Background(), fd, false, nil); err != nil {
		t.Fatalf("update: %v", err)
	}
	calls := h.fake.MutatingCalls()[before:]
	if len(calls) != 1 || calls[0].Method != "UpdateFunction" || !slices.Equal(calls[0].Mask, []string{"service_config.available_memory"}) {
		t.Errorf("a memory change made %+v, want one UpdateFunction of service_config.available_memory (no upload)", calls)
	}
	got, err := p.Deployer.Deployed(context.Background())
	if err != nil || len(got) != 1 || got[0].Name != "Orders_API" || got[0].MemoryMB != 512 || got[0].Env["GREETING"] != "hi" || len(got[0].Env) != 1 {
		t.Errorf("Deployed = %+v, %v", got, err)
	}
}

func TestApplyClassifiesTheCloudsErrors(t *testing.T) {
	cases := []struct {
		method string
		err    error
		code   providers.Code
	}{
		{"CreateFunction", status.Error(codes.PermissionDenied, "Permission 'cloudfunctions.functions.create' denied"), providers.PermissionDenied},
		{"CreateFunction", status.Error(codes.AlreadyExists, "Function shop-a already exists"), providers.Conflict},
		{"CreateFunction", status.Error(codes.ResourceExhausted, "Quota exceeded for quota metric 'Write requests'"), providers.Throttled},
		{"CreateFunction", status.Error(codes.Unavailable, "The service is currently unavailable."), providers.Unavailable},
		{"GenerateUploadUrl", status.Error(codes.Unauthenticated, "Request had invalid authentication credentials."), providers.Unauthenticated},
		{"Upload", &gcptest.HTTPError{Status: 403, Body: "SignatureDoesNotMatch"}, providers.PermissionDenied},
		{"Upload", &gcptest.HTTPError{Status: 503, Body: "Service Unavailable"}, providers.Unavailable},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.code.String(), func(t *testing.T) {
			h, p := deployEnv(t, "shop")
			h.fake.Fail(c.method, c.err)
			err := p.Deployer.ApplyFunction(context.Background(), h.fn(t, "shop", "a", 1), true, nil)
			if providers.CodeOf(err) != c.code {
				t.Fatalf("ApplyFunction with %s failing (%v) = %v (code %v), want code %v", c.method, c.err, err, providers.CodeOf(err), c.code)
			}
			var pe *providers.Error
			if errors.As(err, &pe) && (c.code == providers.PermissionDenied || c.code == providers.Unauthenticated) && pe.Hint == "" {
				t.Errorf("%v has no hint", err)
			}
			if d, _ := p.Deployer.Deployed(context.Background()); len(d) != 0 {
				t.Errorf("a failed create left %+v", d)
			}
		})
	}
}

func TestApplyRefusesWhatPubSubCannotFilterWithoutTheGuard(t *testing.T) {
	h, err := newHarness(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.envOver = map[string]string{EnvGuard: ""}
	t.Cleanup(h.Close)
	p := openOn(t, h, "shop")
	fd := h.fn(t, "shop", "big", 1, `{"source":["shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`)
	before := len(h.MutatingCalls())
	err = p.Deployer.ApplyFunction(context.Background(), fd, true, nil)
	if providers.CodeOf(err) != providers.Unsupported || !strings.Contains(err.Error(), `operator "numeric" on detail.amount`) {
		t.Fatalf("ApplyFunction of a numeric pattern = %v (code %v), want Unsupported naming the numeric operator on detail.amount", err, providers.CodeOf(err))
	}
	if calls := h.MutatingCalls()[before:]; len(calls) > 0 {
		t.Errorf("a refused function made mutating calls: %v", calls)
	}
	// What Pub/Sub can filter deploys without the opt-in.
	ok := h.fn(t, "shop", "orders", 1, `{"source":["shop"],"detail-type":[{"prefix":"Order"}]}`)
	if err := p.Deployer.ApplyFunction(context.Background(), ok, true, nil); err != nil {
		t.Fatalf("ApplyFunction of a filterable pattern: %v", err)
	}
}

func TestAFunctionOfAnotherProjectIsNotTaken(t *testing.T) {
	h, p := deployEnv(t, "a-b")
	if err := p.Deployer.ApplyFunction(context.Background(), h.fn(t, "a-b", "c", 1), true, nil); err != nil {
		t.Fatal(err)
	}
	// Project "a" with function "b-c" has the same physical name, a-b-c.
	q := openOn(t, h, "a")
	err := q.Deployer.ApplyFunction(context.Background(), h.fn(t, "a", "b-c", 1), true, nil)
	if providers.CodeOf(err) != providers.Conflict || !strings.Contains(err.Error(), "belongs to evcli project a-b") {
		t.Fatalf("deploying over another project's function = %v (code %v), want Conflict naming the owner", err, providers.CodeOf(err))
	}
	if err := q.Deployer.DeleteFunction(context.Background(), "b-c"); providers.CodeOf(err) != providers.Conflict {
		t.Errorf("deleting another project's function = %v, want Conflict", err)
	}
	if d, _ := q.Deployer.Deployed(context.Background()); len(d) != 0 {
		t.Errorf("project a sees %+v", d)
	}
}

// BenchmarkNoChangeDeploy50 is a second deploy of 50 unchanged functions
// with rules: Deployed (one paged list) and the plan; it fails on any
// mutating call.
func BenchmarkNoChangeDeploy50(b *testing.B) {
	h, err := newHarness(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	p, err := h.Open(ctx, providers.OpenOptions{Project: "bench", Bus: "bench-bus"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	var desired []providers.FunctionDeployment
	for i := range 50 {
		fd, err := h.Function(fmt.Sprintf("f%02d", i), 1)
		if err != nil {
			b.Fatal(err)
		}
		fd.Name, fd.MemoryMB, fd.TimeoutS, fd.Architecture = fmt.Sprintf("f%02d", i), 256, 30, "x86_64"
		fd.Rules = []providers.RuleSpec{{ID: "r", Bus: "bench-bus", Pattern: []byte(`{"source":["bench"]}`)}}
		desired = append(desired, fd)
	}
	plan := deploy.Plan(desired, nil, deploy.PlanOptions{})
	for _, r := range deploy.Apply(ctx, plan, p.Deployer, deploy.ApplyOptions{Concurrency: 8}) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	before := len(h.MutatingCalls())
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Shared.PlanShared(ctx, true); err != nil {
			b.Fatal(err)
		}
		deployed, err := p.Deployer.Deployed(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range deploy.Plan(desired, deployed, deploy.PlanOptions{Prune: true}) {
			if c.Action != deploy.Unchanged {
				b.Fatalf("%s: %s %v", c.Name, c.Action, c.Fields)
			}
		}
	}
	if calls := h.MutatingCalls()[before:]; len(calls) > 0 {
		b.Fatalf("a no-change deploy made %d mutating calls: %v", len(calls), calls)
	}
}

func TestRouteAnswersAsTheFilterAndGuardDeliver(t *testing.T) {
	h, p := deployEnv(t, "shop")
	ctx := context.Background()
	for _, fd := range []providers.FunctionDeployment{
		h.fn(t, "shop", "orders", 1, `{"source":["shop"],"detail-type":[{"prefix":"Order"}]}`),
		h.fn(t, "shop", "big", 1, `{"source":["shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`),
	} {
		if err := p.Deployer.ApplyFunction(ctx, fd, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	route, err := p.Router.Route(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for detail, want := range map[string][]string{`{"amount":500}`: {"big", "orders"}, `{"amount":5}`: {"orders"}} {
		got := route(providers.Event{Source: "shop", DetailType: "OrderPlaced", Detail: []byte(detail)})
		if !slices.Equal(got, want) {
			t.Errorf("OrderPlaced %s routes to %v, want %v", detail, got, want)
		}
	}
}

func TestRollbackServesTheEarlierRevisionsCode(t *testing.T) {
	h, p := deployEnv(t, "shop", gcptest.WithInvoke(func(_ *functionspb.Function, src []byte, _ http.Header, _ []byte) gcptest.Result {
		sum := sha256.Sum256(src)
		return gcptest.Result{Status: 200, Body: []byte(`"` + base64.StdEncoding.EncodeToString(sum[:]) + `"`)}
	}))
	ctx := context.Background()
	v1, v2 := h.fn(t, "shop", "orders", 1), h.fn(t, "shop", "orders", 2)
	for _, fd := range []providers.FunctionDeployment{v1, v2} {
		if err := p.Deployer.ApplyFunction(ctx, fd, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	runs := func() string {
		res, err := p.Invoker.Invoke(ctx, "orders", []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Trim(string(res.Payload), `"`)
	}
	if got := runs(); got != v2.CodeSha256 {
		t.Fatalf("before the rollback the function runs %s, want variant 2 (%s)", got, v2.CodeSha256)
	}
	from, to, err := p.Rollbacker.Rollback(ctx, "orders", "")
	if err != nil || from == to {
		t.Fatalf("Rollback = %q -> %q, %v", from, to, err)
	}
	if got := runs(); got != v1.CodeSha256 {
		t.Errorf("after the rollback to %s the function runs %s, want variant 1 (%s)", to, got, v1.CodeSha256)
	}
	if _, _, err := p.Rollbacker.Rollback(ctx, "orders", "no-such-revision"); providers.CodeOf(err) != providers.NotFound {
		t.Errorf("Rollback to an unknown revision = %v, want NotFound", err)
	}
}
