package replay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/evcli/evcli/providers"
)

// Phases of a replay, as Progress reports them.
const (
	PhaseReading    = "reading"
	PhasePublishing = "publishing"
	PhaseDone       = "done"
)

// Progress is a snapshot of a running replay.
type Progress struct {
	Phase string `json:"phase"`
	// Read is how many events the store yielded; Selected how many of them
	// the selection chose (before --limit).
	Read     int64 `json:"read"`
	Selected int64 `json:"selected"`
	// Total is how many events this run goes through (selected, capped by
	// --limit); -1 while reading.
	Total     int64         `json:"total"`
	Published int64         `json:"published"`
	Failed    int64         `json:"failed"`
	Skipped   int64         `json:"skipped"`
	Elapsed   time.Duration `json:"-"`
}

// Done is how many of Total have been dealt with.
func (p Progress) Done() int64 { return p.Published + p.Failed + p.Skipped }

// Summary is the outcome of one run of a replay.
type Summary struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Counts
	Batches  int64         `json:"batches"`
	Gaps     int64         `json:"gaps"`
	Failures []Failure     `json:"failures,omitempty"`
	Elapsed  time.Duration `json:"-"`
}

// ErrExists is returned (wrapped in *InputError) when a new replay reuses
// the name of a stored one.
var ErrExists = errors.New("replay exists")

type runner struct {
	cfg   Config
	start time.Time
	// replayID makes the replayed events' ids: ReplayID in the replay's
	// order, or the scheme an older replay was recorded with.
	replayID func(name string, se *providers.StoredEvent) string

	mu   sync.Mutex
	prog Progress
	gaps int64
	cbMu sync.Mutex // serialises OnProgress
}

func newRunner(cfg Config) *runner {
	cfg.defaults()
	r := &runner{cfg: cfg, replayID: replayIDFunc(idSchemeOrdered, cfg.Selection.Order)}
	r.start = cfg.Now()
	r.prog = Progress{Phase: PhaseReading, Total: -1}
	return r
}

func (r *runner) progress(f func(p *Progress)) {
	r.mu.Lock()
	f(&r.prog)
	r.prog.Elapsed = r.cfg.Now().Sub(r.start)
	p := r.prog
	r.mu.Unlock()
	if r.cfg.OnProgress != nil {
		r.cbMu.Lock()
		r.cfg.OnProgress(p)
		r.cbMu.Unlock()
	}
}

func (r *runner) gap(g Gap) {
	r.mu.Lock()
	r.gaps++
	r.mu.Unlock()
	if r.cfg.OnGap != nil {
		r.cfg.OnGap(g)
	}
}

// batch is a run of consecutive events in replay order, published with one
// PutEvents call.
type batch struct {
	seq     int64
	events  []providers.Event // to send
	origIDs []string          // parallel to events
	evAggs  []string          // parallel to events: aggregate ids
	aggs    []string          // distinct aggregates among events
	rng     KeyRange
	n       int // entries, including pre-failed
	bytes   int
	failed  []Failure // entries that cannot be sent (too large, detail not an object)
}

// batcher cuts the ordered, marked events into batches.
type batcher struct {
	r    *runner
	cur  *batch
	seq  int64
	emit func(*batch) error
}

