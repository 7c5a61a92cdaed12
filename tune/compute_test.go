package tune

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
)

func onCloud(s Strategy, comp Compute, p Price) Config {
	c := cfg(s)
	c.Compute, c.Price = &comp, p
	return c
}

// TestCloudRunCPUBound: a CPU-bound function (90% of 1 s on the CPU, 256
// MiB) on Cloud Run functions. Each tier's duration scales with Google's
// vCPUs for it (not memory/1769), is billed per 100 ms, and costs CPU and
// memory apart, at us-central1's tier 1 prices.
func TestCloudRunCPUBound(t *testing.T) {
	p, note := LookupCloudRunPrice("us-central1", nil)
	if note != "" {
		t.Fatalf("us-central1: note %q", note)
	}
	obs := week("render", records("render", 200, 256, 1000, 900, 100))
	// d(m) = 100 + 900 * 0.167 / min(vcpus(m), 1); cost = (GiB * 2.5e-6 +
	// vCPU * 2.4e-5) * billed s + 0.4e-6.
	want := []struct {
		mb        int
		d, billed float64
		usd       float64
	}{
		{128, 100 + 900*0.167/0.083, 2000, (0.125*0.0000025+0.083*0.000024)*2 + 0.4e-6},
		{256, 1000, 1000, (0.25*0.0000025+0.167*0.000024)*1 + 0.4e-6},
		{512, 100 + 900*0.167/0.333, 600, (0.5*0.0000025+0.333*0.000024)*0.6 + 0.4e-6},
		{1024, 100 + 900*0.167/0.583, 400, (1*0.0000025+0.583*0.000024)*0.4 + 0.4e-6},
		{2048, 100 + 900*0.167, 300, (2*0.0000025+1*0.000024)*0.3 + 0.4e-6},
		{4096, 100 + 900*0.167, 300, (4*0.0000025+2*0.000024)*0.3 + 0.4e-6},
		{8192, 100 + 900*0.167, 300, (8*0.0000025+2*0.000024)*0.3 + 0.4e-6},
	}
	r := Recommend(obs, onCloud(Cost, CloudRunCompute, p))
	var sizes []int
	for _, e := range r.Estimates {
		sizes = append(sizes, e.MemoryMB)
	}
	if !reflect.DeepEqual(sizes, []int{128, 256, 512, 1024, 2048, 4096, 8192}) {
		t.Fatalf("candidates %v, want 2nd gen's tiers up to evcli.yaml's 10,240 MB", sizes)
	}
	for _, w := range want {
		e := estimateAt(r, w.mb)
		if !near(e.DurationMs, w.d) || e.BilledMs != w.billed || math.Abs(e.CostPerInvocationUSD-w.usd) > 1e-15 {
			t.Errorf("%d MiB: %.2f ms billed %.0f ms $%.4g, want %.2f ms billed %.0f ms $%.4g",
				w.mb, e.DurationMs, e.BilledMs, e.CostPerInvocationUSD, w.d, w.billed, w.usd)
		}
	}
	for _, tt := range []struct {
		s    Strategy
		want int
	}{
		// 128 MiB is 0.5% cheaper but 91% slower: not worth it.
		{Cost, 256},
		// Fastest at one vCPU (2 GiB); 4 and 8 GiB are no faster for a
		// single thread and cost more. Lambda would say 1,769 MB, which
		// Cloud Run does not have.
		{Speed, 2048},
		{Balanced, 2048},
	} {
		r := Recommend(obs, onCloud(tt.s, CloudRunCompute, p))
		if r.RecommendedMemoryMB != tt.want || !slices.Contains(CloudRunSizes, r.RecommendedMemoryMB) {
			t.Errorf("%s: recommended %d MiB, want %d (%s; %v)", tt.s, r.RecommendedMemoryMB, tt.want, r.Reason, r.Notes)
		}
	}
	if l := Recommend(obs, cfg(Speed)); l.RecommendedMemoryMB != 1769 {
		t.Errorf("the same function on Lambda: %d MB, want 1769", l.RecommendedMemoryMB)
	}
}

