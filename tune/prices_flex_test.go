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
