package tune

import (
	"math"
	"strings"
	"testing"
)

func TestLookupFlexPrice(t *testing.T) {
	p, note := LookupFlexPrice("eastus", nil)
	if note != "" {
		t.Errorf("eastus: note %q", note)
	}
	// 1 s at 2048 MB: 2 GB-s at $0.000026 plus one execution at $0.40/M.
	if got, want := p.Invocation(2048, 1000), 2*0.000026+0.40/1e6; math.Abs(got-want) > 1e-15 {
		t.Errorf("cost = %v, want %v", got, want)
	}
	if _, note := LookupFlexPrice("westeurope", nil); !strings.Contains(note, "East US") {
		t.Errorf("westeurope: note %q, want the fallback said", note)
	}
	o, note := LookupFlexPrice("westeurope", &PriceOverride{GBSecondX86: 0.00002, PerMillionReqUSD: 0.2})
	if note != "" || o.GBSecondUSD != 0.00002 || math.Abs(o.RequestUSD-0.2/1e6) > 1e-18 {
		t.Errorf("override: %+v, note %q", o, note)
	}
}

// TestPricers: PriceOf with no table is Lambda's; FlexPrices prices its
// location (the region when it has none) with Flex Consumption's table.
func TestPricers(t *testing.T) {
	lp, ln, err := LookupPrice("eu-west-1", "arm64", nil)
	if got, note, err2 := PriceOf(nil, "eu-west-1", "arm64", nil); err != nil || err2 != nil || got != lp || note != ln {
		t.Errorf("PriceOf(nil) = %+v %q %v, want Lambda's %+v %q", got, note, err2, lp, ln)
	}
	if _, _, err := PriceOf(nil, "", "sparc", nil); err == nil {
		t.Error("Lambda's table priced an unknown architecture")
	}
	fp, fn := LookupFlexPrice("eastus2", nil)
	if got, note, err := PriceOf(FlexPrices("eastus2"), "us-east-1", "", nil); err != nil || got != fp || note != fn {
		t.Errorf("FlexPrices(eastus2) = %+v %q %v, want %+v %q", got, note, err, fp, fn)
	}
	fp, fn = LookupFlexPrice("westeurope", &PriceOverride{GBSecondX86: 0.00003})
	if got, note, _ := PriceOf(FlexPrices(""), "westeurope", "", &PriceOverride{GBSecondX86: 0.00003}); got != fp || note != fn || got.GBSecondUSD != 0.00003 {
		t.Errorf("FlexPrices(\"\") in westeurope with an override = %+v %q, want %+v %q", got, note, fp, fn)
	}
}