// TestFlexOnlyItsSizes: whatever the function and strategy, Flex
// Consumption's recommendation is one of 512, 2048 and 4096 MB, and no
// other size is even estimated (but the current one).
func TestFlexOnlyItsSizes(t *testing.T) {
	p, _ := LookupFlexPrice("eastus", nil)
	fns := []struct {
		name            string
		mem             int
		d, cpu          float64
		used            int
		cpuKnown        bool
		cost, speed     int
		balanced        int
		currentBilledMB int
	}{
		{"io", 2048, 100, 5, 60, true, 512, 2048, 512, 2048},
		{"cpu", 2048, 900, 880, 200, true, 2048, 2048, 2048, 2048},
		{"big", 2048, 300, 100, 1500, true, 2048, 2048, 2048, 2048},
		{"unknown", 2048, 100, 0, 60, false, 2048, 2048, 2048, 2048},
		// evcli.yaml's 1024 MB runs on (and is billed as) a 2048 MB instance.
		{"between", 1024, 100, 5, 60, true, 512, 1024, 512, 2048},
	}
	for _, fn := range fns {
		recs := records(fn.name, 200, fn.mem, fn.d, fn.cpu, fn.used)
		if !fn.cpuKnown {
			for i := range recs {
				recs[i].CPUTimeMs = 0
			}
		}
		obs := week(fn.name, recs)
		for s, want := range map[Strategy]int{Cost: fn.cost, Speed: fn.speed, Balanced: fn.balanced} {
			r := Recommend(obs, onCloud(s, FlexCompute, p))
			for _, e := range r.Estimates {
				if !slices.Contains(FlexSizes, e.MemoryMB) && e.MemoryMB != fn.mem {
					t.Errorf("%s/%s: estimated %d MB, not a Flex Consumption size", fn.name, s, e.MemoryMB)
				}
			}
			if r.RecommendedMemoryMB != want || (r.Changed() && !slices.Contains(FlexSizes, r.RecommendedMemoryMB)) {
				t.Errorf("%s/%s: recommended %d MB, want %d (%s; %v)", fn.name, s, r.RecommendedMemoryMB, want, r.Reason, r.Notes)
			}
			cur := estimateAt(r, fn.mem)
			if got := p.Invocation(fn.currentBilledMB, cur.BilledMs); math.Abs(cur.CostPerInvocationUSD-got) > 1e-15 {
				t.Errorf("%s: current cost $%g, want $%g (billed as %d MB)", fn.name, cur.CostPerInvocationUSD, got, fn.currentBilledMB)
			}
		}
	}
	// Sizes the cloud lacks are never candidates, even when asked for.
	c := onCloud(Speed, FlexCompute, p)
	c.Sizes = []int{1769, 3008, 4096}
	if r := Recommend(week("cpu", records("cpu", 200, 2048, 900, 880, 200)), c); len(r.Estimates) != 2 || r.RecommendedMemoryMB != 2048 {
		t.Errorf("--sizes 1769,3008,4096 on Flex: estimates %+v, recommended %d", r.Estimates, r.RecommendedMemoryMB)
	}
	// The IO-bound function at 512 MB: 95 ms of IO + 5 ms of CPU at a
	// quarter of the vCPU; billed per ms at 0.5 GB.
	r := Recommend(week("io", records("io", 200, 2048, 100, 5, 60)), onCloud(Cost, FlexCompute, p))
	if e := estimateAt(r, 512); !near(e.DurationMs, 115) || math.Abs(e.CostPerInvocationUSD-(0.000026*0.5*0.115+0.4e-6)) > 1e-15 {
		t.Errorf("512 MB estimate %+v", e)
	}
}

// TestLambdaComputeUnchanged: an explicit LambdaCompute is what no compute
// was (the goldens cover the numbers themselves).
func TestLambdaComputeUnchanged(t *testing.T) {
	obs := week("f", records("f", 200, 1024, 300, 200, 100))
	for _, s := range []Strategy{Cost, Speed, Balanced} {
		c := cfg(s)
		c.Compute = &LambdaCompute
		a, b := Recommend(obs, cfg(s)), Recommend(obs, c)
		if !reflect.DeepEqual(a.Estimates, b.Estimates) || a.RecommendedMemoryMB != b.RecommendedMemoryMB {
			t.Errorf("%s: LambdaCompute changed the recommendation: %d vs %d", s, a.RecommendedMemoryMB, b.RecommendedMemoryMB)
		}
	}
}

type plainPricer struct{}

func (plainPricer) Price(string, string, *PriceOverride) (providers.Price, string, error) {
	return providers.Price{}, "", nil
}

func TestComputeOf(t *testing.T) {
	for _, tt := range []struct {
		pricer providers.Pricer
		want   string
	}{
		{nil, "Lambda"},
		{plainPricer{}, "Lambda"},
		{LambdaPrices, "Lambda"},
		{FlexPrices("eastus"), "Flex Consumption"},
		{CloudRunPrices("us-central1"), "Cloud Run functions (2nd gen)"},
	} {
		if got := ComputeOf(tt.pricer).Name; got != tt.want {
			t.Errorf("ComputeOf(%T) = %s, want %s", tt.pricer, got, tt.want)
		}
	}
}

