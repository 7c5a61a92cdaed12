package tune

import (
	"iter"
	"math"
	"slices"
	"time"

	"github.com/evcli/evcli/providers"
)

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value such that at least p% of the
// values are less than or equal to it, i.e. sorted[ceil(p/100*n)-1]. It
// returns 0 for an empty slice. sorted must be in ascending order.
//
// Nearest rank always returns an observed value (no interpolation), so a p99
// of a small sample is its maximum, which is the conservative reading for
// memory and latency.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return sorted[rank-1]
}

// Dist summarises a distribution of milliseconds.
type Dist struct {
	N    int
	Mean float64
	P50  float64
	P90  float64
	P95  float64
	P99  float64
	Max  float64
}

// NewDist computes a Dist of values (which it sorts in place).
func NewDist(values []float64) Dist {
	if len(values) == 0 {
		return Dist{}
	}
	slices.Sort(values)
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	return Dist{
		N:    len(values),
		Mean: sum / float64(len(values)),
		P50:  Percentile(values, 50),
		P90:  Percentile(values, 90),
		P95:  Percentile(values, 95),
		P99:  Percentile(values, 99),
		Max:  values[len(values)-1],
	}
}

// TukeyFences returns the bounds outside which a value is an outlier:
// Q1 - 1.5 IQR and Q3 + 1.5 IQR, with the quartiles by nearest rank (p25,
// p75). sorted must be ascending and non-empty.
func TukeyFences(sorted []float64) (lo, hi float64) {
	q1 := Percentile(sorted, 25)
	q3 := Percentile(sorted, 75)
	iqr := q3 - q1
	return q1 - 1.5*iqr, q3 + 1.5*iqr
}

// DropOutliers returns the values inside the Tukey fences, sorted, and how
// many were dropped. Fewer than 4 values are returned unchanged: quartiles of
// so few say nothing.
func DropOutliers(values []float64) ([]float64, int) {
	s := slices.Clone(values)
	slices.Sort(s)
	if len(s) < 4 {
		return s, 0
	}
	lo, hi := TukeyFences(s)
	kept := s[:0:0]
	for _, v := range s {
		if v >= lo && v <= hi {
			kept = append(kept, v)
		}
	}
	return kept, len(s) - len(kept)
}

// Observations summarise a function's invocations over a window.
type Observations struct {
	Function     string
	Since, Until time.Time

	// Invocations counts every invocation in the window, Errors those whose
	// outcome was not "ok" (errors, timeouts, out of memory), Throttles the
	// throttled requests (only when the provider reports totals).
	Invocations int64
	Errors      int64
	Throttles   int64
	// Sampled is true when the records are a sample of Invocations (e.g. a
	// Logs Insights query is limited to 10,000 rows) and the counts come
	// from the provider's totals.
	Sampled bool

	// MemoryMB is the configured memory: that of the most recent invocation.
	// The distributions below use only the invocations at that size.
	MemoryMB int
	// OtherSizes lists other memory sizes seen in the window (the function
	// was reconfigured); their invocations are not in the distributions.
	OtherSizes []int

	// Duration is over successful invocations at MemoryMB, cold ones
	// included (Duration never contains the init phase).
	Duration Dist
	// BilledMeanMs is the mean Billed Duration of those invocations.
	BilledMeanMs float64
	// ColdStarts counts invocations with an init phase; Init is the
	// distribution of their Init Duration.
	ColdStarts int
	Init       Dist
	// MaxMemoryUsedP99MB and MaxMemoryUsedMaxMB are over all invocations at
	// MemoryMB (failed ones too: an out-of-memory failure is the point).
	MaxMemoryUsedP99MB int
	MaxMemoryUsedMaxMB int
	// CPUShare is CPU time / duration over the successful invocations whose
	// CPU time is known, capped at 1; CPUShareKnown says whether any was.
	CPUShare      float64
	CPUShareKnown bool
	CPUSamples    int
}

// Samples is the number of successful invocations the estimates rest on.
func (o Observations) Samples() int { return o.Duration.N }

// Window is the length of the observed window.
func (o Observations) Window() time.Duration { return o.Until.Sub(o.Since) }

