package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/evcli/evcli/providers"
)

// AppendInvocation stores one invocation's REPORT data.
func (d *DB) AppendInvocation(ctx context.Context, r providers.InvocationRecord) error {
	if r.Function == "" {
		return errors.New("store: AppendInvocation: empty function name")
	}
	if r.Time.IsZero() {
		r.Time = d.now()
	}
	return d.writeLight(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO invocations
			(function, request_id, time, duration_ms, billed_duration_ms, memory_size_mb, max_memory_used_mb, init_duration_ms, cpu_time_ms, outcome, cpu_wait_ms)
			VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			r.Function, r.RequestID, toMicros(r.Time), r.DurationMs, r.BilledDurationMs, r.MemorySizeMB,
			r.MaxMemoryUsedMB, r.InitDurationMs, r.CPUTimeMs, r.Outcome, r.CPUWaitMs)
		return d.wrap("insert invocation of "+r.Function, err)
	})
}

// Invocations yields function's invocation records (every function's when
// function is "") with since <= Time < until (zero bounds are open), oldest
// first, a page at a time.
func (d *DB) Invocations(ctx context.Context, function string, since, until time.Time) iter.Seq2[providers.InvocationRecord, error] {
	return func(yield func(providers.InvocationRecord, error) bool) {
		var afterTime, afterRow int64 = -1 << 63, 0
		if !since.IsZero() {
			afterTime, afterRow = since.UnixMicro(), -1
		}
		const page = 512
		for {
			query := `SELECT rowid_, function, request_id, time, duration_ms, billed_duration_ms, memory_size_mb,
				max_memory_used_mb, init_duration_ms, cpu_time_ms, outcome, cpu_wait_ms FROM invocations
				WHERE (time > ? OR (time = ? AND rowid_ > ?))`
			args := []any{afterTime, afterTime, afterRow}
			if function != "" {
				query += ` AND function = ?`
				args = append(args, function)
			}
			if !until.IsZero() {
				query += ` AND time < ?`
				args = append(args, until.UnixMicro())
			}
			query += ` ORDER BY time, rowid_ LIMIT ?`
			args = append(args, page)
			recs, rowids, err := d.invocationPage(ctx, query, args)
			if err != nil {
				yield(providers.InvocationRecord{}, err)
				return
			}
			for i, r := range recs {
				if !yield(r, nil) {
					return
				}
				afterTime, afterRow = r.Time.UnixMicro(), rowids[i]
			}
			if len(recs) < page {
				return
			}
		}
	}
}

func (d *DB) invocationPage(ctx context.Context, query string, args []any) ([]providers.InvocationRecord, []int64, error) {
	rows, err := d.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, d.wrap("query invocations", err)
	}
	defer rows.Close()
	var (
		out []providers.InvocationRecord
		ids []int64
	)
	for rows.Next() {
		var (
			r      providers.InvocationRecord
			id, ts int64
		)
		if err := rows.Scan(&id, &r.Function, &r.RequestID, &ts, &r.DurationMs, &r.BilledDurationMs, &r.MemorySizeMB,
			&r.MaxMemoryUsedMB, &r.InitDurationMs, &r.CPUTimeMs, &r.Outcome, &r.CPUWaitMs); err != nil {
			return nil, nil, d.wrap("scan invocation", err)
		}
		r.Time = fromMicros(ts)
		out = append(out, r)
		ids = append(ids, id)
	}
	return out, ids, d.wrap("query invocations", rows.Err())
}

var _ providers.MetricsSource = (*DB)(nil)

// Delivery statuses.
const (
	DeliveryOK       = "ok"
	DeliveryFailed   = "failed"
	DeliveryRetrying = "retrying"
)

