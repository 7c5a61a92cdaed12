package replay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// TestRunningReplayIsALease: while a replay runs, a --resume of it (or a
// new replay of its name) from elsewhere is refused and publishes nothing;
// once it has stopped, --resume takes it over.
func TestRunningReplayIsALease(t *testing.T) {
	evs := interleaved(4, 3)
	cps := NewMemCheckpoints()
	inFirst := make(chan struct{})
	letGo := make(chan struct{})
	bus := &fakeBus{}
	bus.onCall = func(call int, _ []providers.Event) {
		if call == 1 {
			close(inFirst)
			<-letGo
		}
	}
	cfg := baseConfig("fix-orders", &fakeClock{t: t0.Add(time.Hour)})
	cfg.MaxBatchEntries = 4
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := Run(ctx, cfg, &memStore{events: evs}, bus, cps)
		first <- err
	}()
	<-inFirst
	for _, resume := range []bool{true, false} {
		c := cfg
		c.Resume = resume
		_, err := Run(context.Background(), c, &memStore{events: evs}, &fakeBus{}, cps)
		var re *RunningError
		if !errors.As(err, &re) || !errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), "evcli replay --resume fix-orders") {
			t.Fatalf("second Run (resume %v) while the first runs = %v; want a *RunningError saying how to take over", resume, err)
		}
	}
	cancel() // Ctrl-C in the first process
	close(letGo)
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("first Run = %v, want cancelled", err)
	}
	c := cfg
	c.Resume = true
	sum := runReplay(t, c, &memStore{events: evs}, &fakeBus{}, cps)
	if sum.State != StateCompleted {
		t.Fatalf("resume after the first stopped: %+v", sum)
	}
}

func TestDefaultNamesDiffer(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	a, b := DefaultName(now), DefaultName(now)
	if a == b || !strings.HasPrefix(a, "replay-20240501-120000-") {
		t.Fatalf("DefaultName twice in one second: %q, %q", a, b)
	}
}
