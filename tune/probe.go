package tune

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/evcli/evcli/providers"
)

// ProbeResult is what the probe measured at one size.
type ProbeResult struct {
	MemoryMB     int
	Runs         int // records returned
	ColdStarts   int // dropped: they measure the init, not the steady state
	Outliers     int // dropped: outside Q1-1.5 IQR .. Q3+1.5 IQR of the warm durations
	Failed       int // not ok; a size with failures is not a candidate
	Failures     map[string]int
	Kept         int
	Duration     Dist    // of the kept runs
	BilledMeanMs float64 // of the kept runs
	// MaxMemoryUsedMB of every run (for the floor).
	MaxMemoryUsedMB []float64
}

// FailureKinds describes the failures, e.g. "2 oom, 1 error".
func (p ProbeResult) FailureKinds() string {
	var kinds []string
	for k := range p.Failures {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", p.Failures[k], k))
	}
	return strings.Join(parts, ", ")
}

// Measure reduces one size's records: failures and cold starts are
// counted and dropped, then outliers by Tukey's fences on the warm
// durations; the rest are kept.
func Measure(memoryMB int, records []providers.InvocationRecord) ProbeResult {
	p := ProbeResult{MemoryMB: memoryMB, Runs: len(records)}
	var warm []providers.InvocationRecord
	for _, r := range records {
		p.MaxMemoryUsedMB = append(p.MaxMemoryUsedMB, float64(r.MaxMemoryUsedMB))
		if r.Outcome != "" && r.Outcome != "ok" {
			p.Failed++
			if p.Failures == nil {
				p.Failures = map[string]int{}
			}
			p.Failures[r.Outcome]++
			continue
		}
		if r.InitDurationMs > 0 {
			p.ColdStarts++
			continue
		}
		warm = append(warm, r)
	}
	var lo, hi float64
	check := len(warm) >= 4
	if check {
		ds := make([]float64, len(warm))
		for i, r := range warm {
			ds[i] = r.DurationMs
		}
		slices.Sort(ds)
		lo, hi = TukeyFences(ds)
	}
	var kept []float64
	billed := 0.0
	for _, r := range warm {
		if check && (r.DurationMs < lo || r.DurationMs > hi) {
			p.Outliers++
			continue
		}
		kept = append(kept, r.DurationMs)
		b := float64(r.BilledDurationMs)
		if b == 0 {
			b = BilledMs(r.DurationMs)
		}
		billed += b
	}
	p.Kept = len(kept)
	p.Duration = NewDist(kept)
	if p.Kept > 0 {
		p.BilledMeanMs = billed / float64(p.Kept)
	}
	return p
}

// ProbeEvent reports progress: before a size starts (Done false) and when it
// has finished (Done true, Result set).
type ProbeEvent struct {
	Function string
	MemoryMB int
	Index    int // 0-based position among the sizes
	Total    int
	Done     bool
	Result   ProbeResult
}

// Probe runs p at each size in turn and measures each. It stops at the first
// error (ctx cancellation included) and returns what it measured so far.
func Probe(ctx context.Context, p providers.Prober, function string, sizes []int, payload []byte, runs int, progress func(ProbeEvent)) ([]ProbeResult, error) {
	if runs < 1 {
		return nil, fmt.Errorf("--runs %d: use at least 1 (20 is a good start)", runs)
	}
	var out []ProbeResult
	for i, m := range sizes {
		if progress != nil {
			progress(ProbeEvent{Function: function, MemoryMB: m, Index: i, Total: len(sizes)})
		}
		recs, err := p.Probe(ctx, function, m, payload, runs)
		if err != nil {
			return out, fmt.Errorf("probe %s at %d MB: %w", function, m, err)
		}
		res := Measure(m, recs)
		out = append(out, res)
		if progress != nil {
			progress(ProbeEvent{Function: function, MemoryMB: m, Index: i, Total: len(sizes), Done: true, Result: res})
		}
	}
	return out, nil
}

// ProbeSizes returns the sizes to probe on Lambda: sizes (or
// DefaultProbeSizes) plus the current size, within Lambda's limits,
// ascending.
func ProbeSizes(sizes []int, current int) []int {
	return ProbeSizesOn(LambdaCompute, sizes, current)
}

// ProbeSizesOn returns the sizes to probe on comp: sizes (or comp's probe
// sizes) that comp has, plus the current size, ascending.
func ProbeSizesOn(comp Compute, sizes []int, current int) []int {
	if sizes == nil {
		sizes = comp.ProbeSizes
	}
	return candidates(comp, sizes, current)
}

// ApplyMemory sets function's memory through s and returns, where the
// provider publishes versions (providers.LiveMemorySetter), what it did
// ("published version 2, live 1 -> 2"); "" otherwise.
func ApplyMemory(ctx context.Context, s providers.MemorySetter, function string, memoryMB int) (string, error) {
	if ls, ok := s.(providers.LiveMemorySetter); ok {
		return ls.SetMemoryLive(ctx, function, memoryMB)
	}
	return "", s.SetMemory(ctx, function, memoryMB)
}
