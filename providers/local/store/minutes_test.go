package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// TestWindowsAgreeWithTimes: for events at random times around minute
// boundaries, before and after 1970 (minutes truncate toward zero there),
// appended out of time order and some again (same id), every window —
// bounds on a minute, a microsecond either side of one, open — yields
// exactly the events whose time is in it, in seq order.
func TestWindowsAgreeWithTimes(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	rng := rand.New(rand.NewPCG(7, 11))
	epoch := time.Unix(0, 0).UTC()
	var times []time.Time
	var all []providers.StoredEvent
	for batch := range 12 {
		var evs []providers.StoredEvent
		for j := range 40 {
			at := epoch.Add(time.Duration(rng.Int64N(int64(6*time.Minute))) - 3*time.Minute).Truncate(time.Microsecond)
			if j%10 == 0 {
				at = epoch.Add(time.Duration(rng.IntN(7)-3) * time.Minute) // exactly on a minute
			}
			evs = append(evs, ev(fmt.Sprintf("e-%d-%d", batch, j), "T", at, `{}`))
			times = append(times, at)
		}
		if batch > 0 {
			evs = append(evs, all[rng.IntN(len(all))]) // stored already: no new row
		}
		if _, err := db.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
	}
	var bounds []time.Time
	// Window bounds on, next to and between the minutes of -2..2; the events
	// also lie outside them (-3..3), so windows cut partial minutes at
	// both ends. (Every pair of 29 bounds: about 400 windows, each a query,
	// which under -race is most of this package's test time.)
	for m := -2; m <= 2; m++ {
		b := epoch.Add(time.Duration(m) * time.Minute)
		bounds = append(bounds, b, b.Add(-time.Microsecond), b.Add(time.Microsecond), b.Add(30*time.Second))
	}
	bounds = append(bounds, times[:8]...)
	bounds = append(bounds, time.Time{})
	checked := 0
	for _, since := range bounds {
		for _, until := range bounds {
			if !since.IsZero() && !until.IsZero() && !until.After(since) {
				continue
			}
			var want []string
			seen := map[string]bool{}
			for _, e := range all {
				if seen[e.ID] {
					continue
				}
				seen[e.ID] = true
				if (since.IsZero() || !e.Time.Before(since)) && (until.IsZero() || e.Time.Before(until)) {
					want = append(want, e.ID)
				}
			}
			var got []string
			for se, err := range db.Events(ctx, providers.EventQuery{Since: since, Until: until}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, se.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("window [%s, %s): %d events %v, want %d %v", since, until, len(got), got, len(want), want)
			}
			checked++
		}
	}
	t.Logf("%d windows", checked)
}

// TestMigrateV5ToMinutes: events stored by schema version 5 (with the time
// index) are found by window after the migration builds event_minutes.
func TestMigrateV5ToMinutes(t *testing.T) {
	ctx := context.Background()
	var setup []string
	for i, at := range []time.Time{t0, t0.Add(90 * time.Second), t0.Add(-time.Hour), t0.Add(2 * time.Minute)} {
		id := fmt.Sprint("old-", i)
		env, _ := providers.MarshalEnvelope(&providers.Event{ID: id, Source: "s", DetailType: "T", Time: at, Detail: []byte(`{}`)})
		setup = append(setup, fmt.Sprintf(`INSERT INTO events (id, bus, source, detail_type, time, payload) VALUES ('%s', 'default', 's', 'T', %d, '%s')`,
			id, at.UnixMicro(), env))
	}
	db := migratedFrom(t, 5, setup...)
	var got []string
	for se, err := range db.Events(ctx, providers.EventQuery{Since: t0.Add(time.Second), Until: t0.Add(2 * time.Minute)}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, se.ID)
	}
	if want := []string{"old-1"}; !slices.Equal(got, want) {
		t.Fatalf("window after migration: %q, want %q", got, want)
	}
	var n int
	if err := db.r.QueryRow(`SELECT count(*) FROM event_minutes`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("event_minutes rows = %d, %v; want 4", n, err)
	}
}
