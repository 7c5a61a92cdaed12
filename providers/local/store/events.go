package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/evcli/evcli/internal/jsonvalid"
	"github.com/evcli/evcli/providers"
)

// DefaultBus is the bus name used when an event names none.
const DefaultBus = "default"

// eventPageSize is how many rows one query of Events reads.
const eventPageSize = 256

// envelopeSize is about how long ev's envelope is, to size its buffer.
func envelopeSize(ev *providers.Event) int {
	n := 160 + len(ev.Version) + len(ev.ID) + len(ev.DetailType) + len(ev.Source) + len(ev.Account) + len(ev.Region) + len(ev.Detail)
	for _, r := range ev.Resources {
		n += len(r) + 3
	}
	return n
}

// UnmarshalEnvelope parses an envelope written by providers.MarshalEnvelope (or any
// JSON object with its members). The event's detail may share b's memory.
func UnmarshalEnvelope(b []byte) (providers.Event, error) {
	if ev, ok := parseEnvelope(b); ok {
		return ev, nil
	}
	return unmarshalEnvelopeJSON(b)
}

// unmarshalEnvelopeJSON is UnmarshalEnvelope through encoding/json.
func unmarshalEnvelopeJSON(b []byte) (providers.Event, error) {
	var e struct {
		providers.Event
		Time string `json:"time"` // "" is no time, which time.Time refuses
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return providers.Event{}, err
	}
	ev := e.Event
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
	if jsonvalid.Valid(ev.Detail) && deriveKeysFast(ev) {
		return
	}
	providers.DeriveEventKeys(ev)
}

// deriveKeys is DeriveKeys for a detail known to be valid JSON.
func deriveKeys(ev *providers.StoredEvent) {
	if ev.AggregateID != "" && ev.AggregateVersion != 0 && ev.CorrelationID != "" {
		return
	}
	if !deriveKeysFast(ev) {
		providers.DeriveEventKeys(ev)
	}
}

// AppendEvents stores evs durably (the transaction is fsynced before it
// returns) and returns them with Seq filled in. Appending an id the store
// already holds is not an error: that entry comes back as the stored row,
// unchanged, so a retried append is idempotent. Every event needs an id,
// a source and a detail-type; the bus defaults to "default".
func (d *DB) AppendEvents(ctx context.Context, evs []providers.StoredEvent) ([]providers.StoredEvent, error) {
	out, _, err := d.AppendEnvelopes(ctx, evs)
	return out, err
}

// AppendEnvelopes is AppendEvents that also returns each event's envelope
// JSON as stored (what MarshalEnvelope renders; for an id already stored,
// the stored one), so that the bus delivers those bytes without encoding
// the event again.
func (d *DB) AppendEnvelopes(ctx context.Context, evs []providers.StoredEvent) ([]providers.StoredEvent, [][]byte, error) {
	out, payloads, _, err := d.AppendRouted(ctx, evs, nil)
	return out, payloads, err
}

// Router returns the ids of the rules that the event evs[i], whose envelope
// is given, is routed to.
type Router func(i int, envelope []byte) []string

// AppendRouted is AppendEnvelopes that also records, in the same
// transaction, the rules each event is routed to (what route returns for its
// envelope; nil route records nothing), with the time it is stored, so that
// a later process can finish the deliveries a killed one left (see
// Unfinished). routed[i] is what route returned for the envelope returned:
// for an id already stored, the stored envelope, whose recorded routing is
// left as it was.
func (d *DB) AppendRouted(ctx context.Context, evs []providers.StoredEvent, route Router) ([]providers.StoredEvent, [][]byte, [][]string, error) {
	out := make([]providers.StoredEvent, len(evs))
	payloads := make([][]byte, len(evs))
	for i, ev := range evs {
		if ev.ID == "" {
			return nil, nil, nil, fmt.Errorf("store: events[%d]: id is empty; every stored event needs a unique id", i)
		}
		if ev.Source == "" || ev.DetailType == "" {
			return nil, nil, nil, fmt.Errorf("store: events[%d] (id %s): source and detail-type are required", i, ev.ID)
		}
		if len(bytes.TrimSpace(ev.Detail)) == 0 {
			ev.Detail = json.RawMessage("{}")
		} else if !jsonvalid.Valid(ev.Detail) {
			return nil, nil, nil, fmt.Errorf("store: events[%d] (id %s): detail is not valid JSON", i, ev.ID)
		}
		if ev.EventBusName == "" {
			ev.EventBusName = DefaultBus
		}
		if ev.Time.IsZero() {
			ev.Time = d.now()
		}
		ev.Time = ev.Time.UTC()
		if y := ev.Time.Year(); y < 1 || y > 9999 {
			return nil, nil, nil, fmt.Errorf("store: events[%d] (id %s): time %s is outside the years 1 .. 9999", i, ev.ID, ev.Time)
		}
		deriveKeys(&ev)
		payloads[i] = providers.AppendEnvelope(make([]byte, 0, envelopeSize(&ev.Event)), &ev.Event)
		out[i] = ev
	}
	r := &eventAppend{evs: out, payloads: payloads, route: route}
	if route != nil {
		r.routed = make([][]string, len(out))
		r.routedText = make([]any, len(out))
		for i := range out {
			r.routed[i] = route(i, payloads[i])
			r.routedText[i] = encodeRouted(r.routed[i])
		}
		r.storedAt = toMicros(d.now())
	}
	if err := d.commitEvents(ctx, r); err != nil {
		return nil, nil, nil, err
	}
	if route != nil {
		d.routedAppended.Add(int64(r.inserted))
	}
	return out, payloads, r.routed, nil
}

