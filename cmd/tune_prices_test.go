package cmd

import (
	"context"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
)

// testPricer is a provider's price table: it records what it was asked.
type testPricer struct{ asked []string }

func (p *testPricer) Price(region, arch string, o *providers.PriceOverride) (providers.Price, string, error) {
	p.asked = append(p.asked, region+"/"+arch)
	return providers.Price{GBSecondUSD: 0.001, RequestUSD: 0.01}, "priced by the test cloud's table", nil
}

// TestTunePricesAreTheProviders: tune memory asks the provider's Pricer
// for every function's price (cmd never picks a table by provider name);
// a provider without one gets Lambda's table.
func TestTunePricesAreTheProviders(t *testing.T) {
	run := func(pricer providers.Pricer) string {
		r := tuneFactory(t, defaultTuneMetrics())
		open := r.f.OpenProvider
		r.f.OpenProvider = func(ctx context.Context, name string, o providers.OpenOptions) (*providers.Provider, error) {
			p, err := open(ctx, name, o)
			if err == nil && pricer != nil {
				p.Prices = pricer
			}
			return p, err
		}
		if code := Run(context.Background(), r.f, []string{"tune", "memory", "--since", "1d", "-o", "json"}); code != 0 {
			t.Fatalf("exit %d: %s", code, r.errOut)
		}
		return r.out.String() + r.errOut.String()
	}
	lambda := run(nil)
	p := &testPricer{}
	own := run(p)
	if len(p.asked) != 2 {
		t.Fatalf("the provider's table was asked %v, want once per function (2)", p.asked)
	}
	if own == lambda {
		t.Fatal("the provider's prices changed nothing in the recommendation")
	}
	if !strings.Contains(own, "priced by the test cloud's table") {
		t.Errorf("the provider's price note is not shown:\n%s", own)
	}
	if strings.Contains(lambda, "test cloud") {
		t.Errorf("a provider without a table got another's:\n%s", lambda)
	}
}
