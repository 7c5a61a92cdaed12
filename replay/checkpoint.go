package replay

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"
)

// Checkpoints stores replay records by name. The local provider keeps them
// in its SQLite store; tests use MemCheckpoints.
type Checkpoints interface {
	// Get returns the record of replay name; ok is false when there is none.
	Get(ctx context.Context, name string) (rec Record, ok bool, err error)
	// Put stores rec under rec.Name, replacing the previous one. It must be
	// durable when it returns: a replay publishes its next batch only after.
	Put(ctx context.Context, rec Record) error
	// List returns every record (any order).
	List(ctx context.Context) ([]Record, error)
}

// States of a replay.
const (
	StateRunning     = "running"     // in progress, or killed (kill -9, power loss)
	StateInterrupted = "interrupted" // cancelled (Ctrl-C); resumable
	StateFailed      = "failed"      // stopped by an error; resumable
	StateCompleted   = "completed"
)

// Counts are a replay's counters.
type Counts struct {
	// Selected: events the selection chose (this run: including those
	// skipped as already done).
	Selected int64 `json:"selected"`
	// Published: entries the bus acknowledged.
	Published int64 `json:"published"`
	// Failed: entries that failed for good (non-retryable error, retries
	// exhausted, or too large for a PutEvents request).
	Failed int64 `json:"failed"`
	// Skipped: events an earlier run of the same replay had already
	// published or failed (a resume).
	Skipped int64 `json:"skipped"`
}

// Failure is one entry that failed for good.
type Failure struct {
	OriginalID string `json:"originalId"`
	Code       string `json:"code"`
	Message    string `json:"message,omitempty"`
}

// maxFailures is how many failures a record keeps (the count is exact).
const maxFailures = 100

// Record is what a replay stores after every acknowledged batch.
//
// Every selected event whose key is at or below Watermark, or inside one of
// the Acked ranges, has been resolved (published, or failed for good); every
// other one has not been acknowledged. See the package documentation.
type Record struct {
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Provider  string    `json:"provider,omitempty"`
	Bus       string    `json:"bus"`
	Selection Selection `json:"selection"`
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`
	Runs      int       `json:"runs"`
	// IDScheme is how the replayed events' ids are made: 2, ReplayID; 1,
	// the name's hash then a hash of the name and original id; 0 (replays
	// recorded before it existed), that hash alone.
	IDScheme  int        `json:"idScheme,omitempty"`
	Watermark *Key       `json:"watermark,omitempty"`
	Acked     []KeyRange `json:"acked,omitempty"`
	// Totals add up every run: Published and Failed count entries (a batch
	// published again after a kill counts twice); Selected and Skipped are
	// the last run's.
	Totals   Counts    `json:"totals"`
	Gaps     int64     `json:"gaps,omitempty"`
	Failures []Failure `json:"failures,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// done reports whether the event with key k was resolved by a run that
// wrote r.
func (r *Record) done(k Key) bool {
	o := r.Selection.Order
	if r.Watermark != nil && o.Compare(k, *r.Watermark) <= 0 {
		return true
	}
	for _, a := range r.Acked {
		if o.Compare(k, a.First) >= 0 && o.Compare(k, a.Last) <= 0 {
			return true
		}
	}
	return false
}

// MemCheckpoints keeps records in memory. It is safe for concurrent use.
type MemCheckpoints struct {
	mu   sync.Mutex
	recs map[string][]byte
	// Puts counts Put calls (tests).
	Puts int
	// FailPut, when set, is called before each Put and its error returned:
	// tests simulate a crash after k checkpoints with it.
	FailPut func(rec Record) error

	leased map[string]bool // names whose lease is held (Lease)
}

// NewMemCheckpoints returns an empty store.
func NewMemCheckpoints() *MemCheckpoints { return &MemCheckpoints{recs: map[string][]byte{}} }

func (m *MemCheckpoints) Get(ctx context.Context, name string) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.recs[name]
	if !ok {
		return Record{}, false, nil
	}
	var r Record
	err := json.Unmarshal(b, &r)
	return r, true, err
}

func (m *MemCheckpoints) Put(ctx context.Context, rec Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailPut != nil {
		if err := m.FailPut(rec); err != nil {
			return err
		}
	}
	b, err := json.Marshal(rec) // round-trips like a real store
	if err != nil {
		return err
	}
	if m.recs == nil {
		m.recs = map[string][]byte{}
	}
	m.recs[rec.Name] = b
	m.Puts++
	return nil
}

func (m *MemCheckpoints) List(ctx context.Context) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, b := range m.recs {
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// List returns the records in cps, newest first.
func List(ctx context.Context, cps Checkpoints) ([]Record, error) {
	recs, err := cps.List(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(recs, func(a, b Record) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return recs, nil
}
