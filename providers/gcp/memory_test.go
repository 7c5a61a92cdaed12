package gcp

import (
	"context"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
)

// TestSetMemoryLive: tune memory --apply updates only the memory of the
// function (one UpdateFunction, mask service_config.available_memory,
// waited on) and says which revision went live; the same size again
// writes nothing; a size Cloud Functions has not is refused.
func TestSetMemoryLive(t *testing.T) {
	ctx := context.Background()
	h, p := deployEnv(t, "shop")
	if err := p.Require(providers.AbilityMemory); err != nil {
		t.Fatal(err)
	}
	fd := h.fn(t, "shop", "orders", 1)
	if err := p.Deployer.ApplyFunction(ctx, fd, true, nil); err != nil {
		t.Fatal(err)
	}
	before := len(h.fake.MutatingCalls())
	ms := p.Memory.(providers.LiveMemorySetter)
	msg, err := ms.SetMemoryLive(ctx, "orders", 512)
	if err != nil || !strings.Contains(msg, "256 -> 512 MB, revision") {
		t.Fatalf("SetMemoryLive = %q, %v", msg, err)
	}
	calls := h.fake.MutatingCalls()[before:]
	if len(calls) != 1 || calls[0].Method != "UpdateFunction" || strings.Join(calls[0].Mask, ",") != "service_config.available_memory" {
		t.Errorf("calls %+v", calls)
	}
	dep, err := p.Deployer.Deployed(ctx)
	if err != nil || len(dep) != 1 || dep[0].MemoryMB != 512 {
		t.Fatalf("deployed %+v, %v", dep, err)
	}
	before = len(h.fake.MutatingCalls())
	if msg, err := ms.SetMemoryLive(ctx, "orders", 512); err != nil || !strings.Contains(msg, "already 512 MB") {
		t.Errorf("same size: %q, %v", msg, err)
	}
	if n := len(h.fake.MutatingCalls()) - before; n != 0 {
		t.Errorf("same size wrote %d times", n)
	}
	if _, err := ms.SetMemoryLive(ctx, "orders", 64); providers.CodeOf(err) != providers.InvalidArgument {
		t.Errorf("64 MB: %v", err)
	}
}
