package bus

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evcli/evcli/providers/local/store"
)

// delivery is one event on its way to one rule's target.
type delivery struct {
	flow, eventID, correlationID string
	detailType                   string
	eventSeq                     int64
	fn, ruleID                   string
	payload                      []byte
	limit                        int // the function's concurrency
	attempts                     int
	depth                        int // how many function publishes led to the event
}

// dispatcher keeps one FIFO queue per function, drained by up to the
// function's concurrency of workers, so a slow or busy function never holds
// up deliveries to the others.
type dispatcher struct {
	mu      sync.Mutex
	queues  map[string]*fnQueue
	pending waitCounter // deliveries scheduled and not yet finally recorded
}

type fnQueue struct {
	items   []*delivery
	running int
}

func (d *dispatcher) init() { d.queues = map[string]*fnQueue{} }

func (b *Bus) enqueue(d *delivery) {
	b.disp.mu.Lock()
	q := b.disp.queues[d.fn]
	if q == nil {
		q = &fnQueue{}
		b.disp.queues[d.fn] = q
	}
	q.items = append(q.items, d)
	start := q.running < d.limit
	if start {
		q.running++
		b.workers.Add(1)
	}
	b.disp.mu.Unlock()
	if start {
		go b.work(d.fn, q)
	}
}

func (b *Bus) work(fn string, q *fnQueue) {
	defer b.workers.Done()
	for {
		b.disp.mu.Lock()
		if len(q.items) == 0 {
			q.running--
			if q.running == 0 {
				delete(b.disp.queues, fn)
			}
			b.disp.mu.Unlock()
			return
		}
		d := q.items[0]
		q.items[0] = nil
		q.items = q.items[1:]
		b.disp.mu.Unlock()
		b.attempt(d)
	}
}

// attempt invokes the target once and decides: ok, retry later, or failed.
func (b *Bus) attempt(d *delivery) {
	d.attempts++
	ctx, sc := b.scope(b.ctx, d.flow, d.fn, d.correlationID, d.depth)
	start := b.o.Now()
	out, err := b.o.Invoker.Invoke(ctx, d.fn, d.payload)
	sc.release()
	rec := store.Delivery{
		EventID: d.eventID, EventSeq: d.eventSeq, Function: d.fn, RuleID: d.ruleID, Attempts: d.attempts,
		DurationMs: out.DurationMs, CorrelationID: d.correlationID, Time: b.o.Now(),
		DetailType: d.detailType, Published: sc.Published(),
	}
	if rec.DurationMs == 0 {
		rec.DurationMs = float64(rec.Time.Sub(start).Microseconds()) / 1000
	}
	if err == nil && out.FunctionError == "" {
		rec.Status = store.DeliveryOK
		b.rec.send(d.flow, rec, true)
		return
	}
	rec.Error = failureText(out, err)
	if b.ctx.Err() != nil {
		// Stopping is not failing: the attempt was cut short by Close, not
		// by the function. Record nothing, so the next process redelivers
		// it as it would after kill -9.
		b.abandon(d)
		return
	}
	var final *FinalError
	if d.attempts <= b.o.Retries && !errors.As(err, &final) {
		rec.Status = store.DeliveryRetrying
		b.rec.send(d.flow, rec, false)
		b.workers.Add(1)
		go func() {
			defer b.workers.Done()
			if err := b.o.Sleep(b.ctx, b.o.Backoff(d.attempts)); err != nil {
				b.abandon(d) // stopped while waiting to retry
				return
			}
			b.enqueue(d)
		}()
		return
	}
	rec.Status = store.DeliveryFailed
	b.rec.send(d.flow, rec, true)
}

func failureText(out InvokeOutcome, err error) string {
	if err != nil {
		return err.Error()
	}
	switch {
	case out.ErrorType != "" && out.ErrorMessage != "":
		return out.ErrorType + ": " + out.ErrorMessage
	case out.ErrorType != "":
		return out.ErrorType
	case out.ErrorMessage != "":
		return out.ErrorMessage
	}
	return "function error: " + out.FunctionError
}

// recorder writes delivery outcomes to the store in batches (one transaction
// for as many as have queued up), and only then counts final ones as done,
// so that Wait and Drain return after the outcomes are durable.
type recorder struct {
	b    *Bus
	ch   chan recItem
	done chan struct{}
	lost atomic.Int64 // outcomes the store failed to record
}

type recItem struct {
	flow  string
	d     store.Delivery
	final bool
}

// recordBatch bounds the outcomes one transaction records (and the queue
// in front of the recorder). While the store is busy with a publish, the
// outcomes of its predecessors queue up: under load one transaction takes
// a whole publish's worth (1,000 for a replay) instead of a few hundred, and
// a transaction's fixed cost is shared by more rows.
const recordBatch = 2048

// recordWindow is how long the recorder waits for more outcomes before
// writing a batch that is not full: it delays Wait and Drain by as much.
const recordWindow = 2 * time.Millisecond

func (r *recorder) init(b *Bus) {
	r.b = b
	r.ch = make(chan recItem, recordBatch)
	r.done = make(chan struct{})
	go r.loop()
}

func (r *recorder) send(flow string, d store.Delivery, final bool) {
	r.ch <- recItem{flow: flow, d: d, final: final}
}

func (r *recorder) stop() {
	close(r.ch)
	<-r.done
}

