package providertest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// storeGap is the time between two of storeEvents: not a divisor of a
// minute, so that windows cut through minutes and a store that narrows by
// minute must still filter by time.
const storeGap = 23 * time.Second

// storeEvents are the store check's events: 3 aggregates × 4 versions,
// interleaved, storeGap apart, an hour ago; the types cycle through three.
// The detail's "n" is the event's index, which identifies it whatever id the
// store gives it.
func storeEvents(base time.Time) []providers.StoredEvent {
	types := []string{"CtPlaced", "CtPaid", "CtShipped"}
	var out []providers.StoredEvent
	n := 0
	for v := 1; v <= 4; v++ {
		for _, agg := range []string{"ct-agg-a", "ct-agg-b", "ct-agg-c"} {
			ev := providers.StoredEvent{
				Event: providers.Event{
					ID: fmt.Sprintf("ct-ev-%02d", n), Source: "ct.store", DetailType: types[n%len(types)],
					Time:   base.Add(time.Duration(n) * storeGap),
					Detail: json.RawMessage(fmt.Sprintf(`{"aggregateId":%q,"version":%d,"n":%d}`, agg, v, n)),
				},
				AggregateID: agg, AggregateVersion: int64(v),
			}
			out = append(out, ev)
			n++
		}
	}
	return out
}

