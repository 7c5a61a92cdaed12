//go:build unix

package local

import (
	"context"
	"encoding/json"
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
	start := func() *Engine {
		t.Helper()
		e, err := Start(ctx, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
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
