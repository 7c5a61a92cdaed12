package tune

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestPercentileNearestRank(t *testing.T) {
	// The nearest-rank examples: rank = ceil(p/100*n).
	five := []float64{15, 20, 35, 40, 50}
	ten := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		vals []float64
		p    float64
		want float64
	}{
		{five, 5, 15},   // ceil(0.25)=1
		{five, 30, 20},  // ceil(1.5)=2
		{five, 40, 20},  // ceil(2.0)=2
		{five, 50, 35},  // ceil(2.5)=3
		{five, 100, 50}, // ceil(5)=5
		{ten, 50, 5},    // ceil(5)=5
		{ten, 90, 9},    // ceil(9)=9
		{ten, 99, 10},   // ceil(9.9)=10
		{ten, 25, 3},    // ceil(2.5)=3
		{ten, 0, 1},
		{[]float64{7}, 99, 7},
		{nil, 50, 0},
	}
	for _, tt := range tests {
		if got := Percentile(tt.vals, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %g) = %g, want %g", tt.vals, tt.p, got, tt.want)
		}
	}
}

func TestNewDist(t *testing.T) {
	d := NewDist([]float64{10, 2, 8, 4, 6}) // sorted 2 4 6 8 10
	want := Dist{N: 5, Mean: 6, P50: 6, P90: 10, P95: 10, P99: 10, Max: 10}
	if d != want {
		t.Fatalf("NewDist = %+v, want %+v", d, want)
	}
	if (NewDist(nil) != Dist{}) {
		t.Fatal("empty dist not zero")
	}
}

func TestDropOutliers(t *testing.T) {
	// n=9: Q1 = x[ceil(2.25)-1] = 3, Q3 = x[ceil(6.75)-1] = 7, IQR 4,
	// fences -3 and 13: 100 is dropped, 13 kept.
	kept, dropped := DropOutliers([]float64{100, 1, 2, 3, 4, 5, 6, 7, 13})
	if dropped != 1 || !slices.Equal(kept, []float64{1, 2, 3, 4, 5, 6, 7, 13}) {
		t.Fatalf("kept %v dropped %d", kept, dropped)
	}
	kept, dropped = DropOutliers([]float64{1, 1000, 3})
	if dropped != 0 || len(kept) != 3 {
		t.Fatalf("fewer than 4 values must be kept: %v %d", kept, dropped)
	}
}

func TestSummarizeRecords(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := func(i int, mem int, d float64, billed int64, used int, init, cpu float64, outcome string) providers.InvocationRecord {
		return providers.InvocationRecord{Function: "f", Time: t0.Add(time.Duration(i) * time.Minute), MemorySizeMB: mem,
			DurationMs: d, BilledDurationMs: billed, MaxMemoryUsedMB: used, InitDurationMs: init, CPUTimeMs: cpu, Outcome: outcome}
	}
	recs := []providers.InvocationRecord{
		rec(0, 256, 999, 999, 200, 0, 0, "ok"), // older size: excluded from the distributions
		rec(1, 512, 10, 10, 60, 120, 5, "ok"),  // cold
		rec(2, 512, 20, 20, 62, 0, 5, "ok"),
		rec(3, 512, 30, 30, 64, 0, 0, ""), // CPU unknown
		rec(4, 512, 40, 41, 70, 0, 10, "ok"),
		rec(5, 512, 3000, 3000, 90, 0, 0, "timeout"),
	}
	o := SummarizeRecords("f", t0, t0.Add(24*time.Hour), recs)
	if o.Invocations != 6 || o.Errors != 1 || o.MemoryMB != 512 || !slices.Equal(o.OtherSizes, []int{256}) {
		t.Fatalf("counts: %+v", o)
	}
	if o.Duration != (Dist{N: 4, Mean: 25, P50: 20, P90: 40, P95: 40, P99: 40, Max: 40}) {
		t.Fatalf("duration %+v", o.Duration)
	}
	if o.BilledMeanMs != 25.25 || o.ColdStarts != 1 || o.Init.Mean != 120 {
		t.Fatalf("billed %g cold %d init %+v", o.BilledMeanMs, o.ColdStarts, o.Init)
	}
	// memory over the 5 records at 512 MB, the timeout included: 60 62 64 70 90
	if o.MaxMemoryUsedP99MB != 90 || o.MaxMemoryUsedMaxMB != 90 {
		t.Fatalf("memory p99 %d max %d", o.MaxMemoryUsedP99MB, o.MaxMemoryUsedMaxMB)
	}
	// CPU share: (5+5+10) / (10+20+40) = 20/70
	if !o.CPUShareKnown || o.CPUSamples != 3 || !near(o.CPUShare, 20.0/70) {
		t.Fatalf("cpu share %v %d %g", o.CPUShareKnown, o.CPUSamples, o.CPUShare)
	}
	// Run-queue wait is this machine's contention: it is taken out of the
	// duration, so a CPU-bound handler on a busy machine reads as CPU-bound.
	busy := []providers.InvocationRecord{rec(1, 512, 300, 300, 60, 0, 20, "ok"), rec(2, 512, 100, 100, 60, 0, 20, "ok")}
	busy[0].CPUWaitMs = 270 // 300 ms = 20 on CPU + 270 waiting + 10 IO
	busy[1].CPUWaitMs = 90  // 100 ms = 20 on CPU + 90 waiting (more than the rest: clamp to the CPU time)
	if o := SummarizeRecords("f", t0, t0.Add(time.Hour), busy); !near(o.CPUShare, 40.0/50) {
		t.Fatalf("cpu share with run-queue wait: %g, want (20+20)/(30+20)", o.CPUShare)
	}
	// 6 invocations in 24h -> 180 in 30 days
	if !near(o.MonthlyInvocations(), 180) {
		t.Fatalf("monthly %g", o.MonthlyInvocations())
	}
	o.ApplyTotals(600, 7, 2)
	if !o.Sampled || o.Invocations != 600 || o.Errors != 7 || o.Throttles != 2 {
		t.Fatalf("totals %+v", o)
	}
}

func TestMeasure(t *testing.T) {
	var recs []providers.InvocationRecord
	recs = append(recs, providers.InvocationRecord{DurationMs: 300, BilledDurationMs: 300, InitDurationMs: 150, MaxMemoryUsedMB: 50, Outcome: "ok"}) // cold
	for _, d := range []float64{10, 11, 12, 13, 14, 15, 16, 17, 90} {                                                                                // 90 is an outlier: fences 12-7.5.. 16+7.5 -> 4.5..23.5 (Q1=12, Q3=16)
		recs = append(recs, providers.InvocationRecord{DurationMs: d, BilledDurationMs: int64(math.Ceil(d)), MaxMemoryUsedMB: 55, Outcome: "ok"})
	}
	recs = append(recs, providers.InvocationRecord{DurationMs: 5, MaxMemoryUsedMB: 128, Outcome: "oom"})
	p := Measure(512, recs)
	if p.Runs != 11 || p.ColdStarts != 1 || p.Failed != 1 || p.Outliers != 1 || p.Kept != 8 {
		t.Fatalf("%+v", p)
	}
	if p.Duration.Mean != 13.5 || p.BilledMeanMs != 13.5 || p.FailureKinds() != "1 oom" {
		t.Fatalf("mean %g billed %g kinds %q", p.Duration.Mean, p.BilledMeanMs, p.FailureKinds())
	}
}
