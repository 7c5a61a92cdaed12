package tune

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Confidence levels.
const (
	High   = "high"
	Medium = "medium"
	Low    = "low"
)

// Sample sizes behind the confidence levels.
const (
	// DefaultMinSamples is the fewest successful invocations a
	// recommendation is made from.
	DefaultMinSamples = 20
	// HighSamples is the sample size from which estimates count as well
	// supported.
	HighSamples = 100
	// ProbeHighKept is the fewest kept runs per size for a high-confidence
	// probe.
	ProbeHighKept = 10
)

// Config says how to recommend.
type Config struct {
	Strategy Strategy
	Weight   float64 // Balanced only; 0..1
	// Headroom is added to Max Memory Used p99 to give the floor (0.2 = 20%).
	Headroom float64
	// Sizes are the candidate sizes; nil means Compute's. The current
	// size is always a candidate.
	Sizes []int
	// Compute is the cloud's compute model (sizes, vCPUs per size, billing
	// step); nil means LambdaCompute.
	Compute    *Compute
	Price      Price
	PriceNote  string // e.g. a region fallback; shown with the recommendation
	Model      Model
	MinSamples int // 0 means DefaultMinSamples
	// MinSavingForSlowdown is the monthly saving, as a fraction of the
	// function's current monthly cost, that a size estimated more than
	// MaxSlowdown slower (p95) than today must save to be recommended
	// (--min-saving-for-slowdown); 0 means DefaultMinSavingForSlowdown.
	MinSavingForSlowdown float64
}

// MaxSlowdown is how much slower (p95 duration) than today a recommended
// size may be without its saving passing MinSavingForSlowdown.
const MaxSlowdown = 0.10

// DefaultMinSavingForSlowdown: a slower size must save 10% of the monthly
// cost.
const DefaultMinSavingForSlowdown = 0.10

// Estimate is the (estimated or measured) duration and cost at one size.
type Estimate struct {
	MemoryMB             int
	DurationMs           float64 // mean duration of a warm invocation
	BilledMs             float64 // mean billed duration, init share included
	CostPerInvocationUSD float64
	// Measured is true for probe measurements; Kept is then the number of
	// runs kept, and Failed the runs that failed (the size is then not a
	// candidate).
	Measured bool
	Kept     int
	Failed   int
	// BelowFloor is true when the size is under the memory floor: shown,
	// never recommended.
	BelowFloor bool
	// P95Ms is the (estimated or measured) p95 duration; 0 when unknown.
	P95Ms float64
	// TooSlow is true when the size is estimated slower than the user's
	// time allows (see Config.MinSavingForSlowdown): shown, never
	// recommended.
	TooSlow bool
}

// Recommendation is the result for one function.
type Recommendation struct {
	Function            string
	Strategy            Strategy
	Weight              float64
	CurrentMemoryMB     int
	RecommendedMemoryMB int
	FloorMB             int
	// Estimates covers every candidate size, in ascending memory order,
	// those below the floor included (marked).
	Estimates []Estimate
	// Current and Recommended are the estimates at those sizes.
	Current, Recommended Estimate

	MonthlyInvocations        float64
	MonthlyCostCurrentUSD     float64
	MonthlyCostRecommendedUSD float64
	MonthlySavingUSD          float64

	Confidence string
	Reason     string
	// Insufficient is true when there was too little data to recommend;
	// Reason then says what would fix it.
	Insufficient bool
	Probed       bool
	Notes        []string

	Observations Observations
}

// Changed reports whether the recommendation differs from the current size.
func (r Recommendation) Changed() bool {
	return !r.Insufficient && r.RecommendedMemoryMB != r.CurrentMemoryMB
}

// SavingPercent is the monthly saving as a percentage of the current cost.
func (r Recommendation) SavingPercent() float64 {
	if r.MonthlyCostCurrentUSD == 0 {
		return 0
	}
	return r.MonthlySavingUSD / r.MonthlyCostCurrentUSD * 100
}

// Floor is the smallest memory size the observations allow: Max Memory
// Used p99 plus headroom, never below the largest Max Memory Used seen,
// rounded up to a whole MB and kept within Lambda's limits.
func Floor(o Observations, headroom float64) int {
	f := math.Max(float64(o.MaxMemoryUsedP99MB)*(1+headroom), float64(o.MaxMemoryUsedMaxMB))
	mb := int(math.Ceil(f - 1e-9))
	return min(max(mb, MinMemoryMB), MaxMemoryMB)
}

