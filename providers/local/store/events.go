package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/evcli/evcli/providers"
)

// DefaultBus is the bus name used when an event names none.
const DefaultBus = "default"

// eventPageSize is how many rows one query of Events reads.
const eventPageSize = 256

// Envelope is the EventBridge envelope as the store keeps it and as targets
// receive it: the fields in EventBridge's order, resources never null.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// MarshalEnvelope renders ev as the JSON a target receives. Times are UTC,
// RFC 3339 (with fractional seconds only when the time has them).
func MarshalEnvelope(ev providers.Event) ([]byte, error) {
	res := ev.Resources
	if res == nil {
		res = []string{}
	}
	detail := ev.Detail
	if len(bytes.TrimSpace(detail)) == 0 {
		detail = json.RawMessage("{}")
	}
	return json.Marshal(Envelope{
		Version:    ev.Version,
		ID:         ev.ID,
		DetailType: ev.DetailType,
		Source:     ev.Source,
		Account:    ev.Account,
		Time:       ev.Time.UTC().Format(time.RFC3339Nano),
		Region:     ev.Region,
		Resources:  res,
		Detail:     detail,
	})
}

// UnmarshalEnvelope parses an envelope written by MarshalEnvelope.
func UnmarshalEnvelope(b []byte) (providers.Event, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return providers.Event{}, err
	}
	ev := providers.Event{
		Version: e.Version, ID: e.ID, DetailType: e.DetailType, Source: e.Source,
		Account: e.Account, Region: e.Region, Resources: e.Resources, Detail: e.Detail,
	}
	if e.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, e.Time)
		if err != nil {
			return providers.Event{}, fmt.Errorf("envelope time: %w", err)
		}
		ev.Time = t.UTC()
	}
	return ev, nil
}

// DeriveKeys fills ev's AggregateID, AggregateVersion and CorrelationID from
// its detail when the caller left them empty: detail.aggregateId (or
// aggregate_id), detail.version (or aggregateVersion; a number or a numeric
// string) and detail.correlationId (or correlation_id, or
// detail.metadata.correlationId).
func DeriveKeys(ev *providers.StoredEvent) {
	if ev.AggregateID != "" && ev.AggregateVersion != 0 && ev.CorrelationID != "" {
		return
	}
	var d struct {
		AggregateID      json.RawMessage `json:"aggregateId"`
		AggregateID2     json.RawMessage `json:"aggregate_id"`
		Version          json.RawMessage `json:"version"`
		AggregateVersion json.RawMessage `json:"aggregateVersion"`
		CorrelationID    json.RawMessage `json:"correlationId"`
		CorrelationID2   json.RawMessage `json:"correlation_id"`
		Metadata         struct {
			CorrelationID  json.RawMessage `json:"correlationId"`
			CorrelationID2 json.RawMessage `json:"correlation_id"`
		} `json:"metadata"`
	}
	if json.Unmarshal(ev.Detail, &d) != nil {
		return
	}
	if ev.AggregateID == "" {
		ev.AggregateID = firstScalar(d.AggregateID, d.AggregateID2)
	}
	if ev.AggregateVersion == 0 {
		if s := firstScalar(d.AggregateVersion, d.Version); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				ev.AggregateVersion = n
			}
		}
	}
	if ev.CorrelationID == "" {
		ev.CorrelationID = firstScalar(d.CorrelationID, d.CorrelationID2, d.Metadata.CorrelationID, d.Metadata.CorrelationID2)
	}
}

// firstScalar returns the first of vs that is a JSON string or number, as text.
func firstScalar(vs ...json.RawMessage) string {
	for _, v := range vs {
		v = bytes.TrimSpace(v)
		if len(v) == 0 {
			continue
		}
		switch {
		case v[0] == '"':
			var s string
			if json.Unmarshal(v, &s) == nil && s != "" {
				return s
			}
		case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
			return string(v)
		}
	}
	return ""
}