// RoutedAppended is how many events with their routing (AppendRouted) this
// handle has stored: new rows, not ids that were stored already.
func (d *DB) RoutedAppended() int64 { return d.routedAppended.Load() }

// RoutedAfter returns how many events with their routing are stored with
// seq > after, and the highest seq among them.
func (d *DB) RoutedAfter(ctx context.Context, after int64) (n, last int64, err error) {
	var l sql.NullInt64
	err = d.r.QueryRowContext(ctx, `SELECT count(*), max(seq) FROM events WHERE seq > ? AND routed IS NOT NULL`, after).Scan(&n, &l)
	return n, l.Int64, d.wrap("count routed events", err)
}

// eventAppend is one AppendEvents call's rows.
type eventAppend struct {
	evs      []providers.StoredEvent
	payloads [][]byte
	// With a route: the rules of each event, as returned and as stored, and
	// the time stored; without, both columns stay NULL.
	route      Router
	routed     [][]string
	routedText []any
	storedAt   int64
	// inserted is how many of evs were new rows (set by insertEvents,
	// which may run again when its transaction is retried).
	inserted int
}

// encodeRouted renders rule ids for the routed column: newline-separated
// ("" for none, which is not NULL: routed to nothing).
func encodeRouted(ids []string) string {
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return ids[0]
	}
	return strings.Join(ids, "\n")
}

// decodeRouted is encodeRouted's inverse.
func decodeRouted(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// commitEvents inserts r's events in a FULL (fsynced) write, which shares
// its transaction with the writes queued at the same time (see writer):
// concurrent appends of many small batches cost one fsync per commit, not
// one per call.
func (d *DB) commitEvents(ctx context.Context, r *eventAppend) error {
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return d.insertEvents(ctx, tx, r)
	})
}

const (
	eventInsertCols       = `(id, bus, source, detail_type, time, aggregate_id, aggregate_version, correlation_id, replayed, payload)`
	eventInsertRoutedCols = `(id, bus, source, detail_type, time, aggregate_id, aggregate_version, correlation_id, replayed, payload, routed, stored)`
)

// eventInsertQuery is the INSERT of n events: multi-row, skipping ids
// already stored, returning the seq of each row inserted. Its sizes are
// powers of two up to multiRowChunk, so that few statements are prepared.
// routed adds the routed and stored columns.
func eventInsertQuery(n int, routed bool) string {
	cols, row := eventInsertCols, "(?,?,?,?,?,?,?,?,?,?),"
	if routed {
		cols, row = eventInsertRoutedCols, "(?,?,?,?,?,?,?,?,?,?,?,?),"
	}
	return `INSERT OR IGNORE INTO events ` + cols + ` VALUES ` +
		strings.TrimSuffix(strings.Repeat(row, n), ",") +
		` RETURNING seq, id`
}

// eventInsertQueries[routed][n] is eventInsertQuery(n, routed).
var eventInsertQueries = func() [2]map[int]string {
	m := [2]map[int]string{{}, {}}
	for n := 1; n <= multiRowChunk; n *= 2 {
		m[0][n] = eventInsertQuery(n, false)
		m[1][n] = eventInsertQuery(n, true)
	}
	return m
}()

