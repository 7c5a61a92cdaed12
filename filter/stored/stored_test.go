package stored_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/filter/stored"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func events(n int) []providers.StoredEvent {
	types := []string{"OrderPlaced", "OrderShipped", "PaymentTaken"}
	var evs []providers.StoredEvent
	for i := range n {
		evs = append(evs, providers.StoredEvent{Event: providers.Event{
			Version: "0", ID: fmt.Sprintf("ev-%05d", i), Source: "shop." + strconv.Itoa(i%2), DetailType: types[i%3],
			Time: t0.Add(time.Duration(i) * time.Millisecond), Account: "000000000000", Region: "us-east-1", Resources: []string{},
			Detail: json.RawMessage(fmt.Sprintf(`{"total":%d,"tier":"%s"}`, i%500, []string{"gold", "silver"}[i%2])),
		}})
	}
	return evs
}

// eventsOnly is a store without the EnvelopeReader ability and without
// stored envelopes: Match encodes each event.
type eventsOnly []providers.StoredEvent

func (s eventsOnly) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		for _, ev := range s {
			if !q.Since.IsZero() && ev.Time.Before(q.Since) {
				continue
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

func ruleSet(t *testing.T) *filter.RuleSet {
	rs := filter.NewRuleSet()
	for i, p := range []string{
		`{"detail":{"total":[{"numeric":[">",450]}]}}`,
		`{"detail-type":["PaymentTaken"],"detail":{"tier":["gold"]}}`,
		`{"source":["shop.1"],"detail":{"total":[{"numeric":["<",3]}]}}`,
	} {
		pat, err := filter.Parse([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		rs.Add(strconv.Itoa(i), pat)
	}
	return rs
}

// TestMatchSamePaths: the local store's envelope scan with 1 to 4 readers
// and a store read through Events give the same counts and the same samples
// (the first matching events in store order), and those are right.
func TestMatchSamePaths(t *testing.T) {
	evs := events(7000) // several of the store's 2,048-envelope pages
	db, err := store.Open(t.TempDir(), store.WithSynchronous("OFF"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.AppendEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	var _ providers.EnvelopeReader = db
	q := providers.EventQuery{Since: t0.Add(1500 * time.Millisecond)}
	rs := ruleSet(t)
	want, err := stored.Match(context.Background(), eventsOnly(evs), q, rs, stored.Options{Samples: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want.Events != 5500 || len(want.Types) != 3 {
		t.Fatalf("events-only: %d events, %d types", want.Events, len(want.Types))
	}
	// By hand: total > 450 for i%500 in 451..499; PaymentTaken (i%3==2)
	// with gold (i even); shop.1 (odd i) with total < 3 (i%500 in 1).
	var wm, w0, w1, w2 int64
	for i := 1500; i < 7000; i++ {
		a, b, c := i%500 > 450, i%3 == 2 && i%2 == 0, i%2 == 1 && i%500 < 3
		w0, w1, w2 = w0+b2i(a), w1+b2i(b), w2+b2i(c)
		if a || b || c {
			wm++
		}
	}
	if want.Matched != wm || !reflect.DeepEqual(want.Rules, map[string]int64{"0": w0, "1": w1, "2": w2}) {
		t.Fatalf("events-only: matched %d rules %v; want %d, [%d %d %d]", want.Matched, want.Rules, wm, w0, w1, w2)
	}
	if s := want.Types[2].Samples; want.Types[2].DetailType != "PaymentTaken" || len(s) != 3 || s[0].ID != "ev-01502" || s[1].ID != "ev-01508" ||
		s[0].Source != "shop.0" || !s[0].Time.Equal(t0.Add(1502*time.Millisecond)) {
		t.Fatalf("events-only: PaymentTaken samples %+v", want.Types[2])
	}
	for readers := 1; readers <= 4; readers++ {
		got, err := stored.Match(context.Background(), db, q, rs, stored.Options{Samples: 3, Readers: readers})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d readers: %+v\nwant %+v", readers, got, want)
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// TestMatchBadEvent: an event the matcher cannot read is an error naming it.
func TestMatchBadEvent(t *testing.T) {
	evs := events(3)
	evs[1].Envelope = json.RawMessage(`{"id":"ev-00001","detail":{"total":}`)
	_, err := stored.Match(context.Background(), eventsOnly(evs), providers.EventQuery{}, ruleSet(t), stored.Options{})
	if err == nil || !strings.Contains(err.Error(), "stored event ev-00001: ") {
		t.Fatalf("error %v, want one naming ev-00001", err)
	}
}
