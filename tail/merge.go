package tail

import (
	"container/heap"
	"math"
	"time"
)

// Defaults of MergerOptions.
const (
	DefaultReorderWindow = 500 * time.Millisecond
	DefaultMaxBuffered   = 50_000
	DefaultMaxRequests   = 100_000
)

// MergerOptions configure a Merger.
type MergerOptions struct {
	// Window is how long a record is held back so that later-arriving,
	// earlier-timed records from other sources can be put before it, and so
	// that a correlation ID seen later on the same request can be given to
	// it. Default DefaultReorderWindow; negative means no hold.
	Window time.Duration
	// MaxBuffered caps the records held; past it the oldest is released at
	// once. Default DefaultMaxBuffered.
	MaxBuffered int
	// MaxRequests caps the request id -> correlation id table; the oldest
	// request is forgotten first. Default DefaultMaxRequests.
	MaxRequests int
}

// Merger orders records from many sources by time within a reorder window
// and propagates correlation IDs along request ids. Its memory is bounded by
// MaxBuffered records and MaxRequests request ids. Not safe for concurrent
// use: one goroutine pushes and pops.
type Merger struct {
	opt  MergerOptions
	h    recHeap
	seq  uint64
	maxT time.Time // latest record time seen
	reqs *boundedMap
}

// NewMerger returns a Merger.
func NewMerger(opt MergerOptions) *Merger {
	if opt.Window == 0 {
		opt.Window = DefaultReorderWindow
	}
	if opt.Window < 0 {
		opt.Window = 0
	}
	if opt.MaxBuffered <= 0 {
		opt.MaxBuffered = DefaultMaxBuffered
	}
	if opt.MaxRequests <= 0 {
		opt.MaxRequests = DefaultMaxRequests
	}
	return &Merger{opt: opt, reqs: newBoundedMap(opt.MaxRequests)}
}

type held struct {
	rec     Record
	key     int64 // rec.Time in Unix nanoseconds: cheap comparisons
	arrived time.Time
	seq     uint64
}

type recHeap []*held

func (h recHeap) Len() int { return len(h) }
func (h recHeap) Less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].seq < h[j].seq
}
func (h recHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *recHeap) Push(x any)   { *h = append(*h, x.(*held)) }
func (h *recHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return x
}

// Len returns the number of records held.
func (m *Merger) Len() int { return len(m.h) }

// Requests returns the number of request ids remembered.
func (m *Merger) Requests() int { return m.reqs.Len() }

// Push adds a record that arrived at now, and appends to out the records
// that are ready (see Pop).
func (m *Merger) Push(r Record, now time.Time, out []Record) []Record {
	if r.Time.IsZero() {
		r.Time = now // a line that says no time is placed at its arrival
	}
	if r.RequestID != "" {
		if r.CorrelationID != "" {
			m.reqs.Put(r.RequestID, r.CorrelationID)
		}
	}
	// The watermark never passes the clock: a line from a skewed or bogus
	// clock must not release everything else early (it still leaves by its
	// arrival, after the window).
	if t := minTime(r.Time, now); t.After(m.maxT) {
		m.maxT = t
	}
	m.seq++
	heap.Push(&m.h, &held{rec: r, key: timeKey(r.Time), arrived: now, seq: m.seq})
	for len(m.h) > m.opt.MaxBuffered {
		out = append(out, m.release())
	}
	return m.Pop(now, out)
}

// Pop appends to out, in time order, the records that are ready at now: those
// older than the newest record seen minus the window, and those that have
// waited the window since they arrived.
func (m *Merger) Pop(now time.Time, out []Record) []Record {
	wm := timeKey(m.maxT.Add(-m.opt.Window))
	for len(m.h) > 0 {
		top := m.h[0]
		if top.key > wm && now.Sub(top.arrived) < m.opt.Window {
			break
		}
		out = append(out, m.release())
	}
	return out
}

// Flush appends every held record to out, in time order.
func (m *Merger) Flush(out []Record) []Record {
	for len(m.h) > 0 {
		out = append(out, m.release())
	}
	return out
}

// Next returns how long until the oldest held record is due by its arrival,
// or -1 when none is held.
func (m *Merger) Next(now time.Time) time.Duration {
	if len(m.h) == 0 {
		return -1
	}
	d := m.h[0].arrived.Add(m.opt.Window).Sub(now)
	if d < 0 {
		d = 0
	}
	return d
}

func (m *Merger) release() Record {
	h := heap.Pop(&m.h).(*held)
	r := h.rec
	if r.CorrelationID == "" && r.RequestID != "" {
		r.CorrelationID, _ = m.reqs.Get(r.RequestID)
	}
	return r
}

// boundedMap is a string map that forgets its oldest key past max entries.
type boundedMap struct {
	max   int
	m     map[string]string
	ring  []string
	start int
}

func newBoundedMap(max int) *boundedMap {
	return &boundedMap{max: max, m: make(map[string]string)}
}

func (b *boundedMap) Len() int { return len(b.m) }

func (b *boundedMap) Get(k string) (string, bool) {
	v, ok := b.m[k]
	return v, ok
}

// Put sets k; a key already present keeps its first value and its place.
func (b *boundedMap) Put(k, v string) {
	if _, ok := b.m[k]; ok {
		return
	}
	if len(b.m) >= b.max {
		old := b.ring[b.start]
		delete(b.m, old)
		b.ring[b.start] = k
		b.start = (b.start + 1) % b.max
	} else {
		b.ring = append(b.ring, k)
	}
	b.m[k] = v
}

// Bounds of the times UnixNano represents.
var (
	minKeyTime = time.Unix(0, math.MinInt64)
	maxKeyTime = time.Unix(0, math.MaxInt64)
)

// timeKey is t in Unix nanoseconds, clamped to what an int64 holds.
func timeKey(t time.Time) int64 {
	switch {
	case t.Before(minKeyTime):
		return math.MinInt64
	case t.After(maxKeyTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
