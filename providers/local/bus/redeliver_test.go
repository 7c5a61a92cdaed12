package bus

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// longAgo is a since that every event of these tests was stored after.
var longAgo = time.Unix(1, 0)

// killedProcess publishes events on a harness whose targets listed in hang
// never finish (as in a process killed while they ran) and waits until the
// others' outcomes are stored. It returns the harness and the event ids.
func killedProcess(t *testing.T, rules map[string]string, hang []string, evs ...providers.Event) (*harness, []string) {
	t.Helper()
	ctx := context.Background()
	a := newHarness(t, rules)
	started := make(chan struct{}, 64)
	for _, fn := range hang {
		a.inv.on(fn, func(ctx context.Context, _ []byte, _ int) (InvokeOutcome, error) {
			started <- struct{}{}
			<-ctx.Done() // until A is closed at the end of the test
			return InvokeOutcome{}, ctx.Err()
		})
	}
	res, err := a.bus.Publish(ctx, "", evs)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res {
		ids = append(ids, r.EventID)
	}
	want := len(evs) * (len(rules) - len(hang))
	for range len(evs) * len(hang) {
		<-started
	}
	for { // until the other targets' outcomes are written
		ds, _ := a.db.Deliveries(ctx, ids)
		if len(ds) >= want {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return a, ids
}

// newBusOn is a second process's bus on a's store.
func newBusOn(t *testing.T, db *store.DB) (*Bus, *fakeInvoker) {
	t.Helper()
	inv := newFakeInvoker()
	b, err := New(Options{Store: db, Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, inv
}

func lastSeq(t *testing.T, db *store.DB) int64 {
	t.Helper()
	n, err := db.LastEventSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRedeliverFinishesWhatAStoppedProcessLeft: process A stored an event and
// delivered it to y, but stopped while x ran. B, on the same store,
// redelivers to x only, and a second Redeliver finds nothing left.
func TestRedeliverFinishesWhatAStoppedProcessLeft(t *testing.T) {
	ctx := context.Background()
	a, ids := killedProcess(t, map[string]string{"x": matchAll, "y": matchAll}, []string{"x"}, order(`{"n":1}`))
	b, inv := newBusOn(t, a.db)
	flow := b.NewFlow()
	through := lastSeq(t, a.db)
	n, err := b.Redeliver(ctx, flow, longAgo, through)
	if err != nil || n != 1 {
		t.Fatalf("Redeliver = %d, %v; want 1 (x only)", n, err)
	}
	ds := waitFlow(t, b, flow)
	if len(ds) != 1 || ds[0].Function != "x" || ds[0].EventID != ids[0] || ds[0].Status != "ok" || len(inv.callsOf("y")) != 0 {
		t.Fatalf("redelivered %+v", ds)
	}
	var env providers.Event
	if err := json.Unmarshal(inv.callsOf("x")[0].payload, &env); err != nil || env.ID != ids[0] {
		t.Fatalf("x got %s (%v); want the stored envelope of %s", inv.callsOf("x")[0].payload, err, ids[0])
	}
	if n, err := b.Redeliver(ctx, "", longAgo, through); err != nil || n != 0 {
		t.Fatalf("second Redeliver = %d, %v; want 0", n, err)
	}
	if v, _, _ := a.db.GetKV(ctx, kvRedeliver, keyRedelivered); string(v) != "1" {
		t.Fatalf("redelivered-through = %q, want 1", v)
	}
}

// TestRedeliverOnlyRoutedRules: a rule deployed after the event was stored
// matches it now but is not delivered to (EventBridge never routes an event
// retroactively); a rule deleted since is skipped; a rule whose target
// changed is delivered to its target as deployed now.
func TestRedeliverOnlyRoutedRules(t *testing.T) {
	ctx := context.Background()
	a, ids := killedProcess(t, map[string]string{"x": matchAll, "y": matchAll, "done": matchAll}, []string{"x", "y"}, order(`{"n":1}`))
	// After the kill: y's rule is deleted, z's rule is added.
	if err := a.db.SetRules(ctx, "y", nil); err != nil {
		t.Fatal(err)
	}
	if err := a.db.PutFunction(ctx, store.FunctionRecord{Name: "z", Runtime: "provided.al2023"}); err != nil {
		t.Fatal(err)
	}
	if err := a.db.SetRules(ctx, "z", []store.Rule{{ID: "z-rule", Bus: store.DefaultBus, Pattern: json.RawMessage(matchAll)}}); err != nil {
		t.Fatal(err)
	}
	var logged []string
	inv := newFakeInvoker()
	b, err := New(Options{Store: a.db, Invoker: inv, Logf: func(f string, args ...any) { logged = append(logged, f) }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	flow := b.NewFlow()
	n, err := b.Redeliver(ctx, flow, longAgo, lastSeq(t, a.db))
	if err != nil || n != 1 {
		t.Fatalf("Redeliver = %d, %v; want 1 (x only)", n, err)
	}
	ds := waitFlow(t, b, flow)
	if len(ds) != 1 || ds[0].Function != "x" || ds[0].EventID != ids[0] {
		t.Fatalf("redelivered %+v; want x only", ds)
	}
	for _, fn := range []string{"y", "z", "done"} {
		if c := inv.callsOf(fn); len(c) != 0 {
			t.Errorf("%s called %d times; want 0", fn, len(c))
		}
	}
	if len(logged) != 1 {
		t.Errorf("logged %q; want one line about y's deleted rule", logged)
	}
}

// TestRedeliverBounds: events after through (stored while another process
// may deliver them), events stored before since, and events stored without
// their routing are not redelivered.
func TestRedeliverBounds(t *testing.T) {
	ctx := context.Background()
	a, _ := killedProcess(t, map[string]string{"x": matchAll}, []string{"x"}, order(`{"n":1}`), order(`{"n":2}`))
	// An event appended without routing (as before schema version 3).
	if _, err := a.db.AppendEvents(ctx, []providers.StoredEvent{{Event: providers.Event{
		ID: "unrouted", Source: "shop.orders", DetailType: "OrderCreated", Detail: json.RawMessage(matchAll)}}}); err != nil {
		t.Fatal(err)
	}
	b, inv := newBusOn(t, a.db)
	// Too old: given up for good (the next pass starts after them).
	if n, err := b.Redeliver(ctx, "", time.Now().Add(time.Hour), 1); err != nil || n != 0 {
		t.Fatalf("Redeliver since the future = %d, %v; want 0", n, err)
	}
	flow := b.NewFlow()
	n, err := b.Redeliver(ctx, flow, longAgo, lastSeq(t, a.db))
	if err != nil || n != 1 {
		t.Fatalf("Redeliver = %d, %v; want 1 (the second event: not the first, too old, nor the unrouted one)", n, err)
	}
	waitFlow(t, b, flow)
	if c := inv.callsOf("x"); len(c) != 1 || !strings.Contains(string(c[0].payload), `"n":2`) {
		t.Fatalf("x calls %v; want one, of the second event", c)
	}
}

// TestPublishRecordsRouting: the rules an event was routed to are stored
// with it, and Unfinished yields those without a final outcome.
func TestPublishRecordsRouting(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, map[string]string{"x": `{"detail":{"n":[1]}}`, "y": matchAll})
	release := make(chan struct{})
	h.inv.on("y", func(ctx context.Context, _ []byte, _ int) (InvokeOutcome, error) {
		<-release
		return InvokeOutcome{}, nil
	})
	flow := h.bus.NewFlow()
	if _, err := h.bus.PublishInFlow(ctx, flow, "", []providers.Event{order(`{"n":1}`), order(`{"n":2}`)}); err != nil {
		t.Fatal(err)
	}
	for { // until x's outcome is written; y's two are held
		ds, _ := h.db.Deliveries(ctx, nil)
		if len(ds) == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var got [][]string
	for u, err := range h.db.Unfinished(ctx, 0, lastSeq(t, h.db), longAgo) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, u.Rules)
	}
	if len(got) != 2 || len(got[0]) != 1 || got[0][0] != "y-rule" || len(got[1]) != 1 || got[1][0] != "y-rule" {
		t.Fatalf("unfinished = %q; want [[y-rule] [y-rule]]", got)
	}
	close(release)
	waitFlow(t, h.bus, flow)
	for u, err := range h.db.Unfinished(ctx, 0, lastSeq(t, h.db), longAgo) {
		t.Fatalf("Unfinished yielded %+v, %v after every delivery finished", u, err)
	}
}

// TestAdoptTakesOverWhatCloseLeft: process A closes while x and y run; it
// records nothing for them and lists them (Left). B, on the same store,
// adopts the list: it delivers to x, skips y (its rule was deleted since)
// and the delivery to done, which has its outcome already; adopting the
// same list again schedules nothing.
func TestAdoptTakesOverWhatCloseLeft(t *testing.T) {
	ctx := context.Background()
	a, ids := killedProcess(t, map[string]string{"x": matchAll, "y": matchAll, "done": matchAll}, []string{"x", "y"},
		order(`{"n":1}`), order(`{"n":2}`))
	a.bus.Close()
	left := a.bus.Left()
	if len(left) != 4 || a.bus.Abandoned() != 4 {
		t.Fatalf("Left = %+v (abandoned %d); want the 4 deliveries to x and y", left, a.bus.Abandoned())
	}
	if ds, _ := a.db.Deliveries(ctx, ids); len(ds) != 2 {
		t.Fatalf("A recorded %+v; want only done's two outcomes", ds)
	}
	if err := a.db.SetRules(ctx, "y", nil); err != nil {
		t.Fatal(err)
	}
	b, inv := newBusOn(t, a.db)
	handed := append(left, Handed{EventSeq: left[0].EventSeq, RuleID: "done-rule"})
	flow := b.NewFlow()
	n, err := b.Adopt(ctx, flow, handed)
	if err != nil || n != 2 {
		t.Fatalf("Adopt = %d, %v; want 2 (x of both events)", n, err)
	}
	ds := waitFlow(t, b, flow)
	got := map[string]bool{}
	for _, d := range ds {
		if d.Function != "x" || d.Status != "ok" {
			t.Fatalf("adopted delivery %+v, want x ok", d)
		}
		got[d.EventID] = true
	}
	if len(got) != 2 || !got[ids[0]] || !got[ids[1]] || len(inv.callsOf("y")) != 0 || len(inv.callsOf("done")) != 0 {
		t.Fatalf("adopted %+v; want x of %v only", ds, ids)
	}
	if n, err := b.Adopt(ctx, "", handed); err != nil || n != 0 {
		t.Fatalf("second Adopt = %d, %v; want 0: every delivery has its outcome", n, err)
	}
}
