package providertest

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
)

// busFunctions are the bus check's functions and their patterns: prefix,
// numeric and anything-but, so that events reach none, one or several.
var busFunctions = []struct{ name, pattern string }{
	{"ctbus-orders", `{"source":["ct.shop"],"detail-type":[{"prefix":"Order"}]}`},
	{"ctbus-big", `{"source":["ct.shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`},
	{"ctbus-notpaid", `{"source":["ct.shop"],"detail-type":[{"anything-but":["OrderPaid"]}]}`},
}

func busEvent(source, detailType, detail string) providers.Event {
	return providers.Event{Source: source, DetailType: detailType, Detail: json.RawMessage(detail)}
}

// expectedTargets answers, with package filter, which of busFunctions an
// event reaches.
func expectedTargets(t *testing.T, ev providers.Event) []string {
	t.Helper()
	env, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range busFunctions {
		ok, err := filter.MustParse(f.pattern).Match(env)
		if err != nil {
			t.Fatalf("filter: %v", err)
		}
		if ok {
			out = append(out, f.name)
		}
	}
	slices.Sort(out)
	return out
}

func testBus(t *testing.T, e *env) {
	const proj = "ctbus"
	bus := busOf(proj)

	t.Run("ReachesExactlyTheMatchingFunctions", func(t *testing.T) {
		e := e.sub(t)
		p := e.open(proj)
		if !p.Has(providers.AbilityDeploy) {
			t.Skip("the provider cannot deploy functions to receive events")
		}
		_, observable := e.h.(DeliveryObserver)
		if p.Waiter == nil && !observable {
			t.Skip("the provider has no Waiter and the harness no DeliveryObserver: deliveries cannot be seen")
		}
		var desired []providers.FunctionDeployment
		var names []string
		for _, f := range busFunctions {
			desired = append(desired, e.fn(proj, f.name, 1, f.pattern))
			names = append(names, f.name)
		}
		e.cleanup(p, names...)
		e.deploy(p, desired, false)
		p = e.open(proj) // send runs after deploy

		evs := []providers.Event{
			busEvent("ct.shop", "OrderPlaced", `{"amount":50}`),
			busEvent("ct.shop", "OrderPaid", `{"amount":500}`),
			busEvent("ct.shop", "Refund", `{"amount":150}`),
			busEvent("ct.shop", "OrderPaid", `{"amount":5}`),
			busEvent("ct.other", "OrderPlaced", `{"amount":1000}`),
			busEvent("ct.shop", "OrderPaid", `{"amount":"lots"}`),
		}
		want := map[int][]string{}
		var none, several bool
		for i, ev := range evs {
			want[i] = expectedTargets(t, ev)
			none = none || len(want[i]) == 0
			several = several || len(want[i]) > 1
		}
		if !none || !several {
			t.Fatalf("the events must reach none and several functions for the check to mean anything: %v", want)
		}
		rep, err := providers.PublishAll(e.ctx, p.Bus, bus, evs, p.BusLimits, providers.RetryPolicy{})
		if err != nil {
			t.Fatalf("PublishAll: %v", err)
		}
		ids := e.checkAccepted(rep.Results, len(evs))
		got := e.received(p, bus, ids)
		for i, id := range ids {
			if g := got[id]; !slices.Equal(g, want[i]) {
				t.Errorf("event %d (%s %s %s) reached %v, want %v (as package filter matches the patterns)",
					i, evs[i].Source, evs[i].DetailType, evs[i].Detail, g, want[i])
			}
		}
		for id := range got {
			if !slices.Contains(ids, id) {
				t.Errorf("a delivery of an event that was not published: %s -> %v", id, got[id])
			}
		}
	})

	t.Run("PerEntryFailuresByIndex", func(t *testing.T) {
		e := e.sub(t)
		p := e.open(proj)
		evs := []providers.Event{
			busEvent("ct.entries", "Fine", `{"i":0}`),
			busEvent("ct.entries", "Malformed", `{"i":1,`),
			busEvent("ct.entries", "Fine", `{"i":2}`),
			busEvent("", "NoSource", `{"i":3}`),
			busEvent("ct.entries", "Fine", `{"i":4}`),
		}
		res, err := p.Bus.Publish(e.ctx, bus, evs)
		if err != nil {
			t.Fatalf("Publish of a batch with two bad entries failed as a whole: %v (code %v); want per-entry results",
				err, providers.CodeOf(err))
		}
		if len(res) != len(evs) {
			t.Fatalf("Publish returned %d results for %d entries", len(res), len(evs))
		}
		for _, i := range []int{0, 2, 4} {
			if r := res[i]; r.ErrorCode != "" || r.EventID == "" {
				t.Errorf("entry %d (valid) = %+v, want an event id and no error", i, r)
			}
		}
		for _, i := range []int{1, 3} {
			r := res[i]
			if r.ErrorCode == "" {
				t.Errorf("entry %d (%s) succeeded (%+v): want a per-entry failure at its index", i, evs[i].DetailType, r)
				continue
			}
			if r.Code != providers.InvalidArgument {
				t.Errorf("entry %d (%s) failed with %s (%s) but portable code %v, want InvalidArgument", i, evs[i].DetailType, r.ErrorCode, r.ErrorMsg, r.Code)
			}
			if providers.Retryable(r.Code) {
				t.Errorf("entry %d (%s): code %v would be retried; a bad entry is not worth another try", i, evs[i].DetailType, r.Code)
			}
		}
	})

	t.Run("PublishAllRefusesAnOversizeEntryWhole", func(t *testing.T) {
		e := e.sub(t)
		p := e.open(proj)
		big := `{"pad":"` + strings.Repeat("x", providers.MaxEntryBytes) + `"}`
		evs := []providers.Event{
			busEvent("ct.size", "Small", `{"i":0}`),
			busEvent("ct.size", "Big", big),
			busEvent("ct.size", "Small", `{"i":2}`),
		}
		cb := &countingBus{EventBus: p.Bus}
		rep, err := providers.PublishAll(e.ctx, cb, bus, evs, p.BusLimits, providers.RetryPolicy{})
		if providers.CodeOf(err) != providers.InvalidArgument {
			t.Errorf("PublishAll with an oversize entry = %v (code %v), want InvalidArgument", err, providers.CodeOf(err))
		}
		if err != nil && !strings.Contains(err.Error(), "event 1") {
			t.Errorf("PublishAll's error %q does not name the oversize entry (event 1)", err)
		}
		if n := cb.calls.Load(); n != 0 || rep.Failed() != 0 && len(rep.Results) != 0 {
			t.Errorf("PublishAll sent %d calls (results %+v): an oversize entry must refuse the whole input", n, rep.Results)
		}
	})
}