// Delivery is the outcome of one attempt to deliver an event to a target:
// "retrying" for a failed attempt that will be retried, "ok" or "failed"
// for the final one.
type Delivery struct {
	ID      int64
	EventID string
	// EventSeq is the event's seq in the store. Deliveries are found by
	// it: RecordDeliveries looks it up by EventID when it is 0 (a delivery
	// of an event the store does not hold is found by its EventID).
	EventSeq      int64
	Function      string
	RuleID        string
	Status        string
	Attempts      int
	Error         string
	DurationMs    float64
	CorrelationID string
	Time          time.Time
	// DetailType is the delivered event's; Published the detail-types of
	// the events the invocation published. Both are reported by Wait and
	// not stored (the events table holds them).
	DetailType string   `json:",omitempty"`
	Published  []string `json:",omitempty"`
}

// Final reports whether the delivery is a final outcome (ok or failed).
func (dl Delivery) Final() bool { return dl.Status == DeliveryOK || dl.Status == DeliveryFailed }

// RecordDelivery stores one delivery outcome. A zero Time is now.
func (d *DB) RecordDelivery(ctx context.Context, dl Delivery) error {
	return d.RecordDeliveries(ctx, []Delivery{dl})
}

// RecordDeliveries stores several delivery outcomes in one transaction (one
// fsync), in order.
func (d *DB) RecordDeliveries(ctx context.Context, dls []Delivery) error {
	for _, dl := range dls {
		switch dl.Status {
		case DeliveryOK, DeliveryFailed, DeliveryRetrying:
		default:
			return fmt.Errorf("store: delivery of %s to %s: status %q is not one of ok, failed, retrying", dl.EventID, dl.Function, dl.Status)
		}
	}
	if len(dls) == 0 {
		return nil
	}
	return d.writeLight(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows := make([][]any, len(dls))
		for i, dl := range dls {
			if dl.Time.IsZero() {
				dl.Time = d.now()
			}
			var seq any = dl.EventSeq
			if dl.EventSeq == 0 {
				var n sql.NullInt64
				err := tx.QueryRowContext(ctx, `SELECT seq FROM events WHERE id = ?`, dl.EventID).Scan(&n)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return d.wrap("look up event "+dl.EventID+" of a delivery", err)
				}
				seq = n
			}
			rows[i] = []any{seq, dl.EventID, dl.Function, dl.RuleID, dl.Status, dl.Attempts, dl.Error, dl.DurationMs, dl.CorrelationID, toMicros(dl.Time)}
		}
		return d.wrap(fmt.Sprintf("record %d delivery outcomes", len(dls)), d.insertRows(ctx, tx, "deliveries", deliveryInsertCols, rows))
	})
}

var deliveryInsertCols = []string{"event_seq", "event_id", "function", "rule_id", "status", "attempts", "error", "duration_ms", "correlation_id", "time"}

// Deliveries lists the delivery outcomes of the given events (every event's
// when eventIDs is empty) in the order they were recorded.
func (d *DB) Deliveries(ctx context.Context, eventIDs []string) ([]Delivery, error) {
	var out []Delivery
	const chunk = 500 // stays under SQLite's bound-parameter limit
	for start := 0; start < len(eventIDs) || (start == 0 && len(eventIDs) == 0); start += chunk {
		query := `SELECT id, event_seq, event_id, function, rule_id, status, attempts, error, duration_ms, correlation_id, time FROM deliveries`
		var args []any
		if len(eventIDs) > 0 {
			ids := eventIDs[start:min(start+chunk, len(eventIDs))]
			query += ` WHERE event_seq IN (SELECT seq FROM events WHERE id IN (` + placeholders(len(ids)) + `))` +
				` OR (event_seq IS NULL AND event_id IN (` + placeholders(len(ids)) + `))`
			for range 2 {
				for _, id := range ids {
					args = append(args, id)
				}
			}
		}
		query += ` ORDER BY id`
		rows, err := d.r.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, d.wrap("query deliveries", err)
		}
		for rows.Next() {
			var (
				dl  Delivery
				seq sql.NullInt64
				ts  int64
			)
			if err := rows.Scan(&dl.ID, &seq, &dl.EventID, &dl.Function, &dl.RuleID, &dl.Status, &dl.Attempts, &dl.Error,
				&dl.DurationMs, &dl.CorrelationID, &ts); err != nil {
				rows.Close()
				return nil, d.wrap("scan delivery", err)
			}
			dl.EventSeq, dl.Time = seq.Int64, fromMicros(ts)
			out = append(out, dl)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, d.wrap("query deliveries", err)
		}
		if len(eventIDs) == 0 {
			break
		}
	}
	if len(eventIDs) > chunk {
		slices.SortFunc(out, func(a, b Delivery) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// PutKV sets ns/key to value.
func (d *DB) PutKV(ctx context.Context, ns, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := d.wr.exec(ctx, tx, `INSERT INTO kv (ns, key, value) VALUES (?,?,?)
			ON CONFLICT(ns, key) DO UPDATE SET value = excluded.value`, ns, key, value)
		return d.wrap("put "+ns+"/"+key, err)
	})
}

