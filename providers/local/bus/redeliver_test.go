package bus

import (
	"context"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// TestRedeliverFinishesWhatAStoppedProcessLeft: process A stored an event and
// delivered it to y, but stopped while x ran. B, on the same store,
// redelivers to x only, and a second Redeliver finds nothing left.
func TestRedeliverFinishesWhatAStoppedProcessLeft(t *testing.T) {
	ctx := context.Background()
	a := newHarness(t, map[string]string{"x": `{}`, "y": `{}`})
	hung := make(chan struct{})
	a.inv.on("x", func(ctx context.Context, _ []byte, _ int) (InvokeOutcome, error) {
		close(hung)
		<-ctx.Done() // until A is closed at the end of the test
		return InvokeOutcome{}, ctx.Err()
	})
	res, err := a.bus.Publish(ctx, "", []providers.Event{order(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	<-hung
	for { // until y's outcome is written
		ds, _ := a.db.Deliveries(ctx, []string{res[0].EventID})
		if len(ds) == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}

	inv := newFakeInvoker()
	b, err := New(Options{Store: a.db, Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	flow := b.NewFlow()
	n, err := b.Redeliver(ctx, flow, providers.EventQuery{})
	if err != nil || n != 1 {
		t.Fatalf("Redeliver = %d, %v; want 1 (x only)", n, err)
	}
	ds := waitFlow(t, b, flow)
	if len(ds) != 1 || ds[0].Function != "x" || ds[0].Status != "ok" || len(inv.callsOf("y")) != 0 {
		t.Fatalf("redelivered %+v", ds)
	}
	if n, err := b.Redeliver(ctx, "", providers.EventQuery{}); err != nil || n != 0 {
		t.Fatalf("second Redeliver = %d, %v; want 0", n, err)
	}
}
