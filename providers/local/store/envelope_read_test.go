package store

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// TestEventsEnvelope: Events gives each event the stored envelope, the same
// JSON value providers.MarshalEnvelope renders from the decoded event, over several
// pages read ahead.
func TestEventsEnvelope(t *testing.T) {
	db := openTest(t, "")
	ctx := context.Background()
	const n = 3*eventPageSize + 17
	var evs []providers.StoredEvent
	for i := 0; i < n; i++ {
		e := ev(fmt.Sprint("env-", i), "T", t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf(`{ "n": %d, "s": "<&>\u2028", "a": [1, {"b": null}] }`, i))
		if i%7 == 0 {
			e.Resources = []string{"arn:x", "arn:y"}
		}
		evs = append(evs, e)
	}
	if _, err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for _, q := range []providers.EventQuery{{}, {Since: t0.Add(10 * time.Millisecond)}, {Limit: eventPageSize + 1}} {
		got := 0
		for e, err := range db.Events(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			got++
			want, err := providers.MarshalEnvelope(&e.Event)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if json.Unmarshal(e.Envelope, &a) != nil || json.Unmarshal(want, &b) != nil || fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("event %s: Envelope %s, MarshalEnvelope %s", e.ID, e.Envelope, want)
			}
		}
		wantN := n
		switch {
		case q.Limit > 0:
			wantN = q.Limit
		case !q.Since.IsZero():
			wantN = n - 10
		}
		if got != wantN {
			t.Errorf("%+v: %d events, want %d", q, got, wantN)
		}
	}
}

// TestEventsStopEarly: a caller that stops after a few events leaves no
// page reader behind.
func TestEventsStopEarly(t *testing.T) {
	db := openTest(t, "")
	ctx := context.Background()
	var evs []providers.StoredEvent
	for i := 0; i < 4*eventPageSize; i++ {
		evs = append(evs, ev(fmt.Sprint("stop-", i), "T", t0.Add(time.Duration(i)*time.Millisecond), `{}`))
	}
	if _, err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		k := 0
		for _, err := range db.Events(ctx, providers.EventQuery{}) {
			if err != nil {
				t.Fatal(err)
			}
			if k++; k == 3 {
				break
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines after stopping early, %d before", g, before)
	}
}

// TestEachEnvelopes: every selected event once, with its detail-type and
// the envelope Events gives, over several readers and pages.
func TestEachEnvelopes(t *testing.T) {
	db := openTest(t, "")
	ctx := context.Background()
	const n = 2*envelopePageSize + 33
	var evs []providers.StoredEvent
	types := []string{"A", `B"q`, "C\u00e9"}
	for i := 0; i < n; i++ {
		evs = append(evs, ev(fmt.Sprint("each-", i), types[i%3], t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf(`{"n":%d,"s":"line\nbreak"}`, i)))
	}
	if _, err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for e, err := range db.Events(ctx, providers.EventQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		want[string(e.Envelope)] = e.DetailType
	}
	for _, readers := range []int{1, 3} {
		for _, q := range []providers.EventQuery{{}, {Since: t0.Add(100 * time.Millisecond), Until: t0.Add(4100 * time.Millisecond)}, {Types: []string{`B"q`}}} {
			var mu sync.Mutex
			got := map[string]string{}
			err := db.EachEnvelopes(ctx, q, readers, func(p EnvelopePage) error {
				mu.Lock()
				defer mu.Unlock()
				for i, env := range p.Envelopes {
					if _, dup := got[string(env)]; dup {
						t.Errorf("envelope twice: %s", env)
					}
					got[string(env)] = p.DetailTypes[i]
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			wantN := n
			switch {
			case len(q.Types) > 0:
				wantN = n / 3
			case !q.Since.IsZero():
				wantN = 4000
			}
			if len(got) != wantN {
				t.Errorf("readers %d, %+v: %d envelopes, want %d", readers, q, len(got), wantN)
			}
			for env, typ := range got {
				if want[env] != typ {
					t.Fatalf("envelope %s: detail-type %q, want %q", env, typ, want[env])
				}
			}
		}
	}
}