// nOf is the index an event of storeEvents carries in its detail.
func nOf(t *testing.T, ev providers.StoredEvent) int {
	t.Helper()
	var d struct {
		N *int `json:"n"`
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d.N == nil {
		t.Fatalf("stored event %s has detail %s: want the detail it was written with (%v)", ev.ID, ev.Detail, err)
	}
	return *d.N
}

func testStore(t *testing.T, e *env) {
	const proj = "ctstore"
	p := e.open(proj)
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	all := storeEvents(base)

	if p.Shared != nil { // the table is a shared resource
		e.plan(p, nil, false)
	}
	if w, ok := e.h.(StoreWriter); ok {
		if err := w.WriteEvents(e.ctx, p, all); err != nil {
			t.Fatalf("WriteEvents: %v", err)
		}
	} else {
		if !p.Has(providers.AbilityPublish) {
			t.Skip("the store fills from the bus, which the provider lacks, and the harness writes no events")
		}
		evs := make([]providers.Event, len(all))
		for i := range all {
			evs[i] = all[i].Event
			evs[i].ID = ""
		}
		rep, err := providers.PublishAll(e.ctx, p.Bus, busOf(proj), evs, p.BusLimits, providers.RetryPolicy{})
		if err != nil {
			t.Fatalf("PublishAll: %v", err)
		}
		e.checkAccepted(rep.Results, len(evs))
	}
	// The store fills itself, perhaps later than the publish returns.
	e.poll("the events reach the store", func() (bool, string, error) {
		got, err := e.query(p, providers.EventQuery{Since: base})
		return len(got) >= len(all), fmt.Sprintf("%d of %d events", len(got), len(all)), err
	})

	// seqs says whether the store numbers its events (local): then its order
	// is global, and AfterSeq pages.
	first, err := e.query(p, providers.EventQuery{Since: base})
	if err != nil {
		t.Fatal(err)
	}
	seqs := first[0].Seq != 0

	at := func(n int) time.Time { return base.Add(time.Duration(n) * storeGap) }
	wantOf := func(keep func(providers.StoredEvent) bool) []int {
		var out []int
		for i, ev := range all {
			if keep(ev) {
				out = append(out, i)
			}
		}
		return out
	}
	cases := []struct {
		name string
		q    providers.EventQuery
		want []int
	}{
		{"Since", providers.EventQuery{Since: base}, wantOf(func(providers.StoredEvent) bool { return true })},
		{"SinceIsInclusive", providers.EventQuery{Since: at(5)},
			wantOf(func(ev providers.StoredEvent) bool { return !ev.Time.Before(at(5)) })},
		{"UntilIsExclusive", providers.EventQuery{Since: at(2), Until: at(7)},
			wantOf(func(ev providers.StoredEvent) bool {
				return !ev.Time.Before(at(2)) && ev.Time.Before(at(7))
			})},
		{"Aggregate", providers.EventQuery{Since: base, AggregateIDs: []string{"ct-agg-b"}},
			wantOf(func(ev providers.StoredEvent) bool { return ev.AggregateID == "ct-agg-b" })},
		{"Aggregates", providers.EventQuery{Since: base, AggregateIDs: []string{"ct-agg-a", "ct-agg-c"}},
			wantOf(func(ev providers.StoredEvent) bool { return ev.AggregateID != "ct-agg-b" })},
		{"Type", providers.EventQuery{Since: base, Types: []string{"CtPaid"}},
			wantOf(func(ev providers.StoredEvent) bool { return ev.DetailType == "CtPaid" })},
		{"AggregateTypeWindow", providers.EventQuery{Since: at(3), Until: at(11),
			AggregateIDs: []string{"ct-agg-a"}, Types: []string{"CtPlaced", "CtShipped"}},
			wantOf(func(ev providers.StoredEvent) bool {
				return ev.AggregateID == "ct-agg-a" && (ev.DetailType == "CtPlaced" || ev.DetailType == "CtShipped") &&
					!ev.Time.Before(at(3)) && ev.Time.Before(at(11))
			})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.sub(t)
			got, err := e.query(p, c.q)
			if err != nil {
				t.Fatalf("Events(%+v): %v", c.q, err)
			}
			e.checkEvents(got, all, c.want, seqs)
		})
	}

	t.Run("Limit", func(t *testing.T) {
		e := e.sub(t)
		got, err := e.query(p, providers.EventQuery{Since: base, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("Limit 5 yielded %d events", len(got))
		}
		if seqs {
			e.checkEvents(got, all, []int{0, 1, 2, 3, 4}, seqs)
		}
	})

	t.Run("AfterSeqPages", func(t *testing.T) {
		e := e.sub(t)
		if !seqs {
			t.Skip("the store does not number its events (Seq is zero): AfterSeq does not apply")
		}
		var pages []providers.StoredEvent
		after := int64(0)
		for range len(all) + 1 {
			page, err := e.query(p, providers.EventQuery{Since: base, AfterSeq: after, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			pages = append(pages, page...)
			after = page[len(page)-1].Seq
		}
		e.checkEvents(pages, all, wantOf(func(providers.StoredEvent) bool { return true }), seqs)
	})
}

// query collects what Events yields for q.
func (e *env) query(p *providers.Provider, q providers.EventQuery) ([]providers.StoredEvent, error) {
	var out []providers.StoredEvent
	for ev, err := range p.Store.Events(e.ctx, q) {
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// checkEvents fails unless got holds exactly the events of all at want's
// indices, each with its aggregate, type and time, in time order within
// each aggregate, and (when the store numbers events) in time and Seq order
// overall.
func (e *env) checkEvents(got, all []providers.StoredEvent, want []int, seqs bool) {
	e.t.Helper()
	var ns []int
	for _, ev := range got {
		n := nOf(e.t, ev)
		ns = append(ns, n)
		if n < 0 || n >= len(all) {
			e.t.Fatalf("an event the check did not write: %+v", ev)
		}
		w := all[n]
		if ev.AggregateID != w.AggregateID || ev.DetailType != w.DetailType || !ev.Time.Equal(w.Time) {
			e.t.Errorf("event %d came back as aggregate %q type %q time %s, written as %q %q %s",
				n, ev.AggregateID, ev.DetailType, ev.Time.Format(time.RFC3339Nano), w.AggregateID, w.DetailType, w.Time.Format(time.RFC3339Nano))
		}
	}
	sorted := slices.Clone(ns)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		e.t.Errorf("yielded events %v, want %v", sorted, want)
	}
	// Order: per aggregate always; overall when the store numbers events.
	last := map[string]int{}
	for i, ev := range got {
		n := ns[i]
		if prev, ok := last[ev.AggregateID]; ok && n < prev {
			e.t.Errorf("aggregate %s: event %d came after event %d: want time order", ev.AggregateID, n, prev)
		}
		last[ev.AggregateID] = n
		if seqs && i > 0 {
			if n < ns[i-1] {
				e.t.Errorf("event %d came after event %d: a store with Seq yields in time order", n, ns[i-1])
			}
			if ev.Seq <= got[i-1].Seq {
				e.t.Errorf("Seq %d after Seq %d: want increasing", ev.Seq, got[i-1].Seq)
			}
		}
	}
	if e.t.Failed() {
		e.t.Logf("yielded in order: %s", strings.Trim(fmt.Sprint(ns), "[]"))
	}
}
