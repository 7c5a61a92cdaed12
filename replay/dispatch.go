package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/evcli/evcli/providers"
)

// Run replays the events cfg selects from store onto bus, recording its
// progress in cps after every acknowledged batch. It returns the run's
// summary; the error is set when the run stopped early (the record then
// says how far it got and `--resume` continues it). A run whose entries
// failed for good still returns a nil error: Summary.Failed says so.
func Run(ctx context.Context, cfg Config, store providers.EventStore, bus providers.EventBus, cps Checkpoints) (Summary, error) {
	r := newRunner(cfg)
	cfg = r.cfg
	if cfg.Name == "" {
		return Summary{}, &InputError{Field: "--name", Msg: "a replay needs a name"}
	}
	if cfg.Bus == "" {
		return Summary{}, &InputError{Field: "--to", Msg: "no bus to publish to: name one with --to BUS or set bus in evcli.yaml"}
	}
	if l, ok := cps.(Leaser); ok {
		release, err := l.Lease(ctx, cfg.Name)
		var held interface{ Held() bool }
		switch {
		case errors.As(err, &held) && held.Held():
			return Summary{Name: cfg.Name}, &RunningError{Name: cfg.Name, Holder: err}
		case err != nil:
			return Summary{Name: cfg.Name}, fmt.Errorf("replay %s: %w", cfg.Name, err)
		}
		defer release()
	}
	rec, err := r.begin(ctx, cps)
	if err != nil {
		return Summary{Name: cfg.Name}, err
	}
	sum, runErr := r.dispatch(ctx, store, bus, cps, rec)
	return sum, runErr
}

// Record.IDScheme values: how a replay's ids are made (see ReplayID).
const (
	idSchemePrefixed = 1 // prefixedReplayID
	idSchemeOrdered  = 2 // ReplayID
)

// begin loads or creates the replay's record and marks it running.
func (r *runner) begin(ctx context.Context, cps Checkpoints) (*Record, error) {
	cfg := &r.cfg
	old, ok, err := cps.Get(ctx, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint of replay %s: %w", cfg.Name, err)
	}
	var rec Record
	switch {
	case cfg.Resume && !ok:
		return nil, &InputError{Field: "--resume", Msg: fmt.Sprintf("no replay named %q; see evcli replay list", cfg.Name)}
	case cfg.Resume && old.State == StateCompleted:
		return nil, &InputError{Field: "--resume", Msg: fmt.Sprintf("replay %q already completed (%d published); start a new one with another --name", cfg.Name, old.Totals.Published)}
	case cfg.Resume:
		rec = old
		cfg.Selection = rec.Selection
		if rec.Bus != "" {
			cfg.Bus = rec.Bus // a replay goes on to the bus it started on
		}
		rec.Error = ""
	case ok && old.State == StateCompleted:
		return nil, &InputError{Field: "--name", Msg: fmt.Sprintf("%v: %q completed on %s; choose another --name", ErrExists, cfg.Name, old.Updated.UTC().Format(time.RFC3339))}
	case ok:
		return nil, &InputError{Field: "--name", Msg: fmt.Sprintf("%v: %q (%s); continue it with --resume %s or choose another --name", ErrExists, cfg.Name, old.State, cfg.Name)}
	default:
		if cfg.Selection.Until.IsZero() {
			// Fix the window so that a resumed run selects the same events.
			cfg.Selection.Until = r.start
		}
		rec = Record{Name: cfg.Name, Provider: cfg.Provider, Bus: cfg.Bus, Selection: cfg.Selection, Started: r.start, IDScheme: idSchemeOrdered}
	}
	// A replay goes on with the ids it started with.
	r.replayID = replayIDFunc(rec.IDScheme, cfg.Selection.Order)
	rec.State = StateRunning
	rec.Runs++
	rec.Updated = r.start
	if err := cps.Put(ctx, rec); err != nil {
		return nil, fmt.Errorf("write checkpoint of replay %s: %w", cfg.Name, err)
	}
	return &rec, nil
}

// maxQueuedBytes bounds the batches read ahead of publishing (besides at
// least one), so that large batches (the local bus) keep memory flat.
const maxQueuedBytes = 8 << 20