func (b *batcher) add(se *providers.StoredEvent) error {
	k := KeyOf(se)
	ev, err := mark(b.r.cfg.Name, b.r.cfg.Bus, se, b.r.replayID)
	var fail *Failure
	size := 0
	if err != nil {
		fail = &Failure{OriginalID: se.ID, Code: "MalformedDetail", Message: err.Error()}
	} else if size = providers.EntrySize(&ev); size > min(providers.MaxEntryBytes, b.r.cfg.MaxBatchBytes) {
		fail = &Failure{OriginalID: se.ID, Code: "EntryTooLarge",
			Message: fmt.Sprintf("entry is %d bytes; a PutEvents entry carries at most %d", size, min(providers.MaxEntryBytes, b.r.cfg.MaxBatchBytes))}
		size = 0
	}
	if c := b.cur; c != nil && (len(c.events) >= b.r.cfg.MaxBatchEntries || c.bytes+size > b.r.cfg.MaxBatchBytes) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	if b.cur == nil {
		// Sized for a full batch up front: growing by appends copied each
		// event about twice more.
		n := min(b.r.cfg.MaxBatchEntries, 4096)
		b.cur = &batch{seq: b.seq, rng: KeyRange{First: k},
			events: make([]providers.Event, 0, n), origIDs: make([]string, 0, n), evAggs: make([]string, 0, n)}
		b.seq++
	}
	c := b.cur
	c.rng.Last = k
	c.n++
	if fail != nil {
		c.failed = append(c.failed, *fail)
		return nil
	}
	c.events = append(c.events, ev)
	c.origIDs = append(c.origIDs, se.ID)
	c.evAggs = append(c.evAggs, se.AggregateID)
	c.bytes += size
	if se.AggregateID != "" {
		dup := false
		for _, a := range c.aggs {
			if a == se.AggregateID {
				dup = true
				break
			}
		}
		if !dup {
			c.aggs = append(c.aggs, se.AggregateID)
		}
	}
	return nil
}

func (b *batcher) flush() error {
	if b.cur == nil {
		return nil
	}
	c := b.cur
	b.cur = nil
	return b.emit(c)
}

// produce runs read -> select -> order -> skip (resume) -> mark -> batch and
// calls emit for each batch. skipped counts events an earlier run resolved.
func (r *runner) produce(ctx context.Context, store providers.EventStore, rec *Record, emit func(*batch) error) error {
	bt := &batcher{r: r, emit: emit}
	var selected, skipped int64
	err := r.ordered(ctx, store, func(se *providers.StoredEvent) error {
		selected++
		if rec != nil && rec.done(KeyOf(se)) {
			skipped++
			if skipped%1024 == 0 {
				r.progress(func(p *Progress) { p.Skipped = skipped })
			}
			return nil
		}
		return bt.add(se)
	})
	if err != nil {
		return err
	}
	r.progress(func(p *Progress) { p.Skipped = skipped })
	return bt.flush()
}

// pacer spaces publishing to rate events per second.
type pacer struct {
	rate  float64
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	mu    sync.Mutex
	next  time.Time
}

// wait reserves n events' worth of time and sleeps until the reservation
// starts. The first call never waits.
func (p *pacer) wait(ctx context.Context, n int) error {
	if p.rate <= 0 || n == 0 {
		return nil
	}
	p.mu.Lock()
	now := p.now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = at.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return p.sleep(ctx, d)
	}
	return nil
}

func (r *runner) backoff(attempt int) time.Duration {
	d := r.cfg.BackoffBase
	for i := 1; i < attempt && d < r.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, r.cfg.BackoffMax)
}

type batchResult struct {
	b         *batch
	published []providers.Event
	failed    []Failure
	err       error
}

// publish sends b with the retry loop every publisher shares
// (providers.PublishWithRetry): entries that fail with a transient code are
// sent again with backoff, paced like the rest. Only an error of the call as
// a whole that persists (or is not retryable) is returned as err; entries
// that fail for good are in failed.
func (r *runner) publish(ctx context.Context, bus providers.EventBus, p *pacer, b *batch) batchResult {
	res := batchResult{b: b, failed: b.failed}
	rep, err := providers.PublishWithRetry(ctx, bus, r.cfg.Bus, b.events, providers.RetryPolicy{
		MaxAttempts: r.cfg.MaxAttempts, Backoff: r.backoff, Sleep: r.cfg.Sleep,
		BeforeRetry: p.wait,
	})
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		res.err = err
		return res
	}
	for j, o := range rep.Results {
		if o.ErrorCode == "" {
			if res.published == nil {
				res.published = make([]providers.Event, 0, len(b.events))
			}
			res.published = append(res.published, b.events[j])
			continue
		}
		msg := o.ErrorMsg
		if providers.Retryable(o.Code) {
			msg = fmt.Sprintf("%s (gave up after %d attempts; raise the limit with --max-attempts)", msg, rep.Attempts[j])
		}
		res.failed = append(res.failed, Failure{OriginalID: b.origIDs[j], Code: o.ErrorCode, Message: msg})
	}
	return res
}
