package bus

import (
	"context"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// Redeliver schedules, in flowID ("" for none), the deliveries that the
// events q selects never finished: for each event and each rule that matches
// it now, unless the store holds a final outcome (ok or failed) for that
// event and rule. It returns how many it scheduled.
//
// Deliveries live in memory, so those in progress when a process is killed
// are lost while their events are safe in the store. A process that starts
// the bus after such a stop (`evcli local serve`) calls Redeliver over a
// recent window to finish them: delivery is at least once, as EventBridge's
// is, so a target that ran but whose outcome was not recorded runs again.
// Call it only while no other process delivers from the same store, or it
// will deliver their in-flight events a second time.
func (b *Bus) Redeliver(ctx context.Context, flowID string, q providers.EventQuery) (int, error) {
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	const page = 256
	var (
		batch     []providers.StoredEvent
		scheduled int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ids := make([]string, len(batch))
		for i, se := range batch {
			ids[i] = se.ID
		}
		ds, err := b.o.Store.Deliveries(ctx, ids)
		if err != nil {
			return err
		}
		done := map[[2]string]bool{}
		for _, d := range ds {
			if d.Final() {
				done[[2]string{d.EventID, d.RuleID}] = true
			}
		}
		for _, se := range batch {
			scheduled += b.routeMissing(flowID, se, done)
		}
		batch = batch[:0]
		return nil
	}
	for se, err := range b.o.Store.Events(ctx, q) {
		if err != nil {
			return scheduled, err
		}
		batch = append(batch, se)
		if len(batch) == page {
			if err := flush(); err != nil {
				return scheduled, err
			}
		}
	}
	return scheduled, flush()
}

// routeMissing schedules se's deliveries to the matching rules not in done.
func (b *Bus) routeMissing(flowID string, se providers.StoredEvent, done map[[2]string]bool) int {
	rt := b.routes.Load()
	m := rt.buses[se.EventBusName]
	if m == nil {
		return 0
	}
	payload, err := store.MarshalEnvelope(se.Event)
	if err != nil {
		b.o.Logf("bus: redeliver %s: %v", se.ID, err)
		return 0
	}
	ids, err := m.Match(payload)
	if err != nil {
		b.o.Logf("bus: redeliver %s: match: %v", se.ID, err)
		return 0
	}
	n := 0
	for _, id := range ids {
		rule, ok := rt.rules[id]
		if !ok || done[[2]string{se.ID, id}] {
			continue
		}
		limit := rt.concurrency[rule.Function]
		if limit == 0 {
			limit = b.o.Concurrency
		}
		b.flows.add(flowID)
		b.disp.pending.add(1)
		b.enqueue(&delivery{
			flow: flowID, eventID: se.ID, correlationID: se.CorrelationID,
			fn: rule.Function, ruleID: rule.ID, payload: payload, limit: limit,
		})
		n++
	}
	return n
}
