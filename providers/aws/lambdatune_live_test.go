package aws

import (
	"context"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// tune memory --apply moves what runs: a version with the new memory is
// published and the live alias (rules and invoke call it) points at it;
// a deploy with the new memory in evcli.yaml then has nothing to do.
func TestSetMemoryLivePublishesAndMovesLive(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.named(e.three())
	e.mustDeploy(desired, false)
	tu := NewLambdaTuner(e.srv.Config(e.ctx), &TunerOptions{Physical: e.d.PhysicalName, PollInterval: time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	msg, err := tu.SetMemoryLive(e.ctx, "orders", 512)
	if err != nil {
		t.Fatal(err)
	}
	if msg != "published version 2, live 1 -> 2" {
		t.Errorf("said %q", msg)
	}
	f, _ := e.srv.Function("shop-orders")
	if f.Aliases["live"].Version != "2" {
		t.Fatalf("live = %+v", f.Aliases["live"])
	}
	got, err := e.d.Deployed(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range got {
		if fd.Name == "orders" && fd.MemoryMB != 512 {
			t.Errorf("live memory = %d, want 512", fd.MemoryMB)
		}
	}
	desired[0].MemoryMB = 512
	e.noChange(desired)
	var _ providers.LiveMemorySetter = tu
}