// compute is c.Compute, LambdaCompute when unset.
func (c Config) compute() Compute {
	if c.Compute == nil {
		return LambdaCompute
	}
	return *c.Compute
}

// model is c.Model with the CPU of c's compute.
func (c Config) model() Model {
	m := c.Model
	if m.CPU == nil && c.Compute != nil {
		m.CPU = cpuOf(*c.Compute)
	}
	return m
}

// candidates returns sizes (nil: comp's) plus current, deduplicated,
// sorted, within comp's smallest and largest size and evcli.yaml's limits.
// Only the current size may be one comp cannot set (it is never a change).
func candidates(comp Compute, sizes []int, current int) []int {
	if sizes == nil {
		sizes = comp.Sizes
	}
	lo, hi := MinMemoryMB, MaxMemoryMB
	if n := len(comp.Sizes); n > 0 {
		lo, hi = max(lo, comp.Sizes[0]), min(hi, comp.Sizes[n-1])
	}
	out := slices.DeleteFunc(slices.Clone(sizes), func(m int) bool {
		return m < lo || m > hi || (!comp.AnySize && !slices.Contains(comp.Sizes, m))
	})
	if current >= MinMemoryMB && current <= MaxMemoryMB {
		out = append(out, current)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c Config) minSamples() int {
	if c.MinSamples > 0 {
		return c.MinSamples
	}
	return DefaultMinSamples
}

// Recommend estimates every candidate size from the observations with the
// model and picks one with the strategy.
func Recommend(o Observations, c Config) Recommendation {
	r := Recommendation{
		Function: o.Function, Strategy: c.Strategy, Weight: c.Weight,
		CurrentMemoryMB: o.MemoryMB, RecommendedMemoryMB: o.MemoryMB,
		Observations: o, MonthlyInvocations: o.MonthlyInvocations(),
	}
	if c.PriceNote != "" {
		r.Notes = append(r.Notes, c.PriceNote)
	}
	if len(o.OtherSizes) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("memory changed in the window (also saw %s): only invocations at %d MB are used", joinMB(o.OtherSizes), o.MemoryMB))
	}
	if n := o.Samples(); n < c.minSamples() {
		r.Insufficient = true
		r.Confidence = Low
		r.Reason = fmt.Sprintf("too little data: %d successful invocation%s in %s (need %d); widen --since, wait for more traffic, or measure with --probe --payload @event.json",
			n, plural(n), formatWindow(o.Window()), c.minSamples())
		if o.Invocations == 0 {
			r.Reason = fmt.Sprintf("no invocations in %s; widen --since, invoke the function, or measure with --probe --payload @event.json", formatWindow(o.Window()))
		}
		return r
	}
	r.FloorMB = Floor(o, c.Headroom)
	base := o.Duration.Mean
	initMs := o.ColdFraction() * o.Init.Mean
	comp, model := c.compute(), c.model()
	for _, m := range candidates(comp, c.Sizes, o.MemoryMB) {
		d := model.Duration(base, o.MemoryMB, m, o.CPUShare, o.CPUShareKnown)
		billed := billedOn(comp, d) + initMs
		p95 := 0.0
		if base > 0 {
			p95 = o.Duration.P95 * d / base // the model scales the tail as the mean
		}
		r.Estimates = append(r.Estimates, Estimate{
			MemoryMB: m, DurationMs: d, BilledMs: billed, P95Ms: p95,
			CostPerInvocationUSD: cost(comp, c.Price, m, billed),
			BelowFloor:           m < r.FloorMB,
		})
	}
	r.slowdownGuard(c, o.CPUShareKnown)
	r.choose(c)
	n := o.Samples()
	switch {
	case o.CPUShareKnown && n >= HighSamples:
		r.Confidence = High
	case !o.CPUShareKnown && n < HighSamples:
		r.Confidence = Low
	default:
		r.Confidence = Medium
	}
	var why []string
	why = append(why, fmt.Sprintf("%d successful invocation%s at %d MB in %s", n, plural(n), o.MemoryMB, formatWindow(o.Window())))
	if n < HighSamples {
		why[0] += fmt.Sprintf(" (fewer than %d)", HighSamples)
	}
	if o.CPUShareKnown {
		why = append(why, fmt.Sprintf("CPU share %.0f%% measured", o.CPUShare*100))
	} else {
		why = append(why, "CPU share unknown, so smaller sizes are assumed fully CPU-bound and larger ones not faster; --probe --payload @event.json measures it")
	}
	if r.RecommendedMemoryMB < r.CurrentMemoryMB || r.FloorMB > MinMemoryMB {
		why = append(why, fmt.Sprintf("floor %d MB from Max Memory Used p99 %d MB + %.0f%%", r.FloorMB, o.MaxMemoryUsedP99MB, c.Headroom*100))
	}
	r.Reason = strings.Join(why, "; ")
	return r
}

