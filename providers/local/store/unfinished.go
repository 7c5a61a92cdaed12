package store

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"time"

	"github.com/evcli/evcli/providers"
)

// Unfinished is a stored event with the rules it was routed to when it was
// stored (AppendRouted) that have no final delivery outcome (ok or failed)
// in the deliveries table.
type Unfinished struct {
	Event providers.StoredEvent
	// Payload is the envelope as stored: what its targets receive.
	Payload []byte
	// Rules are the ids of the rules left, in routing order.
	Rules []string
}

// unfinishedPage is how many events one query of Unfinished reads.
const unfinishedPage = 256

// Unfinished yields, in seq order, the events with afterSeq < seq <=
// throughSeq that were stored at or after since (zero: any time) with their
// routing recorded, and whose routing names a rule with no final delivery
// outcome. Events stored without routing (AppendEvents, or before schema
// version 3) are never yielded. It walks the seq range by the primary key
// and reads the delivery outcomes of a page of events with one query, and an
// event's payload only when something is left of it: a range whose
// deliveries all finished costs two small queries per 256 events.
func (d *DB) Unfinished(ctx context.Context, afterSeq, throughSeq int64, since time.Time) iter.Seq2[Unfinished, error] {
	return func(yield func(Unfinished, error) bool) {
		after := afterSeq
		for after < throughSeq {
			type cand struct {
				seq    int64
				id     string
				routed []string
			}
			var cands []cand
			last := after
			err := d.read(ctx, func(tx *sql.Tx) error {
				// How many of its rules have a final outcome is counted in
				// the same pass (deliveries_event), so that an event whose
				// deliveries all finished costs no more round trip.
				var sinceMicros int64 = -1 << 63
				if !since.IsZero() {
					sinceMicros = since.UnixMicro()
				}
				rows, err := tx.QueryContext(ctx, `SELECT seq, id, routed,
					(SELECT count(DISTINCT rule_id) FROM deliveries WHERE event_seq = events.seq AND status IN ('`+DeliveryOK+`', '`+DeliveryFailed+`'))
					FROM events WHERE seq > ? AND seq <= ? AND routed <> '' AND stored >= ? ORDER BY seq LIMIT ?`,
					after, throughSeq, sinceMicros, unfinishedPage)
				if err != nil {
					return d.wrap("query unfinished events", err)
				}
				defer rows.Close()
				n := 0
				for rows.Next() {
					var (
						c        cand
						routed   string
						finished int
					)
					if err := rows.Scan(&c.seq, &c.id, &routed, &finished); err != nil {
						return d.wrap("scan unfinished event", err)
					}
					n++
					last = c.seq
					c.routed = decodeRouted(routed)
					if finished >= len(c.routed) {
						continue
					}
					cands = append(cands, c)
				}
				if err := rows.Err(); err != nil {
					return d.wrap("query unfinished events", err)
				}
				if n < unfinishedPage {
					last = throughSeq
				}
				return nil
			})
			if err != nil {
				yield(Unfinished{}, err)
				return
			}
			after = last
			if len(cands) == 0 {
				continue
			}
			done, err := d.finalDeliveries(ctx, func(yield func(int64) bool) {
				for _, c := range cands {
					if !yield(c.seq) {
						return
					}
				}
			}, len(cands))
			if err != nil {
				yield(Unfinished{}, err)
				return
			}
			for _, c := range cands {
				var left []string
				for _, r := range c.routed {
					if !done[ruleOf{c.seq, r}] {
						left = append(left, r)
					}
				}
				if len(left) == 0 {
					continue
				}
				se, payload, err := scanEventPayload(d.r.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE seq = ?`, c.seq))
				if err != nil {
					yield(Unfinished{}, d.wrap(fmt.Sprintf("read event seq %d", c.seq), err))
					return
				}
				if !yield(Unfinished{Event: se, Payload: payload, Rules: left}, nil) {
					return
				}
			}
		}
	}
}

// ruleOf is one rule of the event with seq.
type ruleOf struct {
	seq  int64
	rule string
}

// finalDeliveries returns the (event, rule) pairs of the n given events
// (seqs) that have a final delivery outcome.
func (d *DB) finalDeliveries(ctx context.Context, seqs iter.Seq[int64], n int) (map[ruleOf]bool, error) {
	args := make([]any, 0, n)
	for seq := range seqs {
		args = append(args, seq)
	}
	rows, err := d.r.QueryContext(ctx, `SELECT event_seq, rule_id FROM deliveries WHERE event_seq IN (`+placeholders(len(args))+
		`) AND status IN ('`+DeliveryOK+`', '`+DeliveryFailed+`')`, args...)
	if err != nil {
		return nil, d.wrap("query delivery outcomes", err)
	}
	defer rows.Close()
	done := map[ruleOf]bool{}
	for rows.Next() {
		var k ruleOf
		if err := rows.Scan(&k.seq, &k.rule); err != nil {
			return nil, d.wrap("scan delivery outcome", err)
		}
		done[k] = true
	}
	return done, d.wrap("query delivery outcomes", rows.Err())
}
