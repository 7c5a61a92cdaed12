//go:build unix

package local

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// TestHandOffToARunningServer: a one-shot engine whose delivery is still
// pending (its target cannot run, and the next retry is an hour away)
// finds no server to hand it to and changes nothing; once `local serve`
// runs it hands the delivery over, records nothing for it itself, and
// the server finishes it (here: fails it at once, since it retries
// nothing). Close then waits for nothing.
func TestHandOffToARunningServer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetRules(ctx, "x", []store.Rule{{ID: "x-rule", Function: "x", Pattern: json.RawMessage(`{"source":["shop"]}`)}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	e, err := Start(ctx, Options{Dir: dir, Backoff: func(int) time.Duration { return time.Hour }})
	if err != nil {
		t.Fatal(err)
	}
	s := inProcess{e}
	res, err := s.Send(ctx, "", []providers.Event{{Source: "shop", DetailType: "OrderCreated", Detail: json.RawMessage(`{}`)}}, false)
	if err != nil || len(res.Results) != 1 || res.Results[0].EventID == "" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	id := res.Results[0].EventID
	if _, ok, err := s.HandOff(ctx); ok || err != nil || e.Pending() != 1 {
		t.Fatalf("HandOff with no server = ok %v, %v (pending %d); want nothing done", ok, err, e.Pending())
	}

	sctx, stop := context.WithCancel(ctx)
	ready := make(chan *Engine, 1)
	served := make(chan error, 1)
	go func() { served <- Serve(sctx, Options{Dir: dir, Retries: -1}, func(se *Engine) { ready <- se }) }()
	var srv *Engine
	select {
	case srv = <-ready:
	case err := <-served:
		t.Fatalf("Serve: %v", err)
	}
	defer func() { stop(); <-served }()

	h, ok, err := s.HandOff(ctx)
	if !ok || err != nil || h.Deliveries != 1 || !strings.Contains(h.To, "local serve (pid ") || !strings.Contains(h.To, srv.Addr()) {
		t.Fatalf("HandOff = %+v, ok %v, %v; want 1 delivery to the server at %s", h, ok, err, srv.Addr())
	}
	if e.Pending() != 0 {
		t.Fatalf("%d deliveries still pending here after the hand-off", e.Pending())
	}
	done := make(chan error, 1)
	go func() { done <- s.Close(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close after the hand-off: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close after the hand-off waited")
	}

	// The server records the delivery's outcome; this engine recorded
	// only its first, retrying attempt.
	deadline := time.Now().Add(time.Minute)
	for {
		ds, err := srv.DB().Deliveries(ctx, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		final := 0
		for _, d := range ds {
			if d.Status == store.DeliveryOK || d.Status == store.DeliveryFailed {
				final++
			}
		}
		if final == 1 {
			break
		}
		if final > 1 || time.Now().After(deadline) {
			t.Fatalf("deliveries of %s: %+v; want one final outcome, by the server", id, ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