// choose applies the strategy to the estimates at or above the floor and
// fills in the recommendation and the monthly figures.
func (r *Recommendation) choose(c Config) {
	var eligible []Estimate
	for _, e := range r.Estimates {
		if !e.BelowFloor && !e.TooSlow && e.Failed == 0 && (!e.Measured || e.Kept > 0) {
			eligible = append(eligible, e)
		}
	}
	for _, e := range r.Estimates {
		if e.MemoryMB == r.CurrentMemoryMB {
			r.Current = e
		}
	}
	if len(eligible) == 0 {
		r.Insufficient = true
		r.Confidence = Low
		r.Reason = fmt.Sprintf("no candidate size is at or above the floor of %d MB and ran without failures; add larger sizes with --sizes", r.FloorMB)
		return
	}
	r.Recommended = eligible[c.Strategy.Choose(eligible, c.Weight)]
	r.RecommendedMemoryMB = r.Recommended.MemoryMB
	if r.Current.MemoryMB == 0 {
		r.Current = r.Recommended // current size unknown to the probe
	}
	r.MonthlyCostCurrentUSD = r.Current.CostPerInvocationUSD * r.MonthlyInvocations
	r.MonthlyCostRecommendedUSD = r.Recommended.CostPerInvocationUSD * r.MonthlyInvocations
	r.MonthlySavingUSD = r.MonthlyCostCurrentUSD - r.MonthlyCostRecommendedUSD
	if r.CurrentMemoryMB < r.FloorMB && r.RecommendedMemoryMB > r.CurrentMemoryMB {
		r.Notes = append(r.Notes, fmt.Sprintf("the current %d MB is under the floor of %d MB: Max Memory Used p99 is %d MB, risking out-of-memory failures",
			r.CurrentMemoryMB, r.FloorMB, r.Observations.MaxMemoryUsedP99MB))
	}
}

// RecommendProbed picks a size from probe measurements. o supplies the
// current size and the observed rate (it may be empty: monthly figures are
// then zero and the reason says so).
func RecommendProbed(o Observations, probes []ProbeResult, currentMB int, c Config) Recommendation {
	if currentMB == 0 {
		currentMB = o.MemoryMB
	}
	r := Recommendation{
		Function: o.Function, Strategy: c.Strategy, Weight: c.Weight,
		CurrentMemoryMB: currentMB, RecommendedMemoryMB: currentMB,
		Observations: o, MonthlyInvocations: o.MonthlyInvocations(), Probed: true,
	}
	if c.PriceNote != "" {
		r.Notes = append(r.Notes, c.PriceNote)
	}
	// A size must fit what it used itself in the probe and what
	// production used (its Max Memory Used p99), each plus headroom.
	// Sizes are not judged by what other sizes used: a garbage-collected
	// runtime uses more memory when it has more.
	if o.MaxMemoryUsedMaxMB > 0 {
		r.FloorMB = Floor(o, c.Headroom)
	}
	minKept := math.MaxInt
	for _, p := range probes {
		own := NewDist(slices.Clone(p.MaxMemoryUsedMB))
		ownFloor := Floor(Observations{MaxMemoryUsedP99MB: int(own.P99), MaxMemoryUsedMaxMB: int(own.Max)}, c.Headroom)
		e := Estimate{MemoryMB: p.MemoryMB, Measured: true, Kept: p.Kept, Failed: p.Failed,
			BelowFloor: p.MemoryMB < r.FloorMB || (p.Kept > 0 && p.MemoryMB < ownFloor)}
		if p.Kept > 0 {
			e.DurationMs = p.Duration.Mean
			e.P95Ms = p.Duration.P95
			e.BilledMs = p.BilledMeanMs
			e.CostPerInvocationUSD = cost(c.compute(), c.Price, p.MemoryMB, p.BilledMeanMs)
			if p.Failed == 0 && !e.BelowFloor {
				minKept = min(minKept, p.Kept)
			}
		}
		if p.Failed > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d MB: %d of %d runs failed (%s): not a candidate", p.MemoryMB, p.Failed, p.Runs, p.FailureKinds()))
		}
		r.Estimates = append(r.Estimates, e)
	}
	slices.SortFunc(r.Estimates, func(a, b Estimate) int { return a.MemoryMB - b.MemoryMB })
	r.slowdownGuard(c, true)
	r.choose(c)
	if r.Insufficient {
		return r
	}
	if minKept >= ProbeHighKept {
		r.Confidence = High
		r.Reason = fmt.Sprintf("measured: at least %d warm runs per size after dropping cold starts and outliers", minKept)
	} else {
		r.Confidence = Medium
		r.Reason = fmt.Sprintf("measured, but only %d warm run%s at some size after dropping cold starts and outliers; raise --runs", minKept, plural(minKept))
	}
	if o.Invocations == 0 {
		r.Reason += "; no invocations observed in the window, so monthly figures are zero"
	}
	return r
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func joinMB(sizes []int) string {
	var s []string
	for _, m := range sizes {
		s = append(s, fmt.Sprintf("%d MB", m))
	}
	return strings.Join(s, ", ")
}

