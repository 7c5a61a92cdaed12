package replay

import (
	"context"
	"slices"
	"strings"

	"github.com/evcli/evcli/providers"
)

// Plan is what a replay would do (--dry-run): nothing is published and no
// checkpoint is written.
type Plan struct {
	Name     string `json:"name"`
	Bus      string `json:"bus"`
	Selected int64  `json:"selected"`
	// Skipped: already resolved by earlier runs (with Resume).
	Skipped int64 `json:"skipped"`
	// Publish: entries that would be sent, in Batches PutEvents calls of
	// Bytes entry bytes in all; Unsendable cannot be (too large, or a
	// detail that is not a JSON object).
	Publish     int64       `json:"publish"`
	Batches     int64       `json:"batches"`
	Bytes       int64       `json:"bytes"`
	Unsendable  []Failure   `json:"unsendable,omitempty"`
	ByType      []NameCount `json:"byType"`
	ByAggregate []NameCount `json:"byAggregate"`
	// OtherAggregates counts the events of aggregates beyond the first
	// MaxPlanAggregates, which are not listed one by one.
	OtherAggregates int64 `json:"otherAggregates,omitempty"`
	// ByTarget counts, per rule or function, the events it would receive.
	ByTarget []NameCount       `json:"byTarget"`
	Sample   []providers.Event `json:"sample"`
	Gaps     []Gap             `json:"gaps,omitempty"`
	GapCount int64             `json:"gapCount"`
}

// NameCount is a count of events per name.
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Limits of a Plan's listings, to keep its memory bounded.
const (
	MaxPlanAggregates = 10_000
	PlanSampleSize    = 5
	maxPlanGaps       = 100
)

// DryRun computes the Plan of cfg without publishing. cps may be nil; with
// cfg.Resume it must hold the replay's record.
func DryRun(ctx context.Context, cfg Config, store providers.EventStore, cps Checkpoints) (Plan, error) {
	var gaps []Gap
	var gapCount int64
	userGap := cfg.OnGap
	cfg.OnGap = func(g Gap) {
		gapCount++
		if len(gaps) < maxPlanGaps {
			gaps = append(gaps, g)
		}
		if userGap != nil {
			userGap(g)
		}
	}
	r := newRunner(cfg)
	cfg = r.cfg
	var skip *Record
	if cfg.Resume {
		if cps == nil {
			return Plan{}, &InputError{Field: "--resume", Msg: "no checkpoints to resume from"}
		}
		rec, ok, err := cps.Get(ctx, cfg.Name)
		if err != nil {
			return Plan{}, err
		}
		if !ok {
			return Plan{}, &InputError{Field: "--resume", Msg: "no replay named \"" + cfg.Name + "\"; see evcli replay list"}
		}
		r.cfg.Selection = rec.Selection
		r.replayID = replayIDFunc(rec.IDScheme, rec.Selection.Order)
		skip = &rec
	}
	plan := Plan{Name: cfg.Name, Bus: cfg.Bus}
	types := map[string]int64{}
	aggs := map[string]int64{}
	targets := map[string]int64{}
	err := r.produce(ctx, store, skip, func(b *batch) error {
		plan.Batches++
		plan.Bytes += int64(b.bytes)
		plan.Publish += int64(len(b.events))
		plan.Unsendable = append(plan.Unsendable, b.failed...)
		for i := range b.events {
			ev := &b.events[i]
			types[ev.DetailType]++
			agg := b.evAggs[i]
			if _, ok := aggs[agg]; ok || len(aggs) < MaxPlanAggregates {
				aggs[agg]++
			} else {
				plan.OtherAggregates++
			}
			if cfg.Targets != nil {
				for _, t := range cfg.Targets(*ev) {
					targets[t]++
				}
			}
			if len(plan.Sample) < PlanSampleSize {
				plan.Sample = append(plan.Sample, *ev)
			}
		}
		return nil
	})
	r.mu.Lock()
	p := r.prog
	r.mu.Unlock()
	plan.Selected, plan.Skipped = max(p.Total, 0), p.Skipped
	plan.ByType = sortedCounts(types)
	plan.ByAggregate = sortedCounts(aggs)
	plan.ByTarget = sortedCounts(targets)
	plan.Gaps, plan.GapCount = gaps, gapCount
	return plan, err
}

func sortedCounts(m map[string]int64) []NameCount {
	out := make([]NameCount, 0, len(m))
	for k, v := range m {
		out = append(out, NameCount{Name: k, Count: v})
	}
	slices.SortFunc(out, func(a, b NameCount) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}