// insertEvents inserts r's events in order with multi-row statements (one
// statement per row would cost a statement's overhead and an update of the
// AUTOINCREMENT counter for each) and fills in their seq. An event whose
// id is stored already (before, or earlier in r) becomes the stored row.
func (d *DB) insertEvents(ctx context.Context, tx *sql.Tx, r *eventAppend) error {
	r.inserted = 0
	first := make(map[string]int, len(r.evs)) // id -> its first index in r
	for i := range r.evs {
		if _, ok := first[r.evs[i].ID]; !ok {
			first[r.evs[i].ID] = i
		}
	}
	args := make([]any, 0, 12*multiRowChunk)
	queries := eventInsertQueries[0]
	var storedAt any
	if r.routedText != nil {
		queries = eventInsertQueries[1]
		storedAt = r.storedAt // boxed once, not per row
	}
	for start := 0; start < len(r.evs); {
		n := multiRowChunk
		for n > len(r.evs)-start {
			n /= 2
		}
		args = args[:0]
		for i := start; i < start+n; i++ {
			ev := &r.evs[i]
			ev.Seq = 0
			args = append(args, ev.ID, ev.EventBusName, ev.Source, ev.DetailType, toMicros(ev.Time),
				ev.AggregateID, ev.AggregateVersion, ev.CorrelationID, replayedArg(ev.Detail), r.payloads[i])
			if r.routedText != nil {
				args = append(args, r.routedText[i], storedAt)
			}
		}
		if err := d.insertEventRows(ctx, tx, queries[n], args, r, first); err != nil {
			return d.wrap(fmt.Sprintf("insert events %s .. %s", r.evs[start].ID, r.evs[start+n-1].ID), err)
		}
		start += n
	}
	// The rows inserted now have their seq (ids stored before get theirs
	// below, and are in event_minutes already).
	if err := d.addMinutes(ctx, tx, r.evs); err != nil {
		return err
	}
	for i := range r.evs {
		ev := &r.evs[i]
		if ev.Seq != 0 {
			continue
		}
		existing, payload, err := scanEventPayload(tx.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE id = ?`, ev.ID))
		if err != nil {
			return d.wrap("read existing event "+ev.ID, err)
		}
		*ev = existing
		r.payloads[i] = payload
		if r.route != nil {
			r.routed[i] = r.route(i, payload)
		}
	}
	return nil
}

// minuteMicros is the width of a row of event_minutes.
const minuteMicros = 60_000_000

// minuteOf is the event_minutes row of an event time (unix microseconds):
// truncated toward zero, as SQLite's integer division does in migration 6.
// It never decreases as t grows, which is what seqRange needs.
func minuteOf(micros int64) int64 { return micros / minuteMicros }

// minuteSeqs is the seq range of the events of one minute.
type minuteSeqs struct{ minute, lo, hi int64 }

// addMinutes widens the event_minutes rows of the events in evs that have a
// seq to cover them.
func (d *DB) addMinutes(ctx context.Context, tx *sql.Tx, evs []providers.StoredEvent) error {
	var ms []minuteSeqs
	at := map[int64]int{} // minute -> its index in ms
	for i := range evs {
		ev := &evs[i]
		if ev.Seq == 0 {
			continue
		}
		m := minuteOf(toMicros(ev.Time))
		k, ok := at[m]
		if !ok {
			at[m] = len(ms)
			ms = append(ms, minuteSeqs{m, ev.Seq, ev.Seq})
			continue
		}
		ms[k].lo, ms[k].hi = min(ms[k].lo, ev.Seq), max(ms[k].hi, ev.Seq)
	}
	args := make([]any, 0, 3*multiRowChunk)
	for start := 0; start < len(ms); {
		n := multiRowChunk
		for n > len(ms)-start {
			n /= 2
		}
		args = args[:0]
		for _, m := range ms[start : start+n] {
			args = append(args, m.minute, m.lo, m.hi)
		}
		if _, err := d.wr.exec(ctx, tx, minuteUpserts[n], args...); err != nil {
			return d.wrap("record event minutes", err)
		}
		start += n
	}
	return nil
}

// minuteUpserts[n] widens n rows of event_minutes; n is a power of two up
// to multiRowChunk.
var minuteUpserts = func() map[int]string {
	m := map[int]string{}
	for n := 1; n <= multiRowChunk; n *= 2 {
		m[n] = `INSERT INTO event_minutes (minute, min_seq, max_seq) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?,?,?),", n), ",") +
			` ON CONFLICT(minute) DO UPDATE SET min_seq = min(min_seq, excluded.min_seq), max_seq = max(max_seq, excluded.max_seq)`
	}
	return m
}()

// insertEventRows runs one multi-row insert and sets the seq of the rows it
// inserted.
func (d *DB) insertEventRows(ctx context.Context, tx *sql.Tx, query string, args []any, r *eventAppend, first map[string]int) error {
	st, err := d.wr.stmt(ctx, tx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq int64
			id  string
		)
		if err := rows.Scan(&seq, &id); err != nil {
			return err
		}
		if i, ok := first[id]; ok {
			r.evs[i].Seq = seq
			r.inserted++
		}
	}
	return rows.Err()
}