// MonthlyInvocations extrapolates the observed rate to a 30-day month.
func (o Observations) MonthlyInvocations() float64 {
	w := o.Window()
	if w <= 0 {
		return 0
	}
	return float64(o.Invocations) / w.Hours() * 24 * 30
}

// ColdFraction is the share of successful invocations that were cold.
func (o Observations) ColdFraction() float64 {
	if o.Duration.N == 0 {
		return 0
	}
	return float64(o.ColdStarts) / float64(o.Duration.N)
}

// obsRec is the part of an InvocationRecord that Summarize keeps: a third
// of the size, and no request-id strings kept alive, so a week of a busy
// function's records fits comfortably in memory.
type obsRec struct {
	t                      int64 // unix nanoseconds
	mem, used              int32
	dur, billed, init, cpu float64
	wait                   float64 // run-queue delay (local): contention, not work
	ok                     bool
}

func compact(r providers.InvocationRecord) obsRec {
	return obsRec{t: r.Time.UnixNano(), mem: int32(r.MemorySizeMB), used: int32(r.MaxMemoryUsedMB),
		dur: r.DurationMs, billed: float64(r.BilledDurationMs), init: r.InitDurationMs, cpu: r.CPUTimeMs, wait: r.CPUWaitMs,
		ok: r.Outcome == "" || r.Outcome == "ok"}
}

// Summarize reads the records of one function and summarises them.
func Summarize(function string, since, until time.Time, records iter.Seq2[providers.InvocationRecord, error]) (Observations, error) {
	var all []obsRec
	for r, err := range records {
		if err != nil {
			return Observations{}, err
		}
		all = append(all, compact(r))
	}
	return summarize(function, since, until, all), nil
}

// SummarizeRecords is Summarize over a slice.
func SummarizeRecords(function string, since, until time.Time, records []providers.InvocationRecord) Observations {
	all := make([]obsRec, len(records))
	for i, r := range records {
		all[i] = compact(r)
	}
	return summarize(function, since, until, all)
}

func summarize(function string, since, until time.Time, records []obsRec) Observations {
	o := Observations{Function: function, Since: since, Until: until}
	if len(records) == 0 {
		return o
	}
	latest := records[0]
	sizes := map[int32]bool{}
	for _, r := range records {
		if r.t > latest.t {
			latest = r
		}
		sizes[r.mem] = true
	}
	o.MemoryMB = int(latest.mem)
	for s := range sizes {
		if int(s) != o.MemoryMB {
			o.OtherSizes = append(o.OtherSizes, int(s))
		}
	}
	slices.Sort(o.OtherSizes)

	var durations, inits, mem []float64
	var billed, cpu, cpuDur float64
	for _, r := range records {
		o.Invocations++
		if !r.ok {
			o.Errors++
		}
		if int(r.mem) != o.MemoryMB {
			continue
		}
		mem = append(mem, float64(r.used))
		if !r.ok {
			continue
		}
		durations = append(durations, r.dur)
		billed += r.billed
		if r.init > 0 {
			o.ColdStarts++
			inits = append(inits, r.init)
		}
		if r.cpu > 0 && r.dur > 0 {
			o.CPUSamples++
			cpu += r.cpu
			// Time spent waiting for a CPU of this (shared) machine is
			// neither the handler's work nor its IO: leave it out, or a
			// CPU-bound handler on a busy machine would look IO-bound.
			cpuDur += max(r.dur-r.wait, r.cpu)
		}
	}
	o.Duration = NewDist(durations)
	if len(durations) > 0 {
		o.BilledMeanMs = billed / float64(len(durations))
	}
	o.Init = NewDist(inits)
	md := NewDist(mem)
	o.MaxMemoryUsedP99MB = int(md.P99)
	o.MaxMemoryUsedMaxMB = int(md.Max)
	if o.CPUSamples > 0 && cpuDur > 0 {
		o.CPUShareKnown = true
		o.CPUShare = math.Min(cpu/cpuDur, 1)
	}
	return o
}

// ApplyTotals replaces the counts with a provider's totals for the window
// when they exceed what the records hold (the records were a sample).
func (o *Observations) ApplyTotals(invocations, errors, throttles int64) {
	if invocations > o.Invocations {
		o.Sampled = true
		o.Invocations = invocations
		o.Errors = errors
	}
	o.Throttles = throttles
}