// AppendEvents stores evs durably (the transaction is fsynced before it
// returns) and returns them with Seq filled in. Appending an id the store
// already holds is not an error: that entry comes back as the stored row,
// unchanged, so a retried append is idempotent. Every event needs an id,
// a source and a detail-type; the bus defaults to "default".
func (d *DB) AppendEvents(ctx context.Context, evs []providers.StoredEvent) ([]providers.StoredEvent, error) {
	out := make([]providers.StoredEvent, len(evs))
	payloads := make([][]byte, len(evs))
	for i, ev := range evs {
		if ev.ID == "" {
			return nil, fmt.Errorf("store: events[%d]: id is empty; every stored event needs a unique id", i)
		}
		if ev.Source == "" || ev.DetailType == "" {
			return nil, fmt.Errorf("store: events[%d] (id %s): source and detail-type are required", i, ev.ID)
		}
		if len(bytes.TrimSpace(ev.Detail)) == 0 {
			ev.Detail = json.RawMessage("{}")
		} else if !json.Valid(ev.Detail) {
			return nil, fmt.Errorf("store: events[%d] (id %s): detail is not valid JSON", i, ev.ID)
		}
		if ev.EventBusName == "" {
			ev.EventBusName = DefaultBus
		}
		if ev.Time.IsZero() {
			ev.Time = d.now()
		}
		ev.Time = ev.Time.UTC()
		if y := ev.Time.Year(); y < 1 || y > 9999 {
			return nil, fmt.Errorf("store: events[%d] (id %s): time %s is outside the years 1 .. 9999", i, ev.ID, ev.Time)
		}
		DeriveKeys(&ev)
		p, err := MarshalEnvelope(ev.Event)
		if err != nil {
			return nil, fmt.Errorf("store: events[%d] (id %s): %w", i, ev.ID, err)
		}
		payloads[i] = p
		out[i] = ev
	}
	if err := d.commitEvents(ctx, &eventAppend{evs: out, payloads: payloads}); err != nil {
		return nil, err
	}
	return out, nil
}

// eventAppend is one AppendEvents call's rows.
type eventAppend struct {
	evs      []providers.StoredEvent
	payloads [][]byte
}

// commitEvents inserts r's events in a FULL (fsynced) write, which shares
// its transaction with the writes queued at the same time (see writer):
// concurrent appends of many small batches cost one fsync per commit, not
// one per call.
func (d *DB) commitEvents(ctx context.Context, r *eventAppend) error {
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ins, err := d.wr.stmt(ctx, tx, `INSERT INTO events
			(id, bus, source, detail_type, time, aggregate_id, aggregate_version, correlation_id, payload)
			VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING`)
		if err != nil {
			return d.wrap("prepare event insert", err)
		}
		return d.insertEvents(ctx, tx, ins, r)
	})
}