// formatWindow renders a window as the user would type it: 7d, 36h, 90m.
func formatWindow(d time.Duration) string {
	switch {
	case d <= 0:
		return "the window"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// slowdownGuard marks the sizes the user's time rules out: estimated p95
// more than MaxSlowdown above today's, unless the size saves at least
// MinSavingForSlowdown of the monthly cost. When the CPU share is unknown
// (no --probe), a smaller size's slowdown is a guess from a fully
// CPU-bound model, so no size estimated slower than today is
// recommended; a note says so. The trade-off of the cheapest size ruled
// out is noted (latency × cost).
func (r *Recommendation) slowdownGuard(c Config, cpuKnown bool) {
	var cur *Estimate
	for i := range r.Estimates {
		if r.Estimates[i].MemoryMB == r.CurrentMemoryMB {
			cur = &r.Estimates[i]
		}
	}
	if cur == nil || cur.P95Ms <= 0 || c.Strategy == Speed {
		return
	}
	minSave := c.MinSavingForSlowdown
	if minSave <= 0 {
		minSave = DefaultMinSavingForSlowdown
	}
	for i := range r.Estimates {
		e := &r.Estimates[i]
		if e.MemoryMB == r.CurrentMemoryMB || e.P95Ms <= 0 || e.BelowFloor {
			continue
		}
		slower := e.P95Ms/cur.P95Ms - 1
		saving := 0.0
		if cur.CostPerInvocationUSD > 0 {
			saving = 1 - e.CostPerInvocationUSD/cur.CostPerInvocationUSD
		}
		switch {
		case !cpuKnown && slower > 0.005:
			e.TooSlow = true
		case slower > MaxSlowdown && saving < minSave:
			e.TooSlow = true
		}
	}
	// Say so when the strategy would have picked a size ruled out.
	var all []Estimate
	for _, e := range r.Estimates {
		if !e.BelowFloor && e.Failed == 0 && (!e.Measured || e.Kept > 0) {
			all = append(all, e)
		}
	}
	if len(all) == 0 {
		return
	}
	var ruled *Estimate
	if p := all[c.Strategy.Choose(all, c.Weight)]; p.TooSlow {
		ruled = &p
	}
	if ruled == nil {
		return
	}
	monthly := (cur.CostPerInvocationUSD - ruled.CostPerInvocationUSD) * r.MonthlyInvocations
	tradeoff := fmt.Sprintf("%d MB would be p95 %s ms instead of %s ms (%+.0f%%) to save %.0f%% ($%.4f a month)",
		ruled.MemoryMB, fmtMs(ruled.P95Ms), fmtMs(cur.P95Ms), (ruled.P95Ms/cur.P95Ms-1)*100,
		(1-ruled.CostPerInvocationUSD/cur.CostPerInvocationUSD)*100, monthly)
	if !cpuKnown {
		r.Notes = append(r.Notes, "CPU share unknown (no --probe): sizes estimated slower than today are not recommended, keeping the current speed; "+tradeoff+"; --probe --payload @event.json measures it")
		return
	}
	r.Notes = append(r.Notes, fmt.Sprintf("not recommended: %s, under the %.0f%% saving a slowdown over %.0f%% needs (--min-saving-for-slowdown)", tradeoff, minSave*100, MaxSlowdown*100))
}

func fmtMs(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
