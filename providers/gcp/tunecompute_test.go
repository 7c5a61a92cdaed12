package gcp

import (
	"context"
	"testing"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tune"
)

// TestTuneComputeIsCloudRun: the driver's Pricer is Cloud Run functions'
// compute model (2nd gen's tiers, request-based prices), and every size
// tune memory may recommend is one the fake's UpdateFunction takes and
// reads back.
func TestTuneComputeIsCloudRun(t *testing.T) {
	ctx := context.Background()
	h, p := deployEnv(t, "shop")
	comp := tune.ComputeOf(p.Prices)
	if comp.Name != tune.CloudRunCompute.Name || comp.BillingIncrementMs != 100 {
		t.Fatalf("compute %q (billing step %g ms), want Cloud Run functions'", comp.Name, comp.BillingIncrementMs)
	}
	price, _, err := p.Prices.Price("", "", nil)
	if err != nil || price.VCPUSecondUSD == 0 || price.GBSecondUSD == 0 {
		t.Fatalf("price %+v, %v: want CPU and memory priced apart", price, err)
	}
	if err := p.Deployer.ApplyFunction(ctx, h.fn(t, "shop", "orders", 1), true, nil); err != nil {
		t.Fatal(err)
	}
	ms := p.Memory.(providers.LiveMemorySetter)
	for _, mb := range comp.Sizes {
		if _, err := ms.SetMemoryLive(ctx, "orders", mb); err != nil {
			t.Fatalf("%d MiB: %v", mb, err)
		}
		dep, err := p.Deployer.Deployed(ctx)
		if err != nil || len(dep) != 1 || dep[0].MemoryMB != mb {
			t.Fatalf("%d MiB: deployed %+v, %v", mb, dep, err)
		}
	}
}