func (d *DB) insertEvents(ctx context.Context, tx *sql.Tx, ins *sql.Stmt, r *eventAppend) error {
	for i := range r.evs {
		ev := &r.evs[i]
		res, err := ins.ExecContext(ctx, ev.ID, ev.EventBusName, ev.Source, ev.DetailType, toMicros(ev.Time),
			ev.AggregateID, ev.AggregateVersion, ev.CorrelationID, r.payloads[i])
		if err != nil {
			return d.wrap("insert event "+ev.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if ev.Seq, err = res.LastInsertId(); err != nil {
				return d.wrap("insert event "+ev.ID, err)
			}
			continue
		}
		existing, err := scanEvent(tx.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE id = ?`, ev.ID))
		if err != nil {
			return d.wrap("read existing event "+ev.ID, err)
		}
		*ev = existing
	}
	return nil
}

const eventCols = `seq, bus, aggregate_id, aggregate_version, correlation_id, payload`

type rowScanner interface{ Scan(...any) error }

func scanEvent(r rowScanner) (providers.StoredEvent, error) {
	var (
		se      providers.StoredEvent
		payload []byte
	)
	if err := r.Scan(&se.Seq, &se.EventBusName, &se.AggregateID, &se.AggregateVersion, &se.CorrelationID, &payload); err != nil {
		return se, err
	}
	ev, err := UnmarshalEnvelope(payload)
	if err != nil {
		return se, fmt.Errorf("event seq %d: stored payload: %w", se.Seq, err)
	}
	bus := se.EventBusName
	se.Event = ev
	se.EventBusName = bus
	return se, nil
}

// Event returns the stored event with the given id.
func (d *DB) Event(ctx context.Context, id string) (providers.StoredEvent, bool, error) {
	se, err := scanEvent(d.r.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return se, false, nil
	}
	if err != nil {
		return se, false, d.wrap("read event "+id, err)
	}
	return se, true, nil
}

// Events yields the events q selects in seq order. Since is inclusive, Until
// exclusive; AggregateIDs and Types select any of their values. It reads a
// page at a time and holds no read transaction while the caller works on a
// page, so it never blocks writers or WAL checkpoints for long.
func (d *DB) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		after := q.AfterSeq
		left := q.Limit
		// A time window is turned into a seq range first (one pass over the
		// time index), and pages then walk the table in seq order inside it
		// with time as a filter: no page sorts the whole window.
		var hi int64 = -1
		if !q.Since.IsZero() || !q.Until.IsZero() {
			lo, h, ok, err := d.seqRange(ctx, q.Since, q.Until)
			if err != nil {
				yield(providers.StoredEvent{}, err)
				return
			}
			if !ok {
				return
			}
			after, hi = max(after, lo-1), h
		}
		for {
			page := eventPageSize
			if q.Limit > 0 && left < page {
				page = left
			}
			if page == 0 {
				return
			}
			query := `SELECT ` + eventCols + ` FROM events WHERE seq > ?`
			args := []any{after}
			if hi >= 0 {
				query += ` AND seq <= ?`
				args = append(args, hi)
			}
			// The unary + keeps the planner off the time index here.
			if !q.Since.IsZero() {
				query += ` AND +time >= ?`
				args = append(args, q.Since.UnixMicro())
			}
			if !q.Until.IsZero() {
				query += ` AND +time < ?`
				args = append(args, q.Until.UnixMicro())
			}
			if len(q.AggregateIDs) > 0 {
				query += ` AND aggregate_id IN (` + placeholders(len(q.AggregateIDs)) + `)`
				for _, a := range q.AggregateIDs {
					args = append(args, a)
				}
			}
			if len(q.Types) == 1 {
				query += ` AND detail_type = ?`
				args = append(args, q.Types[0])
			} else if len(q.Types) > 1 {
				// Several types: walk by seq and filter, rather than merge
				// (sort) the types' index ranges on every page.
				query += ` AND +detail_type IN (` + placeholders(len(q.Types)) + `)`
				for _, t := range q.Types {
					args = append(args, t)
				}
			}
			query += ` ORDER BY seq LIMIT ?`
			args = append(args, page)
			evs, err := d.eventPage(ctx, query, args)
			if err != nil {
				yield(providers.StoredEvent{}, err)
				return
			}
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
				after = ev.Seq
			}
			left -= len(evs)
			if len(evs) < page {
				return
			}
		}
	}
}

// seqRange returns the lowest and highest seq of the events with
// since <= time < until (zero bounds open); ok is false when there are none.
func (d *DB) seqRange(ctx context.Context, since, until time.Time) (lo, hi int64, ok bool, err error) {
	query := `SELECT min(seq), max(seq) FROM events WHERE 1`
	var args []any
	if !since.IsZero() {
		query += ` AND time >= ?`
		args = append(args, since.UnixMicro())
	}
	if !until.IsZero() {
		query += ` AND time < ?`
		args = append(args, until.UnixMicro())
	}
	var l, h sql.NullInt64
	if err := d.r.QueryRowContext(ctx, query, args...).Scan(&l, &h); err != nil {
		return 0, 0, false, d.wrap("query event time range", err)
	}
	return l.Int64, h.Int64, l.Valid, nil
}

func (d *DB) eventPage(ctx context.Context, query string, args []any) ([]providers.StoredEvent, error) {
	rows, err := d.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, d.wrap("query events", err)
	}
	defer rows.Close()
	var out []providers.StoredEvent
	for rows.Next() {
		se, err := scanEvent(rows)
		if err != nil {
			return nil, d.wrap("scan event", err)
		}
		out = append(out, se)
	}
	return out, d.wrap("query events", rows.Err())
}

// LastEventSeq is the highest event seq stored (0 when empty).
func (d *DB) LastEventSeq(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := d.r.QueryRowContext(ctx, `SELECT max(seq) FROM events`).Scan(&n)
	return n.Int64, d.wrap("read last event seq", err)
}

var _ providers.EventStore = (*DB)(nil)
