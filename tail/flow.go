package tail

import (
	"slices"
	"time"
)

// Defaults of the flow model's bounds.
const (
	DefaultMaxFlows        = 500
	DefaultMaxLinesPerFlow = 2000
	// DefaultMaxRecords caps the lines kept across all flows; past it the
	// oldest flows are evicted whole.
	DefaultMaxRecords = 100_000
)

// NoCorrelation is the key of the flow that gathers lines with neither a
// correlation ID nor a request id.
const NoCorrelation = "(none)"

// Flow is one business flow: the lines that share a correlation ID (or, while
// none is known, a request id).
type Flow struct {
	// ID is the correlation ID, or the request id when ByRequest.
	ID        string
	ByRequest bool
	FirstSeen time.Time
	LastSeen  time.Time
	// Functions touched, in the order of their first line.
	Functions []string
	Lines     int // all lines, including those evicted from Records
	Errors    int
	// DurationMs sums the Duration of the flow's REPORT lines.
	DurationMs float64
	// BilledMs sums their Billed Duration (their Duration when a report
	// has no billed figure): the compute the flow was charged for, which
	// WallMs, its end-to-end time, usually far exceeds.
	BilledMs float64
	// Records are the flow's latest lines, at most the model's cap.
	Records []Record
	// Dropped counts the lines evicted from Records.
	Dropped int
}

// Flows groups records into flows, keeping at most Max flows (the flow
// first seen longest ago is evicted) and at most MaxLines records per flow.
type Flows struct {
	Max, MaxLines int
	// MaxRecords caps the lines kept across all flows (default
	// DefaultMaxRecords).
	MaxRecords int
	kept       int
	byID       map[string]*Flow
	order      []*Flow // by first seen (arrival order)
	Evicted    int
	Total      int
}

// NewFlows returns an empty model with the given caps (0: the defaults).
func NewFlows(max, maxLines int) *Flows {
	if max <= 0 {
		max = DefaultMaxFlows
	}
	if maxLines <= 0 {
		maxLines = DefaultMaxLinesPerFlow
	}
	return &Flows{Max: max, MaxLines: maxLines, MaxRecords: DefaultMaxRecords, byID: map[string]*Flow{}}
}

// Key returns the flow key of a record.
func Key(r *Record) (id string, byRequest bool) {
	switch {
	case r.CorrelationID != "":
		return r.CorrelationID, false
	case r.RequestID != "":
		return r.RequestID, true
	}
	return NoCorrelation, false
}

// ByRequestKey reports whether r belongs to a flow keyed by its request id
// (it has a request id but no correlation ID).
func (r *Record) ByRequestKey() bool { return r.CorrelationID == "" && r.RequestID != "" }

// Add puts r in its flow and returns the flow.
func (fs *Flows) Add(r Record) *Flow {
	fs.Total++
	id, byReq := Key(&r)
	k := id
	if byReq {
		k = "\x00" + id
	}
	f := fs.byID[k]
	if f == nil {
		if len(fs.order) >= fs.Max {
			fs.evictOldest()
		}
		f = &Flow{ID: id, ByRequest: byReq, FirstSeen: r.Time}
		fs.byID[k] = f
		fs.order = append(fs.order, f)
		if cap(fs.order) > 4*fs.Max { // let the evicted prefix be collected
			fs.order = append(make([]*Flow, 0, 2*fs.Max), fs.order...)
		}
	}
	if !byReq && r.RequestID != "" {
		// Lines of this request that came before its correlation ID was
		// known (outside the reorder window) join the flow now.
		if rf := fs.byID["\x00"+r.RequestID]; rf != nil {
			fs.absorb(f, rf)
		}
	}
	if r.Time.Before(f.FirstSeen) {
		f.FirstSeen = r.Time
	}
	if r.Time.After(f.LastSeen) {
		f.LastSeen = r.Time
	}
	if r.Function != "" {
		seen := false
		for _, fn := range f.Functions {
			if fn == r.Function {
				seen = true
				break
			}
		}
		if !seen {
			f.Functions = append(f.Functions, r.Function)
		}
	}
	f.Lines++
	if r.IsError() {
		f.Errors++
	}
	if r.Report != nil {
		f.DurationMs += r.Report.DurationMs
		f.BilledMs += billed(r.Report)
	}
	if len(f.Records) >= fs.MaxLines {
		copy(f.Records, f.Records[1:])
		f.Records[len(f.Records)-1] = Record{}
		f.Records = f.Records[:len(f.Records)-1]
		f.Dropped++
		fs.kept--
	}
	f.Records = append(f.Records, r)
	fs.kept++
	for fs.kept > fs.MaxRecords && len(fs.order) > 1 && fs.order[0] != f {
		fs.evictOldest()
	}
	return f
}

// Kept returns the number of lines kept across all flows.
func (fs *Flows) Kept() int { return fs.kept }

func (fs *Flows) evictOldest() {
	old := fs.order[0]
	fs.order[0] = nil
	fs.order = fs.order[1:]
	k := old.ID
	if old.ByRequest {
		k = "\x00" + k
	}
	delete(fs.byID, k)
	fs.kept -= len(old.Records)
	fs.Evicted++
}

// Len returns the number of flows kept.
func (fs *Flows) Len() int { return len(fs.order) }

// List returns the flows in the order they were first seen.
func (fs *Flows) List() []*Flow { return fs.order }

// Get returns the flow with correlation (or request) id, or nil.
func (fs *Flows) Get(id string) *Flow {
	if f := fs.byID[id]; f != nil {
		return f
	}
	return fs.byID["\x00"+id]
}

// absorb moves request flow rf into f.
func (fs *Flows) absorb(f, rf *Flow) {
	delete(fs.byID, "\x00"+rf.ID)
	fs.kept -= len(rf.Records) // counted again below, as f's
	for i, x := range fs.order {
		if x == rf {
			fs.order = append(fs.order[:i], fs.order[i+1:]...)
			break
		}
	}
	if rf.FirstSeen.Before(f.FirstSeen) {
		f.FirstSeen = rf.FirstSeen
	}
	if rf.LastSeen.After(f.LastSeen) {
		f.LastSeen = rf.LastSeen
	}
	fns := append([]string(nil), rf.Functions...)
	for _, fn := range f.Functions {
		if !slices.Contains(fns, fn) {
			fns = append(fns, fn)
		}
	}
	f.Functions = fns
	f.Lines += rf.Lines
	f.Errors += rf.Errors
	f.DurationMs += rf.DurationMs
	f.BilledMs += rf.BilledMs
	f.Dropped += rf.Dropped
	recs := make([]Record, 0, len(f.Records)+len(rf.Records))
	for _, r := range rf.Records {
		r.CorrelationID = f.ID
		recs = append(recs, r)
	}
	recs = append(recs, f.Records...)
	slices.SortStableFunc(recs, func(a, b Record) int { return a.Time.Compare(b.Time) })
	if over := len(recs) - fs.MaxLines; over > 0 {
		recs = recs[over:]
		f.Dropped += over
	}
	fs.kept += len(recs) - len(f.Records)
	f.Records = recs
}

func billed(r *Report) float64 {
	if r.BilledDurationMs > 0 {
		return r.BilledDurationMs
	}
	return r.DurationMs
}

// WallMs is the flow's wall-clock time in milliseconds: from its first
// line to its last, what a user waits for end to end.
func (f *Flow) WallMs() float64 { return wallMs(f.FirstSeen, f.LastSeen) }
