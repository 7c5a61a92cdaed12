package tune

import "testing"

func TestVCPUs(t *testing.T) {
	for _, tt := range []struct {
		mb   int
		want float64
	}{{1769, 1}, {3538, 2}, {128, 128.0 / 1769}, {10240, 10240.0 / 1769}, {20000, 6}} {
		if got := VCPUs(tt.mb); !near(got, tt.want) {
			t.Errorf("VCPUs(%d) = %g, want %g", tt.mb, got, tt.want)
		}
	}
}

func TestModelDuration(t *testing.T) {
	m := Model{}
	tests := []struct {
		name        string
		d           float64
		cur, target int
		share       float64
		known       bool
		want        float64
	}{
		{"same size", 100, 1024, 1024, 0.5, true, 100},
		// io 50 + cpu 50 * (1024/1769)/(512/1769) = 50 + 100
		{"half CPU-bound, halve memory", 100, 1024, 512, 0.5, true, 150},
		// 50 + 50 * 1024/1769
		{"half CPU-bound, to one vCPU", 100, 1024, 1769, 0.5, true, 50 + 50*1024.0/1769},
		{"single-threaded: no gain above one vCPU", 100, 1024, 3538, 0.5, true, 50 + 50*1024.0/1769},
		{"single-threaded: no loss down to one vCPU", 100, 3538, 1769, 1, true, 100},
		{"IO-bound", 100, 1024, 128, 0, true, 100},
		{"unknown, smaller: fully CPU-bound", 100, 1024, 256, 0, false, 400},
		{"unknown, larger: no speed-up", 100, 1024, 2048, 0.9, false, 100},
		{"share above 1 is capped", 100, 1024, 512, 3, true, 200},
	}
	for _, tt := range tests {
		if got := m.Duration(tt.d, tt.cur, tt.target, tt.share, tt.known); !near(got, tt.want) {
			t.Errorf("%s: Duration = %g, want %g", tt.name, got, tt.want)
		}
	}
	// Two threads: 3538 MB is twice as fast as 1769 MB for CPU work.
	if got := (Model{Threads: 2}).Duration(100, 1769, 3538, 1, true); !near(got, 50) {
		t.Errorf("2 threads: %g, want 50", got)
	}
}

func TestPriceArithmetic(t *testing.T) {
	x86, note, err := LookupPrice("us-east-1", "x86_64", nil)
	if err != nil || note != "" {
		t.Fatal(err, note)
	}
	// 1 GB for 0.1 s = 0.1 GB-s * 0.0000166667 + 0.20/1e6
	if got, want := x86.Invocation(1024, 100), 0.00000166667+0.0000002; !near(got, want) {
		t.Errorf("x86 1024 MB 100 ms = %.12g, want %.12g", got, want)
	}
	arm, _, _ := LookupPrice("eu-west-1", "arm64", nil)
	// 0.125 GB for 0.01 s = 0.00125 GB-s * 0.0000133334
	if got, want := arm.Invocation(128, 10), 0.00125*0.0000133334+0.0000002; !near(got, want) {
		t.Errorf("arm 128 MB 10 ms = %.12g, want %.12g", got, want)
	}
	_, note, _ = LookupPrice("xx-nowhere-9", "", nil)
	if note == "" {
		t.Error("unknown region must say it fell back")
	}
	if _, _, err := LookupPrice("us-east-1", "mips", nil); err == nil {
		t.Error("bad architecture accepted")
	}
	o, note, _ := LookupPrice("xx-nowhere-9", "arm64", &PriceOverride{GBSecondArm: 0.00001, PerMillionReqUSD: 0.25})
	if o.GBSecondUSD != 0.00001 || !near(o.RequestUSD, 0.25e-6) || note != "" {
		t.Errorf("override: %+v %q", o, note)
	}
	for _, tt := range []struct{ d, want float64 }{{0.2, 1}, {1, 1}, {1.0001, 2}, {100, 100}, {100.4, 101}} {
		if got := BilledMs(tt.d); got != tt.want {
			t.Errorf("BilledMs(%g) = %g, want %g", tt.d, got, tt.want)
		}
	}
}

func TestStrategies(t *testing.T) {
	ests := []Estimate{
		{MemoryMB: 128, DurationMs: 800, CostPerInvocationUSD: 10},
		{MemoryMB: 256, DurationMs: 400, CostPerInvocationUSD: 10},
		{MemoryMB: 512, DurationMs: 150, CostPerInvocationUSD: 12},
		{MemoryMB: 1024, DurationMs: 100, CostPerInvocationUSD: 16},
		{MemoryMB: 2048, DurationMs: 100, CostPerInvocationUSD: 32},
	}
	tests := []struct {
		s      Strategy
		weight float64
		want   int
	}{
		{Cost, 0, 256},   // 128 and 256 tie at 10: the faster
		{Speed, 0, 1024}, // 1024 and 2048 tie at 100 ms: the cheaper
		// maxCost 32, maxDur 800; value = .5*c/32 + .5*d/800:
		// 128 .65625, 256 .40625, 512 .28125, 1024 .3125, 2048 .5625
		{Balanced, 0.5, 512},
		// w=1: cost only; 128 and 256 tie and the first wins (Power Tuning's stable sort)
		{Balanced, 1, 128},
		// w=0: duration only; 1024 and 2048 tie, the first wins
		{Balanced, 0, 1024},
		// w=0.9: .9*c/32 + .1*d/800: 128 .38125, 256 .33125, 512 .35625, 1024 .4625
		{Balanced, 0.9, 256},
	}
	for _, tt := range tests {
		if got := ests[tt.s.Choose(ests, tt.weight)].MemoryMB; got != tt.want {
			t.Errorf("%s(%g) chose %d, want %d", tt.s, tt.weight, got, tt.want)
		}
	}
	// Speed buys memory only when it pays: within 5% of the fastest is as fast.
	mostlyWaiting := []Estimate{
		{MemoryMB: 128, DurationMs: 108, CostPerInvocationUSD: 1},
		{MemoryMB: 1024, DurationMs: 107, CostPerInvocationUSD: 4},
		{MemoryMB: 1769, DurationMs: 106, CostPerInvocationUSD: 7},
	}
	if got := mostlyWaiting[Speed.Choose(mostlyWaiting, 0)].MemoryMB; got != 128 {
		t.Errorf("speed for a function that mostly waits chose %d MB, want 128", got)
	}
	cpuBound := []Estimate{
		{MemoryMB: 512, DurationMs: 240, CostPerInvocationUSD: 2},
		{MemoryMB: 1024, DurationMs: 120, CostPerInvocationUSD: 2},
		{MemoryMB: 1536, DurationMs: 82, CostPerInvocationUSD: 2.1},
		{MemoryMB: 1769, DurationMs: 80, CostPerInvocationUSD: 2.4},
	}
	if got := cpuBound[Speed.Choose(cpuBound, 0)].MemoryMB; got != 1536 {
		t.Errorf("speed for a CPU-bound function chose %d MB, want 1536 (2.5%% slower than 1769, cheaper)", got)
	}
	if Cost.Choose(nil, 0) != -1 {
		t.Error("empty")
	}
	if _, err := ParseStrategy("cheap"); err == nil {
		t.Error("bad strategy accepted")
	}
}

func TestFormatUSD(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{0, "$0"}, {123.4, "$123"}, {1.234, "$1.23"}, {-0.5, "-$0.50"}, {0.001234, "$0.00123"}, {-0.0000075798, "-$0.00000758"}, {0.0099999, "$0.0100"}} {
		if got := formatUSD(tt.v); got != tt.want {
			t.Errorf("formatUSD(%g) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
