package replay

import (
	"context"
	"fmt"
	"slices"

	"github.com/evcli/evcli/providers"
)

// Gap is a hole (or a repeated version) in an aggregate's versions among
// the selected events.
type Gap struct {
	Aggregate string `json:"aggregateId"`
	After     int64  `json:"after"` // the last version seen
	Next      int64  `json:"next"`  // the version that followed it
	// Kind is "gap" (versions After+1..Next-1 are missing) or "duplicate"
	// (Next == After: two events carry the same version).
	Kind string `json:"kind"`
}

func (g Gap) String() string {
	if g.Kind == "duplicate" {
		return fmt.Sprintf("aggregate %s: version %d appears more than once", g.Aggregate, g.Next)
	}
	if g.Next == g.After+2 {
		return fmt.Sprintf("aggregate %s: version %d is missing (between %d and %d)", g.Aggregate, g.After+1, g.After, g.Next)
	}
	return fmt.Sprintf("aggregate %s: versions %d..%d are missing (between %d and %d)", g.Aggregate, g.After+1, g.Next-1, g.After, g.Next)
}

// maxTrackedAggregates bounds the memory of gap detection in time order,
// where an aggregate's events are interleaved with others'.
const maxTrackedAggregates = 200_000

type gapDetector struct {
	order   Order
	lastAgg string
	lastVer int64
	seen    map[string]int64
}

func (g *gapDetector) see(ev *providers.StoredEvent) (Gap, bool) {
	if ev.AggregateID == "" || ev.AggregateVersion == 0 {
		return Gap{}, false
	}
	var last int64
	var ok bool
	if g.order == OrderTime {
		if g.seen == nil {
			g.seen = map[string]int64{}
		}
		last, ok = g.seen[ev.AggregateID]
		if ok || len(g.seen) < maxTrackedAggregates {
			g.seen[ev.AggregateID] = max(last, ev.AggregateVersion)
		}
	} else {
		last, ok = g.lastVer, g.lastAgg == ev.AggregateID
		g.lastAgg, g.lastVer = ev.AggregateID, ev.AggregateVersion
	}
	switch {
	case !ok:
		return Gap{}, false
	case ev.AggregateVersion == last:
		return Gap{Aggregate: ev.AggregateID, After: last, Next: ev.AggregateVersion, Kind: "duplicate"}, true
	case ev.AggregateVersion > last+1:
		return Gap{Aggregate: ev.AggregateID, After: last, Next: ev.AggregateVersion, Kind: "gap"}, true
	}
	return Gap{}, false
}

// selector decides whether a stored event is selected.
type selector struct {
	sel   Selection
	aggs  map[string]bool
	types map[string]bool
	match func([]byte) (bool, error)
}

func newSelector(sel Selection, match func([]byte) (bool, error)) *selector {
	s := &selector{sel: sel, match: match}
	if len(sel.Aggregates) > 0 {
		s.aggs = map[string]bool{}
		for _, a := range sel.Aggregates {
			s.aggs[a] = true
		}
	}
	if len(sel.Types) > 0 {
		s.types = map[string]bool{}
		for _, t := range sel.Types {
			s.types[t] = true
		}
	}
	return s
}

// query is the store query for the selection: the store narrows by window,
// aggregate, type and replays; the selector checks again (a store may
// over-select).
func (s *selector) query() providers.EventQuery {
	return providers.EventQuery{
		Since:          s.sel.Since,
		Until:          s.sel.Until,
		AggregateIDs:   slices.Clone(s.sel.Aggregates),
		Types:          slices.Clone(s.sel.Types),
		ExcludeReplays: !s.sel.IncludeReplays,
	}
}

func (s *selector) selects(ev *providers.StoredEvent) (bool, error) {
	if !s.sel.Since.IsZero() && ev.Time.Before(s.sel.Since) {
		return false, nil
	}
	if !s.sel.Until.IsZero() && !ev.Time.Before(s.sel.Until) {
		return false, nil
	}
	if s.aggs != nil && !s.aggs[ev.AggregateID] {
		return false, nil
	}
	if s.types != nil && !s.types[ev.DetailType] {
		return false, nil
	}
	if !s.sel.IncludeReplays && IsReplay(ev.Detail) {
		return false, nil
	}
	if s.match != nil {
		b, err := providers.MarshalEnvelope(&ev.Event)
		if err != nil {
			return false, fmt.Errorf("event %s: %w", ev.ID, err)
		}
		ok, err := s.match(b)
		if err != nil {
			return false, fmt.Errorf("--pattern on event %s: %w", ev.ID, err)
		}
		return ok, nil
	}
	return true, nil
}

// IsReplay reports whether detail carries a replay marker (a top-level
// _replay member).
func IsReplay(detail []byte) bool { return providers.IsReplayDetail(detail) }

// ordered reads the selection from store and yields it in replay order,
// reporting progress while reading and gaps while yielding. total is set
// before the first event is yielded.
func (r *runner) ordered(ctx context.Context, store providers.EventStore, yield func(ev *providers.StoredEvent) error) error {
	sel := newSelector(r.cfg.Selection, r.cfg.Match)
	s := newSorter(r.cfg.Selection.Order, r.cfg.SpillDir, r.cfg.SpillThreshold)
	defer s.Close()
	var read int64
	for ev, err := range store.Events(ctx, sel.query()) {
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		read++
		ok, err := sel.selects(&ev)
		if err != nil {
			return err
		}
		if ok {
			if err := s.Add(ev); err != nil {
				return err
			}
		}
		if read%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.progress(func(p *Progress) { p.Read, p.Selected = read, s.Len() })
		}
	}
	total := s.Len()
	if l := int64(r.cfg.Selection.Limit); l > 0 && total > l {
		total = l
	}
	r.progress(func(p *Progress) { p.Phase, p.Read, p.Selected, p.Total = PhasePublishing, read, s.Len(), total })
	gd := &gapDetector{order: r.cfg.Selection.Order}
	var n int64
	for ev, err := range s.Sorted() {
		if err != nil {
			return err
		}
		if n == total {
			break
		}
		n++
		if g, ok := gd.see(&ev); ok {
			r.gap(g)
		}
		if err := yield(&ev); err != nil {
			return err
		}
	}
	return nil
}