func (r *recorder) loop() {
	defer close(r.done)
	batch := make([]recItem, 0, recordBatch)
	rows := make([]store.Delivery, 0, recordBatch)
	window := time.NewTimer(time.Hour)
	window.Stop()
	for it := range r.ch {
		batch = append(batch[:0], it)
		// Gather what arrives within recordWindow: outcomes trickle in a
		// few at a time (one publish's worth), and each transaction costs
		// the same whether it carries 5 rows or 200.
		window.Reset(recordWindow)
	fill:
		for len(batch) < recordBatch {
			select {
			case it, ok := <-r.ch:
				if !ok {
					break fill
				}
				batch = append(batch, it)
			case <-window.C:
				break fill
			}
		}
		window.Stop()
		rows = rows[:0]
		for _, it := range batch {
			rows = append(rows, it.d)
		}
		if err := r.b.o.Store.RecordDeliveries(context.Background(), rows); err != nil {
			r.lost.Add(int64(len(rows)))
			r.b.o.Logf("bus: record %d delivery outcomes: %v", len(rows), err)
		}
		for _, it := range batch {
			if it.final {
				r.b.flows.finish(it.flow, it.d)
				r.b.disp.pending.add(-1)
			}
		}
	}
}

// Drain waits until every delivery scheduled so far (and every delivery they
// cause) has its final outcome recorded, or ctx ends.
func (b *Bus) Drain(ctx context.Context) error {
	return b.disp.pending.wait(ctx)
}

// Close stops the bus: deliveries in progress see their context cancelled,
// and they, queued deliveries and pending retries are abandoned with no
// outcome recorded, so that the next process redelivers them (see
// Abandoned); Publish fails from now on. Events already stored stay stored. Use
// Drain first to let deliveries finish.
func (b *Bus) Close() error {
	b.closeMu.Lock()
	if b.closed {
		b.closeMu.Unlock()
		return nil
	}
	b.closed = true
	b.closeMu.Unlock()
	b.cancel()
	b.workers.Wait()
	// Queued deliveries that no worker picked up before cancellation.
	b.disp.mu.Lock()
	var left []*delivery
	for _, q := range b.disp.queues {
		left = append(left, q.items...)
		q.items = nil
	}
	b.disp.mu.Unlock()
	for _, d := range left {
		b.abandon(d)
	}
	b.rec.stop()
	return nil
}

// StatusPending is the status Wait reports for a delivery that Close cut
// short: nothing is recorded in the store for it, so the next evcli process
// that delivers (Redeliver) finishes it.
const StatusPending = "pending"

// abandon gives up d because the bus is closing. It records no outcome:
// the event and the rules it was routed to are in the store, so the
// delivery is unfinished there, exactly as if the process had been killed,
// and the next process that starts alone redelivers it. It is counted
// (Abandoned) and finishes d's flow with a StatusPending entry so that
// Wait and Drain return.
func (b *Bus) abandon(d *delivery) {
	b.abandoned.Add(1)
	b.leftMu.Lock()
	b.left = append(b.left, Handed{EventSeq: d.eventSeq, RuleID: d.ruleID, Depth: d.depth})
	b.leftMu.Unlock()
	b.flows.finish(d.flow, store.Delivery{
		EventID: d.eventID, EventSeq: d.eventSeq, Function: d.fn, RuleID: d.ruleID, Status: StatusPending, DetailType: d.detailType,
		Attempts: d.attempts, CorrelationID: d.correlationID, Time: b.o.Now(),
		Error: "evcli stopped before the delivery finished; the next evcli process redelivers it",
	})
	b.disp.pending.add(-1)
}

// Pending is how many deliveries are scheduled, running or waiting for a
// retry (what Drain waits for).
func (b *Bus) Pending() int {
	b.disp.pending.mu.Lock()
	defer b.disp.pending.mu.Unlock()
	return b.disp.pending.n
}

// Abandoned is how many deliveries Close left unfinished (and unrecorded)
// for the next process to redeliver.
func (b *Bus) Abandoned() int { return int(b.abandoned.Load()) }

// Handed names a delivery that a bus gave up at Close by its event's seq
// and its rule: what another process's bus needs to take it over (Adopt).
type Handed struct {
	EventSeq int64  `json:"seq"`
	RuleID   string `json:"rule"`
	// Depth is how many function publishes led to the event (MaxDepth).
	Depth int `json:"depth,omitempty"`
}

// Left returns the deliveries Close gave up (see Abandoned), for a
// process that takes them over (Adopt). Call it after Close.
func (b *Bus) Left() []Handed {
	b.leftMu.Lock()
	defer b.leftMu.Unlock()
	return slices.Clone(b.left)
}

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("bus: closed")

// waitCounter is a counter whose zero can be waited for.
type waitCounter struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0; nil while n is 0
	dec  chan struct{} // closed at the next decrement; nil until waitBelow needs it
}

func (c *waitCounter) add(d int) {
	c.mu.Lock()
	if d < 0 && c.dec != nil {
		close(c.dec)
		c.dec = nil
	}
	if c.n == 0 && d > 0 {
		c.zero = make(chan struct{})
	}
	c.n += d
	if c.n == 0 && c.zero != nil {
		close(c.zero)
		c.zero = nil
	}
	c.mu.Unlock()
}

func (c *waitCounter) wait(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.n == 0 {
			c.mu.Unlock()
			return nil
		}
		ch := c.zero
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitBelow waits until the count is below limit, or ctx ends.
func (c *waitCounter) waitBelow(ctx context.Context, limit int) error {
	for {
		c.mu.Lock()
		if c.n < limit {
			c.mu.Unlock()
			return nil
		}
		if c.dec == nil {
			c.dec = make(chan struct{})
		}
		ch := c.dec
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
