package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// fakeInvoker runs a per-function behaviour and records every call.
type fakeInvoker struct {
	mu    sync.Mutex
	calls []call
	fns   map[string]func(ctx context.Context, payload []byte, attempt int) (InvokeOutcome, error)
	count map[string]int
}

type call struct {
	fn      string
	payload []byte
	flow    string
}

func newFakeInvoker() *fakeInvoker {
	return &fakeInvoker{fns: map[string]func(context.Context, []byte, int) (InvokeOutcome, error){}, count: map[string]int{}}
}

func (f *fakeInvoker) on(fn string, h func(ctx context.Context, payload []byte, attempt int) (InvokeOutcome, error)) {
	f.mu.Lock()
	f.fns[fn] = h
	f.mu.Unlock()
}

func (f *fakeInvoker) Invoke(ctx context.Context, fn string, payload []byte) (InvokeOutcome, error) {
	flow, _ := FlowFromContext(ctx)
	f.mu.Lock()
	f.calls = append(f.calls, call{fn: fn, payload: payload, flow: flow})
	f.count[fn]++
	n := f.count[fn]
	h := f.fns[fn]
	f.mu.Unlock()
	if h == nil {
		return InvokeOutcome{DurationMs: 1}, nil
	}
	return h(ctx, payload, n)
}

func (f *fakeInvoker) callsOf(fn string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.fn == fn {
			out = append(out, c)
		}
	}
	return out
}

type harness struct {
	db  *store.DB
	inv *fakeInvoker
	bus *Bus
	// backoffs records the waits asked of Sleep.
	mu       sync.Mutex
	backoffs []time.Duration
}

// newHarness opens a store, deploys rules (function -> pattern, on the
// default bus unless the key is "bus/function"), and starts a bus.
func newHarness(t testing.TB, rules map[string]string, mod ...func(*Options)) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for key, pat := range rules {
		busName, fn := store.DefaultBus, key
		if i := strings.IndexByte(key, '/'); i >= 0 {
			busName, fn = key[:i], key[i+1:]
		}
		if err := db.PutFunction(ctx, store.FunctionRecord{Name: fn, Runtime: "provided.al2023", Concurrency: 4}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetRules(ctx, fn, []store.Rule{{ID: fn + "-rule", Bus: busName, Pattern: json.RawMessage(pat)}}); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{db: db, inv: newFakeInvoker()}
	var ids atomic.Int64
	o := Options{
		Store: db, Invoker: h.inv,
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.backoffs = append(h.backoffs, d)
			h.mu.Unlock()
			return ctx.Err()
		},
		Now:   func() time.Time { return t0 },
		NewID: func() string { return fmt.Sprintf("id-%04d", ids.Add(1)) },
	}
	for _, m := range mod {
		m(&o)
	}
	h.bus, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.bus.Close() })
	return h
}

func order(detail string) providers.Event {
	return providers.Event{Source: "shop.orders", DetailType: "OrderCreated", Detail: json.RawMessage(detail)}
}

func waitFlow(t testing.TB, b *Bus, flow string) []store.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := b.Wait(ctx, flow)
	if err != nil {
		t.Fatalf("Wait(%s): %v", flow, err)
	}
	return ds
}

