//go:build unix

package local

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

func TestDeliveryLockSoleOnlyWithoutOtherHolders(t *testing.T) {
	dir := t.TempDir()
	ran := 0
	a, sole, err := acquireDeliveryLock(dir, func() error { ran++; return nil })
	if err != nil || !sole || ran != 1 {
		t.Fatalf("first = sole %v, ran %d, %v; want sole, ran once", sole, ran, err)
	}
	b, sole, err := acquireDeliveryLock(dir, func() error { ran++; return nil })
	if err != nil || sole || ran != 1 {
		t.Fatalf("second while the first holds = sole %v, ran %d, %v; want not sole", sole, ran, err)
	}
	a.release()
	c, sole, err := acquireDeliveryLock(dir, nil)
	if err != nil || sole {
		t.Fatalf("third while the second holds = sole %v, %v; want not sole", sole, err)
	}
	b.release()
	c.release()
	d, sole, err := acquireDeliveryLock(dir, nil)
	if err != nil || !sole {
		t.Fatalf("after all released = sole %v, %v; want sole", sole, err)
	}
	d.release()
}

// TestEngineRedeliversOnlyWhenAlone: an engine started while another
// delivers from the same store does not look for unfinished deliveries.
func TestEngineRedeliversOnlyWhenAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendEvents(ctx, []providers.StoredEvent{{Event: providers.Event{
		ID: "e1", Source: "s", DetailType: "T", Detail: json.RawMessage(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	start := func() *Engine { return startEngine(t, dir) }
	a := start()
	if a.redeliverDone == nil {
		t.Fatal("the only engine did not redeliver")
	}
	b := start()
	if b.redeliverDone != nil {
		t.Fatal("an engine started while another delivers redelivered")
	}
	if err := a.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close()
	c := start()
	if c.redeliverDone != nil {
		t.Fatal("an engine started while a second one delivers redelivered")
	}
	b.Close()
	c.Close()
	d := start()
	defer d.Close()
	if d.redeliverDone == nil {
		t.Fatal("an engine started after the others closed did not redeliver")
	}
}

// TestCloseMarksWhatALoneEngineStored: an engine that started alone marks,
// at Close, the events it stored as delivered, so that the next lone engine
// does not read them again; it does not when another engine stored events
// meanwhile (their deliveries may be unfinished), nor when it did not start
// alone.
func TestCloseMarksWhatALoneEngineStored(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := func() *Engine { return startEngine(t, dir) }
	publish := func(e *Engine, ids ...string) {
		t.Helper()
		var evs []providers.Event
		for _, id := range ids {
			evs = append(evs, providers.Event{ID: id, Source: "s", DetailType: "T", Detail: json.RawMessage(`{}`)})
		}
		if _, err := e.Bus().Publish(ctx, "default", evs); err != nil {
			t.Fatal(err)
		}
	}
	// mark returns the redelivery mark and the store's last seq.
	mark := func() (string, string) {
		t.Helper()
		db, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		v, _, err := db.GetKV(ctx, "bus", "redelivered-through")
		if err != nil {
			t.Fatal(err)
		}
		last, err := db.LastEventSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(v), fmt.Sprint(last)
	}

	a := start()
	publish(a, "a1", "a2", "a3")
	publish(a, "a2") // stored already: not counted twice
	a.Close()
	atA, last := mark()
	if atA != last {
		t.Fatalf("after a lone engine stored 3 events: mark %q, want the last seq %s", atA, last)
	}

	b := start() // alone
	c := start() // not alone
	publish(b, "b1")
	publish(c, "c1")
	b.Close()
	if got, _ := mark(); got != atA {
		t.Fatalf("another engine stored an event meanwhile: mark %q, want it left at %s", got, atA)
	}
	publish(c, "c2")
	c.Close()
	if got, _ := mark(); got != atA {
		t.Fatalf("an engine that did not start alone moved the mark to %q", got)
	}

	d := start() // alone: reads b1, c1 and c2 (nothing unfinished: no rules)
	if err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	publish(d, "d1")
	d.Close()
	if got, last := mark(); got != last {
		t.Fatalf("after the next lone engine: mark %q, want the last seq %s", got, last)
	}
}

// startEngine starts an engine on dir, failing the test if it cannot.
func startEngine(t *testing.T, dir string) *Engine {
	t.Helper()
	e, err := Start(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