// replayedArg is the replayed column's value for an event with detail.
func replayedArg(detail []byte) any {
	if providers.IsReplayDetail(detail) {
		return argOne
	}
	return argZero
}

// argZero and argOne are boxed once, not per row.
var argZero, argOne any = int64(0), int64(1)

const eventCols = `seq, bus, aggregate_id, aggregate_version, correlation_id, payload`

type rowScanner interface{ Scan(...any) error }

func scanEvent(r rowScanner) (providers.StoredEvent, error) {
	se, _, err := scanEventPayload(r)
	return se, err
}

// scanEventPayload is scanEvent that also returns the stored envelope,
// which the event's detail shares.
func scanEventPayload(r rowScanner) (providers.StoredEvent, []byte, error) {
	var (
		se      providers.StoredEvent
		payload []byte
	)
	if err := r.Scan(&se.Seq, &se.EventBusName, &se.AggregateID, &se.AggregateVersion, &se.CorrelationID, &payload); err != nil {
		return se, nil, err
	}
	ev, err := UnmarshalEnvelope(payload)
	if err != nil {
		return se, nil, fmt.Errorf("event seq %d: stored payload: %w", se.Seq, err)
	}
	bus := se.EventBusName
	se.Event = ev
	se.EventBusName = bus
	se.Envelope = payload
	return se, payload, nil
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
// exclusive; AggregateIDs and Types select any of their values;
// ExcludeReplays leaves replays out (in SQLite: they are not read). It reads a
// page at a time, the next one while the caller works on the current one; no
// read transaction outlasts one page's query, so it never blocks writers or
// WAL checkpoints for long. Each event's Envelope is the stored envelope JSON.
func (d *DB) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		after := q.AfterSeq
		// A time window is turned into a seq range first (from the minutes
		// it spans, see seqRange), and pages then walk the table in seq order inside it
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
		// One goroutine reads the next page while the caller works on this
		// one (the read and the caller's work overlap on two cores).
		pages := make(chan eventPageResult, 1)
		stop := make(chan struct{})
		defer close(stop)
		go d.readPages(ctx, q, after, hi, pages, stop)
		for p := range pages {
			if p.err != nil {
				yield(providers.StoredEvent{}, p.err)
				return
			}
			for _, ev := range p.evs {
				if !yield(ev, nil) {
					return
				}
			}
		}
	}
}

type eventPageResult struct {
	evs []providers.StoredEvent
	err error
}

// readPages sends the pages of q after seq after (up to hi when hi >= 0) to
// pages, then closes it; it stops early when stop is closed.
func (d *DB) readPages(ctx context.Context, q providers.EventQuery, after, hi int64, pages chan<- eventPageResult, stop <-chan struct{}) {
	defer close(pages)
	left := q.Limit
	for {
		page := eventPageSize
		if q.Limit > 0 && left < page {
			page = left
		}
		if page == 0 {
			return
		}
		query, args := eventPageQuery(q, after, hi, page)
		evs, err := d.eventPage(ctx, query, args)
		select {
		case pages <- eventPageResult{evs, err}:
		case <-stop:
			return
		}
		if err != nil || len(evs) < page {
			return
		}
		after = evs[len(evs)-1].Seq
		left -= len(evs)
	}
}

// eventPageQuery is the query of one page of Events: page rows of q with
// after < seq (<= hi when hi >= 0), in seq order.
func eventPageQuery(q providers.EventQuery, after, hi int64, page int) (string, []any) {
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
	if q.ExcludeReplays {
		query += ` AND replayed = 0`
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
	return query, args
}

// seqRange returns a seq range that holds every event with since <= time <
// until (zero bounds open), from the event_minutes rows of the minutes the
// window touches: it may hold events of those minutes outside the window,
// which the caller filters by time. ok is false when no event is in those
// minutes.
func (d *DB) seqRange(ctx context.Context, since, until time.Time) (lo, hi int64, ok bool, err error) {
	query := `SELECT min(min_seq), max(max_seq) FROM event_minutes WHERE 1`
	var args []any
	if !since.IsZero() {
		query += ` AND minute >= ?`
		args = append(args, minuteOf(since.UnixMicro()))
	}
	if !until.IsZero() {
		query += ` AND minute <= ?`
		args = append(args, minuteOf(until.UnixMicro()-1)) // until is exclusive
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
	out := make([]providers.StoredEvent, 0, eventPageSize)
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
