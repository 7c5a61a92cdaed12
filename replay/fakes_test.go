package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// memStore yields its events in slice order, honouring the query except
// ExcludeReplays (as a store that cannot tell replays apart), and keeps the
// queries it was given.
type memStore struct {
	events  []providers.StoredEvent
	err     error // yielded after the events, when set
	queries []providers.EventQuery
}

func (m *memStore) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	m.queries = append(m.queries, q)
	return func(yield func(providers.StoredEvent, error) bool) {
		for _, ev := range m.events {
			if !q.Since.IsZero() && ev.Time.Before(q.Since) || !q.Until.IsZero() && !ev.Time.Before(q.Until) {
				continue
			}
			if len(q.AggregateIDs) > 0 && !slices.Contains(q.AggregateIDs, ev.AggregateID) {
				continue
			}
			if len(q.Types) > 0 && !slices.Contains(q.Types, ev.DetailType) {
				continue
			}
			if !yield(ev, nil) {
				return
			}
		}
		if m.err != nil {
			yield(providers.StoredEvent{}, m.err)
		}
	}
}

func sev(agg string, ver int64, at time.Duration, typ string) providers.StoredEvent {
	id := fmt.Sprintf("%s-v%d", agg, ver)
	if agg == "" {
		id = fmt.Sprintf("plain-%d", at)
	}
	return providers.StoredEvent{
		Event: providers.Event{
			Version: "0", ID: id, DetailType: typ, Source: "shop.orders", Time: t0.Add(at),
			Detail: json.RawMessage(fmt.Sprintf(`{"aggregateId":%q,"version":%d}`, agg, ver)),
		},
		AggregateID: agg, AggregateVersion: ver,
	}
}

// delivery is one entry the fake bus accepted.
type delivery struct {
	ID, OriginalID, Aggregate string
	Version                   int64
	Call                      int
	At                        time.Time
}

// fakeBus records what it accepts. fail decides an entry's error code per
// attempt (1-based) of that original id; callErr fails whole calls.
type fakeBus struct {
	mu        sync.Mutex
	got       []delivery
	calls     int
	attempts  map[string]int
	fail      func(originalID string, attempt int) string
	callErr   func(call int) error
	onCall    func(call int, evs []providers.Event)
	now       func() time.Time
	inflight  map[string]bool // aggregates of calls in progress
	conflicts int
	sizes     []int
	bytes     []int
}

func markerOf(t testing.TB, ev providers.Event) Marker {
	var d struct {
		R Marker `json:"_replay"`
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatalf("detail of %s: %v", ev.ID, err)
	}
	return d.R
}

func (b *fakeBus) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	b.mu.Lock()
	b.calls++
	call := b.calls
	if b.attempts == nil {
		b.attempts = map[string]int{}
		b.inflight = map[string]bool{}
	}
	var aggs []string
	size := 0
	for _, ev := range evs {
		size += providers.EntrySize(&ev)
		var d struct {
			R Marker `json:"_replay"`
		}
		_ = json.Unmarshal(ev.Detail, &d)
		if a := d.R.AggregateID; a != "" && !slices.Contains(aggs, a) {
			if b.inflight[a] {
				b.conflicts++
			}
			aggs = append(aggs, a)
		}
	}
	for _, a := range aggs {
		b.inflight[a] = true
	}
	b.sizes = append(b.sizes, len(evs))
	b.bytes = append(b.bytes, size)
	onCall := b.onCall
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		for _, a := range aggs {
			delete(b.inflight, a)
		}
		b.mu.Unlock()
	}()
	if onCall != nil {
		onCall(call, evs)
	}
	if b.callErr != nil {
		if err := b.callErr(call); err != nil {
			return nil, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]providers.PublishResult, len(evs))
	for i, ev := range evs {
		var d struct {
			R Marker `json:"_replay"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			out[i] = providers.PublishResult{ErrorCode: "MalformedDetail", ErrorMsg: err.Error(), Code: providers.InvalidArgument}
			continue
		}
		b.attempts[d.R.OriginalID]++
		if b.fail != nil {
			if code := b.fail(d.R.OriginalID, b.attempts[d.R.OriginalID]); code != "" {
				out[i] = providers.PublishResult{ErrorCode: code, ErrorMsg: "fake " + code, Code: fakeClassify(code)}
				continue
			}
		}
		var at time.Time
		if b.now != nil {
			at = b.now()
		}
		b.got = append(b.got, delivery{ID: ev.ID, OriginalID: d.R.OriginalID, Aggregate: d.R.AggregateID, Version: d.R.Version, Call: call, At: at})
		out[i] = providers.PublishResult{EventID: ev.ID}
	}
	return out, nil
}

func (b *fakeBus) deliveries() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// fakeClock advances only when slept on.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func baseConfig(name string, clk *fakeClock) Config {
	return Config{
		Name: name, Bus: "default",
		Selection: Selection{Since: t0.Add(-time.Hour), Until: t0.Add(24 * time.Hour)},
		Now:       clk.Now, Sleep: clk.Sleep,
	}
}

// interleaved returns nAgg aggregates with nVer versions each, stored
// interleaved round-robin, one second apart.
func interleaved(nAgg, nVer int) []providers.StoredEvent {
	var evs []providers.StoredEvent
	i := 0
	for v := 1; v <= nVer; v++ {
		for a := 0; a < nAgg; a++ {
			typ := "OrderPlaced"
			if v > 1 {
				typ = "OrderUpdated"
			}
			evs = append(evs, sev(fmt.Sprintf("order-%03d", a), int64(v), time.Duration(i)*time.Second, typ))
			i++
		}
	}
	return evs
}

// fakeClassify is the classifier a driver would apply to EventBridge's
// entry codes.
func fakeClassify(code string) providers.Code {
	switch code {
	case "ThrottlingException":
		return providers.Throttled
	case "InternalFailure", "InternalException", "ServiceUnavailable":
		return providers.Unavailable
	}
	return providers.InvalidArgument
}