// EnsureKV sets ns/key to value unless it is set already, and returns what
// it holds then: of several processes racing to create it, all get the
// value the first one stored.
func (d *DB) EnsureKV(ctx context.Context, ns, key string, value []byte) ([]byte, error) {
	var out []byte
	err := d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kv (ns, key, value) VALUES (?,?,?) ON CONFLICT(ns, key) DO NOTHING`, ns, key, value); err != nil {
			return d.wrap("put "+ns+"/"+key, err)
		}
		return d.wrap("get "+ns+"/"+key, tx.QueryRowContext(ctx, `SELECT value FROM kv WHERE ns = ? AND key = ?`, ns, key).Scan(&out))
	})
	return out, err
}

// GetKV reads ns/key; ok is false when it is not set.
func (d *DB) GetKV(ctx context.Context, ns, key string) ([]byte, bool, error) {
	var v []byte
	err := d.r.QueryRowContext(ctx, `SELECT value FROM kv WHERE ns = ? AND key = ?`, ns, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, d.wrap("get "+ns+"/"+key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// DeleteKV removes ns/key (no error when it is not set).
func (d *DB) DeleteKV(ctx context.Context, ns, key string) error {
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM kv WHERE ns = ? AND key = ?`, ns, key)
		return d.wrap("delete "+ns+"/"+key, err)
	})
}

// ListKV returns every key of ns with its value.
func (d *DB) ListKV(ctx context.Context, ns string) (map[string][]byte, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT key, value FROM kv WHERE ns = ?`, ns)
	if err != nil {
		return nil, d.wrap("list "+ns, err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var (
			k string
			v []byte
		)
		if err := rows.Scan(&k, &v); err != nil {
			return nil, d.wrap("list "+ns, err)
		}
		if v == nil {
			v = []byte{}
		}
		out[k] = v
	}
	return out, d.wrap("list "+ns, rows.Err())
}

// SetServer registers the running `evcli local serve` (its address and
// process id), replacing any earlier registration.
func (d *DB) SetServer(ctx context.Context, addr string, pid int) error {
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO server (id, addr, pid, started) VALUES (1,?,?,?)
			ON CONFLICT(id) DO UPDATE SET addr = excluded.addr, pid = excluded.pid, started = excluded.started`,
			addr, pid, toMicros(d.now()))
		return d.wrap("register server", err)
	})
}

// Server returns the registered server; ok is false when none is. The caller
// decides whether the process is still alive (a killed server cannot
// unregister itself).
func (d *DB) Server(ctx context.Context) (addr string, pid int, ok bool, err error) {
	err = d.r.QueryRowContext(ctx, `SELECT addr, pid FROM server WHERE id = 1`).Scan(&addr, &pid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, d.wrap("read server", err)
	}
	return addr, pid, true, nil
}

// ClearServer removes the registration if it is pid's (a newer server's
// registration is left alone).
func (d *DB) ClearServer(ctx context.Context, pid int) error {
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM server WHERE id = 1 AND pid = ?`, pid)
		return d.wrap("unregister server", err)
	})
}