// checkAccepted fails unless every result succeeded with its own event id;
// it returns the ids in order.
func (e *env) checkAccepted(res []providers.PublishResult, n int) []string {
	e.t.Helper()
	if len(res) != n {
		e.t.Fatalf("%d results for %d events", len(res), n)
	}
	ids := make([]string, n)
	seen := map[string]bool{}
	for i, r := range res {
		if r.ErrorCode != "" || r.EventID == "" {
			e.t.Fatalf("event %d: %+v, want accepted with an event id", i, r)
		}
		if seen[r.EventID] {
			e.t.Fatalf("event %d has the id %s of an earlier event", i, r.EventID)
		}
		seen[r.EventID] = true
		ids[i] = r.EventID
	}
	return ids
}

// received returns, per event id, the sorted functions that received it,
// from the provider's Waiter or the harness's DeliveryObserver.
func (e *env) received(p *providers.Provider, bus string, ids []string) map[string][]string {
	e.t.Helper()
	if p.Waiter == nil {
		got, err := e.h.(DeliveryObserver).Received(e.ctx, bus, ids)
		if err != nil {
			e.t.Fatalf("Received: %v", err)
		}
		for id := range got {
			got[id] = sortedSet(got[id])
		}
		return got
	}
	dels, err := p.Waiter.Wait(e.ctx)
	if err != nil {
		e.t.Fatalf("Wait: %v", err)
	}
	sets := map[string]map[string]bool{}
	for _, d := range dels {
		if d.Status != "ok" {
			e.t.Errorf("delivery of %s to %s: status %s (%s) after %d attempts", d.EventID, d.Function, d.Status, d.Error, d.Attempts)
		}
		if sets[d.EventID] == nil {
			sets[d.EventID] = map[string]bool{}
		}
		sets[d.EventID][d.Function] = true
	}
	got := map[string][]string{}
	for id, s := range sets {
		got[id] = slices.Sorted(maps.Keys(s))
	}
	return got
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// countingBus counts the Publish calls that reach the driver.
type countingBus struct {
	providers.EventBus
	calls atomic.Int64
}

func (c *countingBus) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	c.calls.Add(1)
	return c.EventBus.Publish(ctx, bus, evs)
}
