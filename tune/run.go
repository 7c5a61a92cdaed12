package tune

import (
	"context"
	"fmt"
	"time"

	"github.com/evcli/evcli/providers"
)

// Function is one function to tune.
type Function struct {
	Name string
	// MemoryMB is the configured memory from the project file: used when
	// there are no invocations to tell the deployed size.
	MemoryMB  int
	Price     Price
	PriceNote string
}

// Options are the inputs of Run.
type Options struct {
	Functions    []Function
	Since, Until time.Time
	// Config holds the strategy, headroom, sizes and model; its Price and
	// PriceNote are taken from each Function.
	Config  Config
	Metrics providers.MetricsSource // nil: no observations (probe only)
	// Totals, when set, gives the window's true counts where Metrics'
	// records are a sample (AWS: Logs Insights returns at most 10,000 rows;
	// CloudWatch's Invocations, Errors and Throttles are exact).
	Totals providers.TotalsSource

	// Probe measures instead of estimating when Prober is set.
	Prober   providers.Prober
	Payload  []byte
	Runs     int
	Progress func(ProbeEvent)
}

// Run observes (and probes) each function and recommends a size for it.
func Run(ctx context.Context, o Options) ([]Recommendation, error) {
	var out []Recommendation
	for _, fn := range o.Functions {
		obs := Observations{Function: fn.Name, Since: o.Since, Until: o.Until}
		var totalsNote string
		if o.Metrics != nil {
			var err error
			obs, err = Summarize(fn.Name, o.Since, o.Until, o.Metrics.Invocations(ctx, fn.Name, o.Since, o.Until))
			if err != nil {
				return out, fmt.Errorf("read the metrics of %s: %w", fn.Name, err)
			}
			if o.Totals != nil {
				inv, errs, thr, err := o.Totals.InvocationTotals(ctx, fn.Name, o.Since, o.Until)
				switch {
				case ctx.Err() != nil:
					return out, ctx.Err()
				case err != nil:
					// The records still hold what a recommendation needs:
					// go on with their counts, and say so.
					totalsNote = fmt.Sprintf("invocation totals unavailable (%v): counts are those of the %d invocation records read", err, obs.Invocations)
				default:
					obs.ApplyTotals(inv, errs, thr)
				}
			}
		}
		if obs.MemoryMB == 0 {
			obs.MemoryMB = fn.MemoryMB
		}
		cfg := o.Config
		cfg.Price, cfg.PriceNote = fn.Price, fn.PriceNote
		if o.Prober == nil {
			r := Recommend(obs, cfg)
			if totalsNote != "" {
				r.Notes = append(r.Notes, totalsNote)
			}
			out = append(out, r)
			continue
		}
		// Sizes under the floor that production already shows would only
		// run out of memory: they are not probed.
		var sizes, skipped []int
		floor := 0
		if obs.MaxMemoryUsedMaxMB > 0 {
			floor = Floor(obs, cfg.Headroom)
		}
		for _, m := range ProbeSizesOn(cfg.compute(), cfg.Sizes, obs.MemoryMB) {
			if m < floor && m != obs.MemoryMB {
				skipped = append(skipped, m)
				continue
			}
			sizes = append(sizes, m)
		}
		results, err := Probe(ctx, o.Prober, fn.Name, sizes, o.Payload, o.Runs, o.Progress)
		if err != nil {
			return out, err
		}
		r := RecommendProbed(obs, results, obs.MemoryMB, cfg)
		if totalsNote != "" {
			r.Notes = append(r.Notes, totalsNote)
		}
		if len(skipped) > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("not probed: %s, under the floor of %d MB from the observed Max Memory Used", joinMB(skipped), floor))
		}
		out = append(out, r)
	}
	return out, nil
}