func TestCloudRunInstanceAndBilling(t *testing.T) {
	for i, mb := range CloudRunSizes {
		if got, v := CloudRunCompute.Instance(mb); got != mb || v != CloudRunVCPUs[i] {
			t.Errorf("%d MiB: billed %d, %g vCPU; want %d, %g", mb, got, v, mb, CloudRunVCPUs[i])
		}
	}
	// A size between tiers gets the next tier's CPU, billed as itself.
	if mb, v := CloudRunCompute.Instance(768); mb != 768 || v != 0.583 {
		t.Errorf("768 MiB: %d MiB, %g vCPU", mb, v)
	}
	if mb, v := FlexCompute.Instance(1024); mb != 2048 || v != 1 {
		t.Errorf("Flex 1024 MB: %d MB, %g vCPU; want a 2048 MB instance", mb, v)
	}
	for _, tt := range []struct{ d, want float64 }{{0.4, 100}, {100, 100}, {100.0000001, 100}, {100.5, 200}, {250.3, 300}} {
		if got := billedOn(CloudRunCompute, tt.d); got != tt.want {
			t.Errorf("Cloud Run bills %g ms as %g, want %g", tt.d, got, tt.want)
		}
		if got := billedOn(LambdaCompute, tt.d); got != BilledMs(tt.d) {
			t.Errorf("Lambda bills %g ms as %g, want %g", tt.d, got, BilledMs(tt.d))
		}
	}
}

func TestLookupCloudRunPrice(t *testing.T) {
	for _, tt := range []struct {
		region   string
		gib, cpu float64
		note     string
	}{
		{"us-central1", 0.0000025, 0.000024, ""},
		{"europe-west1", 0.0000025, 0.000024, ""},
		{"europe-west2", 0.0000035, 0.0000336, ""},
		{"asia-southeast1", 0.0000035, 0.0000336, ""},
		{"mars-north1", 0.0000025, 0.000024, "used tier 1's"},
	} {
		p, note := LookupCloudRunPrice(tt.region, nil)
		if p.GBSecondUSD != tt.gib || p.VCPUSecondUSD != tt.cpu || math.Abs(p.RequestUSD-0.4e-6) > 1e-18 ||
			(tt.note == "") != (note == "") || !strings.Contains(note, tt.note) {
			t.Errorf("%s: %+v, note %q", tt.region, p, note)
		}
	}
	p, note := LookupCloudRunPrice("mars-north1", &PriceOverride{GBSecondX86: 0.000003, PerMillionReqUSD: 0.5})
	if note != "" || p.GBSecondUSD != 0.000003 || p.VCPUSecondUSD != 0.000024 || math.Abs(p.RequestUSD-0.5e-6) > 1e-18 {
		t.Errorf("override: %+v, note %q", p, note)
	}
	got, _, err := PriceOf(CloudRunPrices(""), "europe-west2", "", nil)
	if want, _ := LookupCloudRunPrice("europe-west2", nil); err != nil || got != want {
		t.Errorf("CloudRunPrices(\"\") in europe-west2 = %+v, %v; want %+v", got, err, want)
	}
}

func TestCheckSizesAndProbeSizes(t *testing.T) {
	for _, tt := range []struct {
		comp  Compute
		sizes []int
		err   string
	}{
		{LambdaCompute, []int{1769, 333}, ""},
		{FlexCompute, []int{512, 4096}, ""},
		{FlexCompute, []int{512, 1769}, "--sizes: 1769 MB is not a size Flex Consumption has: use some of 512,2048,4096"},
		{CloudRunCompute, []int{2048}, ""},
		{CloudRunCompute, []int{3008}, "3008 MB is not a size Cloud Run functions (2nd gen) has"},
	} {
		err := CheckSizes(tt.comp, tt.sizes)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s %v: %v, want %q", tt.comp.Name, tt.sizes, err, tt.err)
		}
	}
	for _, tt := range []struct {
		comp    Compute
		current int
		want    []int
	}{
		{LambdaCompute, 1024, []int{128, 512, 1024, 1769, 3008}},
		{FlexCompute, 2048, []int{512, 2048, 4096}},
		{FlexCompute, 1024, []int{512, 1024, 2048, 4096}},
		{CloudRunCompute, 768, []int{256, 512, 768, 1024, 2048, 4096}},
	} {
		if got := ProbeSizesOn(tt.comp, nil, tt.current); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s probes %v, want %v", tt.comp.Name, got, tt.want)
		}
	}
	if got := ProbeSizes(nil, 1024); !reflect.DeepEqual(got, []int{128, 512, 1024, 1769, 3008}) {
		t.Errorf("ProbeSizes = %v", got)
	}
}
