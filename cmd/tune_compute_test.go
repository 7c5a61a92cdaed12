package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tune"
)

// TestTuneMemoryEachCloudsSizes: tune memory takes the sizes, CPU and
// prices from the provider's Pricer (cmd never asks which cloud it is):
// on gcp and azure every estimate is a size the cloud has (or the current
// one) and --apply sets only such a size; --sizes the cloud lacks is a
// usage error.
func TestTuneMemoryEachCloudsSizes(t *testing.T) {
	for _, tt := range []struct {
		cloud   string
		pricer  providers.Pricer
		sizes   []int
		args    []string
		applied string
	}{
		// thumbnails (98% CPU) is fastest at one vCPU: 2 GiB on Cloud Run
		// (Lambda would say 1769 MB).
		{"gcp", tune.CloudRunPrices("us-central1"), tune.CloudRunCompute.Sizes,
			[]string{"--strategy", "speed", "--max-increase", "none"}, "map[thumbnails:2048]"},
		// orders (IO-bound) drops to the smallest Flex instance; 1024 MB
		// runs on a 2048 MB instance, so thumbnails has nothing to gain.
		{"azure", tune.FlexPrices("eastus"), tune.FlexSizes,
			[]string{"--min-saving", "10%"}, "map[orders:512]"},
		// No compute said: Lambda, as before.
		{"lambda", nil, nil, []string{"--strategy", "speed", "--max-increase", "none"}, "map[orders:768 thumbnails:1769]"},
	} {
		t.Run(tt.cloud, func(t *testing.T) {
			r := tuneFactory(t, defaultTuneMetrics())
			withPricer(r, tt.pricer)
			a := &fakeApplier{set: map[string]int{}}
			withApplier(t, a)
			args := append([]string{"tune", "memory", "--since", "1d", "--apply", "--yes", "-o", "json"}, tt.args...)
			if code := Run(context.Background(), r.f, args); code != 0 {
				t.Fatalf("exit %d: %s", code, r.errOut)
			}
			if got := fmt.Sprint(a.set); got != tt.applied {
				t.Errorf("applied %s, want %s\n%s", got, tt.applied, r.errOut)
			}
			for _, line := range strings.Split(strings.TrimSpace(r.out.String()), "\n") {
				var rec struct {
					Type      string `json:"type"`
					Estimates []struct {
						MemoryMB int `json:"memoryMB"`
					} `json:"estimates"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
				if rec.Type != "recommendation" || tt.sizes == nil {
					continue
				}
				for _, e := range rec.Estimates {
					if !slices.Contains(tt.sizes, e.MemoryMB) && e.MemoryMB != 1024 {
						t.Errorf("estimated %d MB, a size %s does not have", e.MemoryMB, tt.cloud)
					}
				}
			}
		})
	}
	r := tuneFactory(t, defaultTuneMetrics())
	withPricer(r, tune.FlexPrices("eastus"))
	code := Run(context.Background(), r.f, []string{"tune", "memory", "--sizes", "512,1769"})
	if code != 2 || !strings.Contains(r.errOut.String(), "--sizes: 1769 MB is not a size Flex Consumption has: use some of 512,2048,4096") {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
}

// withPricer gives tuneFactory's provider pricer as its Prices (nil keeps
// none: Lambda's).
func withPricer(r tuneFactoryResult, pricer providers.Pricer) {
	open := r.f.OpenProvider
	r.f.OpenProvider = func(ctx context.Context, name string, o providers.OpenOptions) (*providers.Provider, error) {
		p, err := open(ctx, name, o)
		if err == nil && pricer != nil {
			p.Prices = pricer
		}
		return p, err
	}
}