func (r *runner) dispatch(ctx context.Context, store providers.EventStore, bus providers.EventBus, cps Checkpoints, rec *Record) (Summary, error) {
	cfg := r.cfg
	resumeFrom := *rec // what earlier runs resolved, fixed for this run
	resumeFrom.Acked = slices.Clone(rec.Acked)
	var skipRec *Record
	if cfg.Resume {
		skipRec = &resumeFrom
	}

	rctx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	batches := make(chan *batch, 1) // the dispatcher's queue is the buffer
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- r.produce(rctx, store, skipRec, func(b *batch) error {
			select {
			case batches <- b:
				return nil
			case <-rctx.Done():
				return rctx.Err()
			}
		})
	}()

	pctx, cancelPub := context.WithCancel(ctx)
	defer cancelPub()
	pc := &pacer{rate: cfg.Rate, now: cfg.Now, sleep: cfg.Sleep}
	done := make(chan batchResult, cfg.Concurrency)
	saved := make(chan error, 1)
	window := int64(4 * cfg.Concurrency)
	busy := map[string]int{}         // aggregate -> batches being published that hold it
	resolved := map[int64]KeyRange{} // acknowledged batches above the watermark
	var (
		queue    []*batch // read, not sent yet, in seq order: at most Concurrency
		queued   int      // bytes in queue
		low      int64    // lowest unresolved batch seq
		sent     int      // batches sent and not yet covered by a durable checkpoint
		inflight int      // batches being published
		inDone   bool
		stop     bool
		firstErr error
		sum      = Summary{Name: cfg.Name}
		runTot   Counts // this run's published/failed
		// Acknowledged batches not yet in a checkpoint, and those in the
		// checkpoint being written.
		unsaved, saving []batchResult
		savingNow       bool
	)
	ctxDone := ctx.Done()
	fail := func(err error) {
		if !stop {
			stop, firstErr = true, err
			cancelRead()
			if !errors.Is(err, context.Canceled) {
				cancelPub()
			}
		}
	}
	handle := func(res batchResult) {
		inflight--
		for _, a := range res.b.aggs {
			if busy[a]--; busy[a] == 0 {
				delete(busy, a)
			}
		}
		if res.err != nil {
			sent--
			fail(res.err)
			return
		}
		b := res.b
		resolved[b.seq] = b.rng
		for {
			rng, ok := resolved[low]
			if !ok {
				break
			}
			wm := rng.Last
			rec.Watermark = &wm
			delete(resolved, low)
			low++
		}
		rec.Acked = rec.Acked[:0]
		seqs := make([]int64, 0, len(resolved))
		for s := range resolved {
			seqs = append(seqs, s)
		}
		slices.Sort(seqs)
		for _, s := range seqs {
			rec.Acked = append(rec.Acked, resolved[s])
		}
		if cfg.Resume {
			// Ranges of earlier runs beyond the new watermark still count.
			for _, a := range resumeFrom.Acked {
				if rec.Watermark == nil || cfg.Selection.Order.Compare(a.Last, *rec.Watermark) > 0 {
					rec.Acked = append(rec.Acked, a)
				}
			}
		}
		pub, failed := int64(len(res.published)), int64(len(res.failed))
		runTot.Published += pub
		runTot.Failed += failed
		rec.Totals.Published += pub
		rec.Totals.Failed += failed
		for _, f := range res.failed {
			if len(rec.Failures) < maxFailures {
				rec.Failures = append(rec.Failures, f)
			}
			if len(sum.Failures) < maxFailures {
				sum.Failures = append(sum.Failures, f)
			}
		}
		sum.Batches++
		// Only OnPublished needs the events any more.
		unsaved = append(unsaved, batchResult{published: res.published})
	}
	// save starts writing a checkpoint of everything acknowledged so far,
	// unless one is being written: the next one then covers what is
	// acknowledged meanwhile. The record is written even while Ctrl-C
	// cancels the run: the bus has those batches.
	save := func() {
		if savingNow || len(unsaved) == 0 {
			return
		}
		rec.Updated = cfg.Now()
		snap := *rec
		snap.Acked = slices.Clone(rec.Acked)
		snap.Failures = slices.Clone(rec.Failures)
		saving, unsaved = unsaved, saving[:0]
		savingNow = true
		go func() { saved <- cps.Put(context.WithoutCancel(ctx), snap) }()
	}
	// savedDone frees the slots of the batches the checkpoint just written
	// covers, and reports them.
	savedDone := func(err error) {
		savingNow = false
		sent -= len(saving)
		if err != nil {
			fail(fmt.Errorf("write checkpoint of replay %s: %w", cfg.Name, err))
			saving = saving[:0]
			return
		}
		for _, res := range saving {
			if cfg.OnPublished != nil && len(res.published) > 0 {
				cfg.OnPublished(ctx, res.published)
			}
		}
		saving = saving[:0]
		r.progress(func(p *Progress) { p.Published, p.Failed = runTot.Published, runTot.Failed })
	}
	// next returns the first queued batch that may be sent now: one whose
	// aggregates are neither being published nor held by a batch queued
	// before it (an aggregate's batches go in order). Batches of other
	// aggregates overtake a waiting one, within the window that keeps
	// Record.Acked short.
	var held map[string]bool
	next := func() int {
		clear(held)
		for i, b := range queue {
			if b.seq >= low+window {
				return -1
			}
			ok := true
			for _, a := range b.aggs {
				if busy[a] > 0 || held[a] {
					ok = false
					break
				}
			}
			if ok {
				return i
			}
			if held == nil {
				held = map[string]bool{}
			}
			for _, a := range b.aggs {
				held[a] = true
			}
		}
		return -1
	}

	for {
		if !stop && sent < cfg.Concurrency && len(queue) > 0 {
			if i := next(); i >= 0 {
				b := queue[i]
				if err := pc.wait(pctx, len(b.events)); err != nil {
					fail(err)
					continue
				}
				if err := ctx.Err(); err != nil { // no new batch once cancelled
					ctxDone = nil
					fail(err)
					continue
				}
				queue = slices.Delete(queue, i, i+1)
				queued -= b.bytes
				sent++
				inflight++
				for _, a := range b.aggs {
					busy[a]++
				}
				go func() { done <- r.publish(pctx, bus, pc, b) }()
				continue
			}
		}
		save()
		var in <-chan *batch
		if !stop && !inDone && len(queue) < cfg.Concurrency && (len(queue) == 0 || queued < maxQueuedBytes) {
			in = batches
		}
		if in == nil && inflight == 0 && !savingNow && (len(queue) == 0 || stop) {
			break
		}
		select {
		case b, ok := <-in:
			if !ok {
				inDone = true
			} else {
				queue = append(queue, b)
				queued += b.bytes
			}
		case res := <-done:
			handle(res)
			for more := true; more; {
				select {
				case res := <-done:
					handle(res)
				default:
					more = false
				}
			}
		case err := <-saved:
			savedDone(err)
		case <-ctxDone:
			ctxDone = nil
			fail(ctx.Err())
		}
	}
	cancelRead()
	for range batches { // let the reader see the cancellation and finish
	}
	if err := <-readErr; err != nil && firstErr == nil && !errors.Is(err, context.Canceled) {
		firstErr = err
	} else if err != nil && firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}

	r.mu.Lock()
	p := r.prog
	sum.Gaps = r.gaps
	r.mu.Unlock()
	sum.Selected = p.Total
	if sum.Selected < 0 {
		sum.Selected = p.Selected
	}
	sum.Skipped = p.Skipped
	sum.Published, sum.Failed = runTot.Published, runTot.Failed
	sum.Elapsed = cfg.Now().Sub(r.start)

	rec.Totals.Selected, rec.Totals.Skipped = sum.Selected, sum.Skipped
	rec.Gaps = sum.Gaps
	rec.Updated = cfg.Now()
	switch {
	case firstErr == nil:
		rec.State = StateCompleted
		rec.Acked = nil
	case errors.Is(firstErr, context.Canceled) || errors.Is(firstErr, context.DeadlineExceeded):
		rec.State = StateInterrupted
	default:
		rec.State = StateFailed
		rec.Error = firstErr.Error()
	}
	sum.State = rec.State
	// The final record is written even when ctx is cancelled.
	if err := cps.Put(context.WithoutCancel(ctx), *rec); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("write checkpoint of replay %s: %w", cfg.Name, err)
	}
	r.progress(func(p *Progress) { p.Phase = PhaseDone })
	return sum, firstErr
}
