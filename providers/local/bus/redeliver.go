package bus

import (
	"context"
	"strconv"
	"time"
)

// RedeliverWindow is how far back Redeliver looks when since is zero: 6 h,
// Lambda's default maximum age of an event for asynchronous invocation.
const RedeliverWindow = 6 * time.Hour

// kvRedeliver / keyRedelivered hold the seq through which every routed
// event's deliveries are known finished (or given up): Redeliver starts
// after it, so a process that finds nothing left reads only the events
// stored since the previous pass.
const (
	kvRedeliver    = "bus"
	keyRedelivered = "redelivered-through"
)

// Redeliver finishes what killed processes left: deliveries live in memory,
// so those in flight when an evcli process is killed (kill -9, power loss)
// are lost while their events are safe in the store. For every event with
// seq <= through stored at or after since (zero: now minus RedeliverWindow)
// it schedules, in flowID ("" for none), a delivery to each rule the event
// was routed to when it was stored that has no final outcome (ok or
// failed) in the store, to the rule's target as deployed now. A rule
// deleted since is skipped (and logged); a rule added since is not
// delivered to, as EventBridge never routes an event retroactively; events
// stored without their routing (before schema version 3) are left alone.
// Delivery is at least once, as EventBridge's is: a target that ran but
// whose outcome was not recorded runs again. It returns how many deliveries
// it scheduled.
//
// through must be the last seq stored at a moment when no other process
// was delivering from the store (the local engine takes it under an
// exclusive delivery lock): Redeliver would otherwise deliver other
// processes' in-flight events a second time. It records in the store how
// far it found everything finished, so the next call reads only newer
// events.
func (b *Bus) Redeliver(ctx context.Context, flowID string, since time.Time, through int64) (int, error) {
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	if since.IsZero() {
		since = b.o.Now().Add(-RedeliverWindow)
	}
	var after int64
	if v, ok, err := b.o.Store.GetKV(ctx, kvRedeliver, keyRedelivered); err != nil {
		return 0, err
	} else if ok {
		after, _ = strconv.ParseInt(string(v), 10, 64)
	}
	if after >= through {
		return 0, nil
	}
	rt := b.routes.Load()
	var (
		scheduled int
		firstLeft int64 // seq of the first event scheduled
	)
	for u, err := range b.o.Store.Unfinished(ctx, after, through, since) {
		if err != nil {
			return scheduled, err
		}
		// Keep memory flat as Publish does (MaxPending).
		if err := b.disp.pending.waitBelow(ctx, b.o.MaxPending); err != nil {
			return scheduled, err
		}
		for _, id := range u.Rules {
			rule, ok := rt.rules[id]
			if !ok {
				b.o.Logf("bus: redeliver event %s: rule %s was deleted since the event was stored; not delivered", u.Event.ID, id)
				continue
			}
			if firstLeft == 0 {
				firstLeft = u.Event.Seq
			}
			b.schedule(rt, flowID, 0, u.Event, rule, u.Payload)
			scheduled++
		}
	}
	mark := through
	if firstLeft > 0 {
		// Read from it again next time: if this process is killed too, the
		// next one redelivers what is still unfinished.
		mark = firstLeft - 1
	}
	if mark > after {
		if err := b.o.Store.PutKV(ctx, kvRedeliver, keyRedelivered, []byte(strconv.FormatInt(mark, 10))); err != nil {
			return scheduled, err
		}
	}
	return scheduled, nil
}

// MarkFinished records, for the next Redeliver, that the deliveries of
// every routed event stored after through are finished, when this bus can
// tell without reading them: call it after Close (every delivery this bus
// scheduled has its final outcome recorded, or was recorded as given up),
// with the through that Redeliver was given at start (or the last seq then,
// when nothing needed redelivering). It moves the mark only when the mark
// still says through (Redeliver found everything before finished), no
// outcome failed to be recorded, and the store holds exactly as many routed
// events after through as this bus's store handle stored: then they are all
// this process's. Otherwise the next process that starts alone reads those
// events, as before. It reports whether it moved the mark.
//
// A lone process that published many events (a replay) would otherwise
// leave the next one a scan of all of them before it does anything.
func (b *Bus) MarkFinished(ctx context.Context, through int64) (bool, error) {
	if b.rec.lost.Load() > 0 || b.abandoned.Load() > 0 {
		return false, nil
	}
	var mark int64
	if v, ok, err := b.o.Store.GetKV(ctx, kvRedeliver, keyRedelivered); err != nil {
		return false, err
	} else if ok {
		mark, _ = strconv.ParseInt(string(v), 10, 64)
	}
	if mark != through {
		return false, nil
	}
	n, last, err := b.o.Store.RoutedAfter(ctx, through)
	if err != nil || n == 0 || n != b.o.Store.RoutedAppended() {
		return false, err
	}
	if err := b.o.Store.PutKV(ctx, kvRedeliver, keyRedelivered, []byte(strconv.FormatInt(last, 10))); err != nil {
		return false, err
	}
	return true, nil
}

// Adopt takes over, in flowID ("" for none), deliveries that another
// process's bus gave up at Close (its Left): a one-shot command hands what
// it has not delivered yet to the project's running `local serve` instead
// of making its user wait. Each is scheduled to its rule's target as
// deployed now, with the event's stored envelope, unless the store holds a
// final outcome (ok or failed) for it already or its rule was deleted
// since (logged). It returns how many it scheduled.
//
// The giving process records nothing for what it gave up (as after
// kill -9), so a delivery Adopt takes is unfinished in the store until
// this bus records its outcome: if this process stops first, the next
// process that starts alone redelivers it (Redeliver). Delivery is at
// least once: an attempt the giver cut short runs again here.
func (b *Bus) Adopt(ctx context.Context, flowID string, hs []Handed) (int, error) {
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	if len(hs) == 0 {
		return 0, nil
	}
	type key struct {
		seq  int64
		rule string
	}
	want := make(map[key]int, len(hs)) // -> depth
	lo, hi := hs[0].EventSeq, hs[0].EventSeq
	for _, h := range hs {
		want[key{h.EventSeq, h.RuleID}] = h.Depth
		lo, hi = min(lo, h.EventSeq), max(hi, h.EventSeq)
	}
	rt := b.routes.Load()
	scheduled := 0
	for u, err := range b.o.Store.Unfinished(ctx, lo-1, hi, time.Time{}) {
		if err != nil {
			return scheduled, err
		}
		for _, id := range u.Rules {
			depth, ok := want[key{u.Event.Seq, id}]
			if !ok {
				continue // another process's, or not handed over
			}
			rule, ok := rt.rules[id]
			if !ok {
				b.o.Logf("bus: adopt event %s: rule %s was deleted since the event was stored; not delivered", u.Event.ID, id)
				continue
			}
			b.schedule(rt, flowID, depth, u.Event, rule, u.Payload)
			scheduled++
		}
	}
	return scheduled, nil
}
