// Package stored matches the events of an event store against a rule set:
// the domain side of `evcli filter test --since`. It counts the events and
// the matches per detail-type and per rule and keeps the first few matching
// events of each detail-type as samples.
//
// When the store has the providers.EnvelopeReader ability (the local store
// does), the stored envelope bytes are matched as they are, nothing decoded,
// on several readers at once (one per core, as many as the store allows),
// each matching the pages it reads; otherwise the events come from
// EventStore.Events, one reader, and an event whose store kept no envelope
// is encoded with providers.MarshalEnvelope first. The result does not depend
// on the path or the number of readers: samples are the first matching
// events in store order.
//
// Errors are the store's, or an event the matcher cannot read (invalid JSON),
// named by its id.
package stored

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
)

// Options tune Match.
type Options struct {
	// Samples is how many matching events of each detail-type to keep.
	Samples int
	// Readers is how many pages are read and matched at once; 0 means one
	// per core (GOMAXPROCS). Stores without EnvelopeReader use one.
	Readers int
}

// Sample names one matching event.
type Sample struct {
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Source string    `json:"source"`
}

// TypeStats counts the events of one detail-type.
type TypeStats struct {
	DetailType string   `json:"detailType"`
	Events     int64    `json:"events"`
	Matched    int64    `json:"matched"` // events that matched at least one rule
	Samples    []Sample `json:"samples"` // the first matching ones, in store order
}

// Result is what Match found.
type Result struct {
	Events, Matched int64
	// Rules counts the events each rule id matched (ids that matched none
	// are absent).
	Rules map[string]int64
	// Types is sorted by detail-type.
	Types []TypeStats
}

// Match reads the events q selects from src and matches each against rs.
func Match(ctx context.Context, src providers.EventStore, q providers.EventQuery, rs *filter.RuleSet, o Options) (*Result, error) {
	acc := &accumulator{samples: o.Samples, types: map[string]*typeAcc{}, rules: map[string]int64{}}
	if er, ok := src.(providers.EnvelopeReader); ok && len(q.AggregateIDs) == 0 && q.AfterSeq == 0 && q.Limit == 0 && !q.ExcludeReplays {
		readers := o.Readers
		if readers <= 0 {
			readers = runtime.GOMAXPROCS(0)
		}
		if err := er.EachEnvelopes(ctx, q, readers, func(p providers.EnvelopePage) error {
			return acc.page(rs, p)
		}); err != nil {
			return nil, err
		}
	} else if err := pagesOf(ctx, src, q, func(p providers.EnvelopePage) error { return acc.page(rs, p) }); err != nil {
		return nil, err
	}
	return acc.result()
}

// pageSize is how many events pagesOf gathers into one page.
const pageSize = 1024

// pagesOf reads src.Events into pages, numbering the events in store order
// where the store has no seq.
func pagesOf(ctx context.Context, src providers.EventStore, q providers.EventQuery, fn func(providers.EnvelopePage) error) error {
	var p providers.EnvelopePage
	var n int64
	for ev, err := range src.Events(ctx, q) {
		if err != nil {
			return err
		}
		n++
		b := []byte(ev.Envelope) // the stored bytes, when the store keeps them
		if b == nil {
			if b, err = providers.MarshalEnvelope(&ev.Event); err != nil {
				return fmt.Errorf("stored event %s: %w", ev.ID, err)
			}
		}
		if len(p.Envelopes) == 0 {
			p.FirstSeq = n
		}
		p.DetailTypes, p.Envelopes = append(p.DetailTypes, ev.DetailType), append(p.Envelopes, b)
		if len(p.Envelopes) == pageSize {
			if err := fn(p); err != nil {
				return err
			}
			p = providers.EnvelopePage{}
		}
	}
	if len(p.Envelopes) > 0 {
		return fn(p)
	}
	return nil
}

type accumulator struct {
	samples int
	mu      sync.Mutex
	events  int64
	matched int64
	types   map[string]*typeAcc
	rules   map[string]int64
}

type typeAcc struct {
	events, matched int64
	cands           []candidate // the first matching envelopes seen, by position
}

// candidate is a matching envelope that may become a sample: seq (its
// page's first) and i (its index in the page) order candidates in store order.
type candidate struct {
	seq int64
	i   int
	env []byte
}

type pageCounts struct {
	events, matched int64
	cands           []candidate
}

// page matches one page and adds its counts; it runs on the store's reader
// goroutines, the merge under the accumulator's lock.
func (a *accumulator) page(rs *filter.RuleSet, p providers.EnvelopePage) error {
	counts := map[string]*pageCounts{}
	rules := map[string]int64{}
	var matched int64
	dst := make([]string, 0, 8)
	var last string
	var c *pageCounts
	for i, env := range p.Envelopes {
		t := p.DetailTypes[i]
		if c == nil || t != last {
			if c = counts[t]; c == nil {
				c = &pageCounts{}
				counts[t] = c
			}
			last = t
		}
		c.events++
		var err error
		if dst, err = rs.AppendMatches(dst[:0], env); err != nil {
			return fmt.Errorf("stored event %s: %w", envelopeID(env), err)
		}
		if len(dst) == 0 {
			continue
		}
		c.matched++
		matched++
		for _, id := range dst {
			rules[id]++
		}
		if len(c.cands) < a.samples {
			// A copy: the page's bytes may be the store's, valid
			// only during this call (providers.EnvelopePage).
			c.cands = append(c.cands, candidate{p.FirstSeq, i, bytes.Clone(env)})
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events += int64(len(p.Envelopes))
	a.matched += matched
	for id, n := range rules {
		a.rules[id] += n
	}
	for t, c := range counts {
		ta := a.types[t]
		if ta == nil {
			ta = &typeAcc{}
			a.types[t] = ta
		}
		ta.events += c.events
		ta.matched += c.matched
		if len(c.cands) > 0 {
			ta.cands = append(ta.cands, c.cands...)
			slices.SortFunc(ta.cands, func(x, y candidate) int {
				return cmp.Or(cmp.Compare(x.seq, y.seq), cmp.Compare(x.i, y.i))
			})
			ta.cands = ta.cands[:min(len(ta.cands), a.samples)]
		}
	}
	return nil
}

func (a *accumulator) result() (*Result, error) {
	r := &Result{Events: a.events, Matched: a.matched, Rules: a.rules}
	for t, ta := range a.types {
		ts := TypeStats{DetailType: t, Events: ta.events, Matched: ta.matched, Samples: []Sample{}}
		for _, c := range ta.cands {
			var s Sample
			if err := json.Unmarshal(c.env, &s); err != nil {
				return nil, fmt.Errorf("stored event %s: %w", envelopeID(c.env), err)
			}
			s.Time = s.Time.UTC()
			ts.Samples = append(ts.Samples, s)
		}
		r.Types = append(r.Types, ts)
	}
	slices.SortFunc(r.Types, func(x, y TypeStats) int { return cmp.Compare(x.DetailType, y.DetailType) })
	return r, nil
}

// envelopeID is the id of an envelope, for error messages, read without
// decoding (the envelope may be invalid JSON); "?" when it has none.
func envelopeID(env []byte) string {
	const key = `"id":"`
	i := bytes.Index(env, []byte(key))
	if i < 0 {
		return "?"
	}
	id := env[i+len(key):]
	if j := bytes.IndexByte(id, '"'); j >= 0 {
		return string(id[:j])
	}
	return "?"
}