func TestPublishFillsEnvelopeAndStoresBeforeDelivery(t *testing.T) {
	h := newHarness(t, map[string]string{"audit": `{"source":["shop.orders"]}`})
	var notStored atomic.Int32
	h.inv.on("audit", func(ctx context.Context, payload []byte, _ int) (InvokeOutcome, error) {
		var env providers.Event
		json.Unmarshal(payload, &env)
		if _, ok, err := h.db.Event(context.Background(), env.ID); !ok || err != nil {
			notStored.Add(1)
		}
		return InvokeOutcome{DurationMs: 2.5}, nil
	})
	flow := h.bus.NewFlow()
	res, err := h.bus.PublishInFlow(context.Background(), flow, "", []providers.Event{order(`{"orderId":"o-1","correlationId":"c-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].EventID == "" || res[0].ErrorCode != "" {
		t.Fatalf("result = %+v", res[0])
	}
	ds := waitFlow(t, h.bus, flow)
	if notStored.Load() != 0 {
		t.Fatal("a delivery started before its event was in the store")
	}
	if len(ds) != 1 || ds[0].Status != "ok" || ds[0].Function != "audit" || ds[0].CorrelationID != "c-1" || ds[0].DurationMs != 2.5 || ds[0].Attempts != 1 {
		t.Fatalf("deliveries = %+v", ds)
	}
	calls := h.inv.callsOf("audit")
	want := `{"version":"0","id":"` + res[0].EventID + `","detail-type":"OrderCreated","source":"shop.orders","account":"000000000000","time":"2026-11-26T10:00:00Z","region":"us-east-1","resources":[],"detail":{"orderId":"o-1","correlationId":"c-1"}}`
	if len(calls) != 1 || string(calls[0].payload) != want {
		t.Fatalf("payload =\n%s\nwant\n%s", calls[0].payload, want)
	}
	if calls[0].flow != flow {
		t.Fatalf("invoke ctx flow = %q; want %q", calls[0].flow, flow)
	}
	stored, _ := h.db.Deliveries(context.Background(), []string{res[0].EventID})
	if len(stored) != 1 || stored[0].Status != "ok" {
		t.Fatalf("stored deliveries = %+v", stored)
	}
}

// TestFanOutRunsTargetsInParallel holds each of four targets until all four
// have started: it completes only if they run at the same time.
func TestFanOutRunsTargetsInParallel(t *testing.T) {
	pat := `{"detail-type":["OrderCreated"]}`
	h := newHarness(t, map[string]string{"billing": pat, "shipping": pat, "email": pat, "analytics": pat})
	var started sync.WaitGroup
	started.Add(4)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	for _, fn := range []string{"billing", "shipping", "email", "analytics"} {
		h.inv.on(fn, func(ctx context.Context, _ []byte, _ int) (InvokeOutcome, error) {
			started.Done()
			select {
			case <-all:
				return InvokeOutcome{}, nil
			case <-time.After(20 * time.Second):
				return InvokeOutcome{}, errors.New("targets did not run in parallel")
			}
		})
	}
	flow := h.bus.NewFlow()
	if _, err := h.bus.PublishInFlow(context.Background(), flow, "default", []providers.Event{order(`{}`)}); err != nil {
		t.Fatal(err)
	}
	ds := waitFlow(t, h.bus, flow)
	var fns []string
	for _, d := range ds {
		if d.Status != "ok" {
			t.Fatalf("delivery %+v", d)
		}
		fns = append(fns, d.Function)
	}
	slices.Sort(fns)
	if !slices.Equal(fns, []string{"analytics", "billing", "email", "shipping"}) {
		t.Fatalf("delivered to %v", fns)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		failures  int
		useErr    bool
		retries   int
		want      []string // statuses recorded, in order
		wantCalls int
		wantError string
	}{
		{name: "fail twice then ok", failures: 2, want: []string{"retrying", "retrying", "ok"}, wantCalls: 3},
		{name: "fail three times", failures: 3, want: []string{"retrying", "retrying", "failed"}, wantCalls: 3, wantError: "Runtime.ExitError: exit status 2"},
		{name: "invoke error counts as failure", failures: 9, useErr: true, want: []string{"retrying", "retrying", "failed"}, wantCalls: 3, wantError: "function not ready"},
		{name: "no retries", failures: 1, retries: -1, want: []string{"failed"}, wantCalls: 1},
		{name: "ok at once", failures: 0, want: []string{"ok"}, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, map[string]string{"flaky": `{"source":["shop.orders"]}`}, func(o *Options) { o.Retries = tt.retries })
			h.inv.on("flaky", func(_ context.Context, _ []byte, attempt int) (InvokeOutcome, error) {
				if attempt > tt.failures {
					return InvokeOutcome{}, nil
				}
				if tt.useErr {
					return InvokeOutcome{}, errors.New("function not ready")
				}
				return InvokeOutcome{FunctionError: "Unhandled", ErrorType: "Runtime.ExitError", ErrorMessage: "exit status 2"}, nil
			})
			flow := h.bus.NewFlow()
			res, err := h.bus.PublishInFlow(context.Background(), flow, "", []providers.Event{order(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			final := waitFlow(t, h.bus, flow)
			if len(final) != 1 || final[0].Status != tt.want[len(tt.want)-1] || final[0].Attempts != tt.wantCalls {
				t.Fatalf("final = %+v", final)
			}
			if tt.wantError != "" && final[0].Error != tt.wantError {
				t.Fatalf("final error = %q; want %q", final[0].Error, tt.wantError)
			}
			rows, _ := h.db.Deliveries(context.Background(), []string{res[0].EventID})
			var statuses []string
			for i, r := range rows {
				statuses = append(statuses, r.Status)
				if r.Attempts != i+1 {
					t.Errorf("row %d attempts = %d", i, r.Attempts)
				}
			}
			if !slices.Equal(statuses, tt.want) {
				t.Fatalf("recorded %v; want %v", statuses, tt.want)
			}
			if n := len(h.inv.callsOf("flaky")); n != tt.wantCalls {
				t.Fatalf("%d calls; want %d", n, tt.wantCalls)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			wantBackoffs := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}[:len(tt.want)-1]
			if !slices.Equal(h.backoffs, wantBackoffs) {
				t.Fatalf("backoffs %v; want %v", h.backoffs, wantBackoffs)
			}
		})
	}
}

func TestPublishValidatesEachEntry(t *testing.T) {
	h := newHarness(t, nil)
	big := `{"x":"` + strings.Repeat("a", providers.MaxEntryBytes) + `"}`
	events := []providers.Event{
		order(`{"ok":1}`),
		{DetailType: "T", Detail: json.RawMessage(matchAll)},
		{Source: "s", Detail: json.RawMessage(matchAll)},
		{Source: "s", DetailType: "T"},
		{Source: "s", DetailType: "T", Detail: json.RawMessage(`[1]`)},
		{Source: "s", DetailType: "T", Detail: json.RawMessage(`{"a":`)},
		{Source: "s", DetailType: "T", Detail: json.RawMessage(big)},
		{Source: "s", DetailType: "T", Detail: json.RawMessage(matchAll), ID: "given-id", Time: t0.Add(time.Hour), EventBusName: "arn:aws:events:eu-west-1:123456789012:event-bus/orders"},
	}
	res, err := h.bus.Publish(context.Background(), "default", events)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ code, msg string }{
		{"", ""},
		{"InvalidArgument", "Source is a required argument"},
		{"InvalidArgument", "DetailType is a required argument"},
		{"InvalidArgument", "Detail is a required argument"},
		{"MalformedDetail", "must be a JSON object"},
		{"MalformedDetail", "must be a JSON object"},
		{"InvalidArgument", "exceeds the limit of 262144 bytes"},
		{"", ""},
	}
	for i, w := range want {
		if res[i].ErrorCode != w.code || !strings.Contains(res[i].ErrorMsg, w.msg) || (w.code == "") != (res[i].EventID != "") {
			t.Errorf("entry %d: %+v; want code %q msg ~%q", i, res[i], w.code, w.msg)
		}
	}
	if res[7].EventID != "given-id" {
		t.Fatalf("given id replaced: %+v", res[7])
	}
	got, ok, _ := h.db.Event(context.Background(), "given-id")
	if !ok || got.EventBusName != "orders" || !got.Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stored %+v", got)
	}
	n := 0
	for range h.db.Events(context.Background(), providers.EventQuery{}) {
		n++
	}
	if n != 2 {
		t.Fatalf("%d events stored; want the 2 valid ones", n)
	}
}

func TestRoutingByBusAndReload(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, map[string]string{
		"orders/shipper": `{"source":["shop.orders"]}`,
		"audit":          `{"source":[{"prefix":"shop."}]}`,
	})
	flow := h.bus.NewFlow()
	h.bus.PublishInFlow(ctx, flow, "default", []providers.Event{order(`{}`)})
	h.bus.PublishInFlow(ctx, flow, "orders", []providers.Event{order(`{}`)})
	ds := waitFlow(t, h.bus, flow)
	if len(ds) != 2 || len(h.inv.callsOf("shipper")) != 1 || len(h.inv.callsOf("audit")) != 1 {
		t.Fatalf("deliveries %+v", ds)
	}
	// Deploy a new rule; the bus sees it after Reload only.
	h.db.PutFunction(ctx, store.FunctionRecord{Name: "late"})
	h.db.SetRules(ctx, "late", []store.Rule{{ID: "late-0", Pattern: json.RawMessage(`{"detail":{"n":[1]}}`)}})
	flow = h.bus.NewFlow()
	h.bus.PublishInFlow(ctx, flow, "", []providers.Event{order(`{"n":1}`)})
	waitFlow(t, h.bus, flow)
	if len(h.inv.callsOf("late")) != 0 {
		t.Fatal("new rule used before Reload")
	}
	if err := h.bus.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	flow = h.bus.NewFlow()
	h.bus.PublishInFlow(ctx, flow, "", []providers.Event{order(`{"n":1}`), order(`{"n":2}`)})
	waitFlow(t, h.bus, flow)
	if len(h.inv.callsOf("late")) != 1 {
		t.Fatalf("late called %d times; want 1", len(h.inv.callsOf("late")))
	}
	// A bad pattern (an older evcli stored it) disables that rule only:
	// Reload works, the rule matches nothing.
	h.db.SetRules(ctx, "late", []store.Rule{{ID: "late-0", Pattern: json.RawMessage(`{"detail":{"n":[{"prefx":"1"}]}}`)}})
	if err := h.bus.Reload(ctx); err != nil {
		t.Fatalf("Reload err = %v", err)
	}
	flow = h.bus.NewFlow()
	h.bus.PublishInFlow(ctx, flow, "", []providers.Event{order(`{"n":1}`)})
	waitFlow(t, h.bus, flow)
	if len(h.inv.callsOf("late")) != 1 {
		t.Fatalf("the disabled rule was used: late called %d times", len(h.inv.callsOf("late")))
	}
}

// fakeMatcher routes by detail-type: every rule whose id starts with the type.
type fakeMatcher struct{ ids []string }

func (m fakeMatcher) Match(event []byte) ([]string, error) {
	var e struct {
		T string `json:"detail-type"`
	}
	json.Unmarshal(event, &e)
	var out []string
	for _, id := range m.ids {
		if strings.HasPrefix(id, e.T+"-") {
			out = append(out, id)
		}
	}
	return out, nil
}

func TestPluggedMatcher(t *testing.T) {
	ctx := context.Background()
	var got [][]store.Rule
	h := newHarness(t, map[string]string{"a": matchAll, "b": matchAll}, func(o *Options) {
		o.NewMatcher = func(rules []store.Rule) (Matcher, error) {
			got = append(got, rules)
			return fakeMatcher{ids: []string{"OrderCreated-x", "Other-y"}}, nil
		}
	})
	h.db.PutFunction(ctx, store.FunctionRecord{Name: "x"})
	h.db.SetRules(ctx, "x", []store.Rule{{ID: "OrderCreated-x", Pattern: json.RawMessage(matchAll)}})
	if err := h.bus.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	flow := h.bus.NewFlow()
	h.bus.PublishInFlow(ctx, flow, "", []providers.Event{order(`{}`)})
	ds := waitFlow(t, h.bus, flow)
	if len(ds) != 1 || ds[0].Function != "x" || ds[0].RuleID != "OrderCreated-x" {
		t.Fatalf("deliveries %+v", ds)
	}
	if len(got) != 2 || len(got[1]) != 3 {
		t.Fatalf("NewMatcher got %v", got)
	}
}

// TestCloseIsNotFailure: Close (Ctrl-C, SIGTERM) records no outcome for a
// delivery in progress, one queued, or one waiting to retry: each stays
// unfinished in the store, as after kill -9, and the next process's
// Redeliver finishes every one of them.
func TestCloseIsNotFailure(t *testing.T) {
	ctx := context.Background()
	waiting := make(chan struct{}, 16)
	h := newHarness(t, map[string]string{"slow": matchAll, "flaky": matchAll}, func(o *Options) {
		o.Sleep = func(ctx context.Context, _ time.Duration) error {
			waiting <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}
	})
	started := make(chan struct{}, 16)
	h.inv.on("slow", func(ctx context.Context, _ []byte, _ int) (InvokeOutcome, error) {
		started <- struct{}{}
		<-ctx.Done()
		return InvokeOutcome{}, ctx.Err()
	})
	h.inv.on("flaky", func(context.Context, []byte, int) (InvokeOutcome, error) {
		return InvokeOutcome{FunctionError: "Unhandled", ErrorMessage: "boom"}, nil
	})
	const n = 6 // slow runs 4 at once (the harness's concurrency): 2 stay queued
	evs := make([]providers.Event, n)
	for i := range evs {
		evs[i] = order(fmt.Sprintf(`{"n":%d}`, i))
	}
	flow := h.bus.NewFlow()
	res, err := h.bus.PublishInFlow(ctx, flow, "", evs)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		<-started
	}
	for range n {
		<-waiting
	}
	if err := h.bus.Close(); err != nil {
		t.Fatal(err)
	}
	if got := h.bus.Abandoned(); got != 2*n {
		t.Fatalf("Abandoned = %d, want %d", got, 2*n)
	}
	ds, err := h.bus.Wait(ctx, flow)
	if err != nil || len(ds) != 2*n {
		t.Fatalf("Wait = %d deliveries, %v; want %d", len(ds), err, 2*n)
	}
	for _, d := range ds {
		if d.Status != StatusPending {
			t.Fatalf("Wait reported %+v, want status %s", d, StatusPending)
		}
	}
	var ids []string
	for _, r := range res {
		ids = append(ids, r.EventID)
	}
	rows, _ := h.db.Deliveries(ctx, ids)
	for _, r := range rows {
		if r.Status != store.DeliveryRetrying {
			t.Fatalf("Close recorded %+v; want only the retrying attempts before it", r)
		}
	}
	if _, err := h.bus.Publish(ctx, "", []providers.Event{order(`{}`)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if err := h.bus.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.bus.MarkFinished(ctx, 0); ok || err != nil {
		t.Fatalf("MarkFinished after abandoning = %v, %v; want false: the next process must redeliver", ok, err)
	}

	// The next process finishes all of them.
	b, _ := newBusOn(t, h.db)
	flow = b.NewFlow()
	got, err := b.Redeliver(ctx, flow, longAgo, lastSeq(t, h.db))
	if err != nil || got != 2*n {
		t.Fatalf("Redeliver = %d, %v; want %d", got, err, 2*n)
	}
	for _, d := range waitFlow(t, b, flow) {
		if d.Status != store.DeliveryOK {
			t.Fatalf("redelivered %+v", d)
		}
	}
}

func TestBindings(t *testing.T) {
	h := newHarness(t, map[string]string{"f": matchAll})
	seen := make(chan string, 1)
	h.inv.on("f", func(ctx context.Context, _ []byte, _ int) (InvokeOutcome, error) {
		if !BindRequest(ctx, "req-1") {
			return InvokeOutcome{}, errors.New("BindRequest refused a delivery context")
		}
		flow, _ := h.bus.FlowOfInvocation("f", "req-1")
		fn, _ := FunctionFromContext(ctx)
		seen <- fn + " " + flow
		return InvokeOutcome{}, nil
	})
	flow := h.bus.NewFlow()
	h.bus.PublishInFlow(context.Background(), flow, "", []providers.Event{order(`{}`)})
	waitFlow(t, h.bus, flow)
	if got := <-seen; got != "f "+flow {
		t.Fatalf("during invoke: %q", got)
	}
	if _, ok := h.bus.FlowOfInvocation("f", "req-1"); ok {
		t.Fatal("binding outlived the invocation")
	}
	if BindRequest(context.Background(), "x") {
		t.Fatal("BindRequest accepted a plain context")
	}
	rel := h.bus.BindInvocation("g", "r", "flow-x")
	rel2 := h.bus.BindInvocation("g", "r", "flow-x")
	rel()
	if f, ok := h.bus.FlowOfInvocation("g", "r"); !ok || f != "flow-x" {
		t.Fatal("binding released too early")
	}
	rel()
	rel2()
	if _, ok := h.bus.FlowOfInvocation("g", "r"); ok {
		t.Fatal("binding not released")
	}
	// Publish with a flow in ctx joins it.
	ctx := WithFlow(context.Background(), flow)
	h.bus.Publish(ctx, "", []providers.Event{order(`{}`)})
	if ds := waitFlow(t, h.bus, flow); len(ds) != 2 {
		t.Fatalf("flow has %d deliveries; want 2", len(ds))
	}
	if ds, err := h.bus.Wait(context.Background(), "unknown"); ds != nil || err != nil {
		t.Fatal(ds, err)
	}
}

func TestFlowsAreForgottenAfterTTL(t *testing.T) {
	now := t0
	var mu sync.Mutex
	h := newHarness(t, map[string]string{"f": matchAll}, func(o *Options) {
		o.FlowTTL = time.Minute
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	old := h.bus.NewFlow()
	h.bus.PublishInFlow(context.Background(), old, "", []providers.Event{order(`{}`)})
	waitFlow(t, h.bus, old)
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	h.bus.NewFlow() // sweeps
	if ds, _ := h.bus.Wait(context.Background(), old); ds != nil {
		t.Fatalf("old flow still known: %+v", ds)
	}
}

func TestBusName(t *testing.T) {
	for in, want := range map[string]string{"": "default", "orders": "orders", "arn:aws:events:us-east-1:123:event-bus/x": "x"} {
		if got := BusNameOf(in); got != want {
			t.Errorf("BusNameOf(%q) = %q", in, got)
		}
	}
	a, b := NewUUID(), NewUUID()
	if len(a) != 36 || a[14] != '7' || !strings.ContainsAny(a[19:20], "89ab") || a == b {
		t.Fatalf("uuids %q %q", a, b)
	}
}

// TestBackpressure: beyond MaxPending, outside publishers wait (here: give
// up with their context), while a function publishing from its delivery
// never waits.
func TestBackpressure(t *testing.T) {
	h := newHarness(t, map[string]string{"slow": `{"detail-type":["OrderCreated"]}`, "sink": `{"detail-type":["Next"]}`},
		func(o *Options) { o.MaxPending = 2 })
	release := make(chan struct{})
	inner := make(chan error, 2)
	h.inv.on("slow", func(ctx context.Context, _ []byte, _ int) (InvokeOutcome, error) {
		<-release
		// Two slow deliveries are pending: a function's publish goes through anyway.
		_, err := h.bus.Publish(ctx, "", []providers.Event{{Source: "slow", DetailType: "Next", Detail: json.RawMessage(matchAll)}})
		inner <- err
		return InvokeOutcome{}, nil
	})
	ctx := context.Background()
	flow := h.bus.NewFlow()
	if _, err := h.bus.PublishInFlow(ctx, flow, "", []providers.Event{order(`{}`), order(`{}`)}); err != nil {
		t.Fatal(err)
	}
	full, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.bus.Publish(full, "", []providers.Event{order(`{}`)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("publish over MaxPending: err = %v; want it to wait (and see its context end)", err)
	}
	close(release)
	for range 2 {
		if err := <-inner; err != nil {
			t.Fatalf("publish from a function: %v", err)
		}
	}
	ds := waitFlow(t, h.bus, flow)
	if len(ds) != 4 {
		t.Fatalf("%d deliveries; want 2 slow + 2 sink", len(ds))
	}
	if _, err := h.bus.Publish(ctx, "", []providers.Event{order(`{}`)}); err != nil {
		t.Fatalf("publish after draining: %v", err)
	}
	n := 0
	for range h.db.Events(ctx, providers.EventQuery{Types: []string{"OrderCreated"}}) {
		n++
	}
	if n != 3 {
		t.Fatalf("%d OrderCreated events stored; want 3 (the refused one is not)", n)
	}
}

// matchAll is a pattern every event matches (an empty pattern is invalid,
// as on EventBridge): every envelope has an id.
const matchAll = `{"id":[{"exists":true}]}`
