package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/evcli/evcli/providers"
)

// EnvelopePage is a page of stored envelopes, in seq order: what EachEnvelopes
// hands a reader (providers.EnvelopePage).
type EnvelopePage = providers.EnvelopePage

// EachEnvelopes calls fn with the envelopes of the events q selects (Since,
// Until and Types; the other fields must be zero), a page at a time, read by
// up to readers connections over disjoint seq ranges: fn is called from
// several goroutines at once, and pages come in no particular order (each
// page is in seq order). A page's envelopes are the driver's bytes, valid
// until fn returns. Nothing is decoded: this is the read path of a scan
// that matches the stored bytes (`evcli filter test --since`).
func (d *DB) EachEnvelopes(ctx context.Context, q providers.EventQuery, readers int, fn func(EnvelopePage) error) error {
	if len(q.AggregateIDs) > 0 || q.AfterSeq != 0 || q.Limit != 0 || q.ExcludeReplays {
		return fmt.Errorf("store: EachEnvelopes takes Since, Until and Types only")
	}
	lo, hi := int64(1), int64(0)
	if !q.Since.IsZero() || !q.Until.IsZero() {
		l, h, ok, err := d.seqRange(ctx, q.Since, q.Until)
		if err != nil || !ok {
			return err
		}
		lo, hi = l, h
	} else {
		last, err := d.LastEventSeq(ctx)
		if err != nil {
			return err
		}
		hi = last
	}
	if hi < lo {
		return nil
	}
	readers = max(1, min(readers, 4)) // the read pool holds 4 connections
	span := (hi - lo + int64(readers)) / int64(readers)
	g, ctx := errgroup.WithContext(ctx)
	for r := 0; r < readers; r++ {
		from, to := lo+int64(r)*span, min(hi, lo+int64(r+1)*span-1)
		if from > to {
			break
		}
		g.Go(func() error { return d.envelopeRange(ctx, q, from, to, fn) })
	}
	return g.Wait()
}

// envelopePageSize is how many rows one query of EachEnvelopes reads.
const envelopePageSize = 2048

func (d *DB) envelopeRange(ctx context.Context, q providers.EventQuery, from, to int64, fn func(EnvelopePage) error) error {
	types := map[string]string{}
	after := from - 1
	for after < to {
		// One row per page: SQLite joins the page's envelopes with
		// newlines (a compact envelope has none), which costs far less
		// than a database/sql row per event.
		inner := `SELECT seq, payload FROM events WHERE seq > ? AND seq <= ?`
		args := []any{after, to}
		if !q.Since.IsZero() {
			inner += ` AND +time >= ?`
			args = append(args, q.Since.UnixMicro())
		}
		if !q.Until.IsZero() {
			inner += ` AND +time < ?`
			args = append(args, q.Until.UnixMicro())
		}
		if len(q.Types) > 0 {
			inner += ` AND +detail_type IN (` + placeholders(len(q.Types)) + `)`
			for _, t := range q.Types {
				args = append(args, t)
			}
		}
		inner += ` ORDER BY seq LIMIT ?`
		args = append(args, envelopePageSize)
		var (
			n           int
			first, last sql.NullInt64
			all         sql.RawBytes
		)
		// The page as a BLOB and scanned into RawBytes: the driver's
		// bytes, not a string copied twice more (TEXT to string to
		// []byte). They stay valid until rows.Close, after fn.
		rows, err := d.r.QueryContext(ctx, `SELECT count(*), min(seq), max(seq), CAST(group_concat(payload, char(10)) AS BLOB) FROM (`+inner+`)`, args...)
		if err != nil {
			return d.wrap("query envelopes", err)
		}
		if !rows.Next() {
			err := rows.Err()
			rows.Close()
			if err == nil {
				err = sql.ErrNoRows
			}
			return d.wrap("query envelopes", err)
		}
		if err := rows.Scan(&n, &first, &last, &all); err != nil {
			rows.Close()
			return d.wrap("query envelopes", err)
		}
		if n == 0 {
			return rows.Close()
		}
		p := EnvelopePage{FirstSeq: first.Int64, DetailTypes: make([]string, 0, n), Envelopes: make([][]byte, 0, n)}
		for len(all) > 0 {
			i := bytes.IndexByte(all, '\n')
			if i < 0 {
				i = len(all)
			}
			env := all[:i:i]
			all = all[min(i+1, len(all)):]
			typ := envelopeDetailType(env)
			t, ok := types[string(typ)]
			if !ok {
				t = string(typ)
				types[t] = t
			}
			p.DetailTypes, p.Envelopes = append(p.DetailTypes, t), append(p.Envelopes, env)
		}
		if len(p.Envelopes) != n {
			rows.Close()
			return fmt.Errorf("store: envelope page after seq %d: %d envelopes, %d rows", after, len(p.Envelopes), n)
		}
		after = last.Int64
		err = fn(p)
		if cerr := rows.Close(); err == nil && cerr != nil {
			err = d.wrap("query envelopes", cerr)
		}
		if err != nil {
			return err
		}
		if n < envelopePageSize {
			return nil
		}
	}
	return nil
}

// envelopeDetailType returns the detail-type of a stored envelope: the raw
// string after `"detail-type":` (MarshalEnvelope puts it third), unescaped
// only when it has escapes.
func envelopeDetailType(env []byte) []byte {
	const key = `"detail-type":"`
	i := bytes.Index(env, []byte(key))
	if i < 0 {
		return nil
	}
	i += len(key)
	end, esc := skipString(env, i-1)
	if end < 0 || end-1 < i {
		return nil
	}
	if !esc {
		return env[i : end-1]
	}
	var s string
	if json.Unmarshal(env[i-1:end], &s) != nil {
		return nil
	}
	return []byte(s)
}
