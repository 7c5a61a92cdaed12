package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evcli/evcli/providers"
)

// logPageSize is how many log rows one query reads.
const logPageSize = 512

// AppendLogs stores lines in one transaction, in order. Each gets the next
// seq, which Logs reports as the line's Token. Provider defaults to "local",
// a zero Time to now. A line's correlation id is kept in its own column:
// the JSON line's own correlationId (or correlation_id), else l.CorrelationID.
func (d *DB) AppendLogs(ctx context.Context, lines []providers.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	rows := make([][]any, len(lines))
	for i, l := range lines {
		if l.Time.IsZero() {
			l.Time = d.now()
		}
		if l.Provider == "" {
			l.Provider = "local"
		}
		// The line's own id wins over the invocation's: a handler that
		// names a correlation id in a line says which flow that line is
		// about (a compensation or a batch logging the orders it touches),
		// and tail reads the same id from the message, so the column and
		// what tail shows agree. The invocation's id (the delivery's) is
		// for the lines that name none: START, END, REPORT, plain text.
		corr := logCorrelation(l.Message)
		if corr == "" {
			corr = l.CorrelationID
		}
		rows[i] = []any{toMicros(l.Time), l.Provider, l.Function, l.RequestID, l.Stream, corr, l.Message}
	}
	err := d.writeLight(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return d.wrap(fmt.Sprintf("insert %d log lines", len(lines)),
			d.insertRows(ctx, tx, "logs", []string{"time", "provider", "function", "request_id", "stream", "correlation_id", "message"}, rows))
	})
	if err == nil {
		d.signal()
	}
	return err
}

// logCorrelation extracts a top-level correlation id from a JSON log line.
func logCorrelation(msg string) string {
	s := strings.TrimSpace(msg)
	if !strings.HasPrefix(s, "{") || !strings.Contains(s, "orrelation") {
		return ""
	}
	var v struct {
		A json.RawMessage `json:"correlationId"`
		B json.RawMessage `json:"correlation_id"`
	}
	if json.Unmarshal([]byte(s), &v) != nil {
		return ""
	}
	return providers.FirstScalar(v.A, v.B)
}

// Logs streams the stored lines of q.Functions (all when empty) whose time is
// at or after q.Since, in seq order; with q.Follow it then goes on with lines
// that any process appends, until ctx is done.
//
// Why following by seq has neither gaps nor duplicates: SQLite admits one
// writer at a time (the WAL write lock, across processes), and seq is
// assigned inside the writing transaction, so transactions commit in seq
// order and every read snapshot holds exactly the rows up to some seq. Each
// poll is one fresh read transaction that reads the rows after the last seq
// seen and, in the same snapshot, max(seq); when the page was not full the
// cursor moves to that max, so rows of other functions are never scanned
// twice and no row committed later can have a lower seq.
//
// The line channel is closed when the stream ends; a terminal error (not
// ctx's) is sent on the error channel first, which is closed after it.
func (d *DB) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	return d.LogsAfter(ctx, q, "")
}

// LogsAfter is Logs resuming after the line whose Token is token (""
// for the start): a follower that lost its stream picks up where it was,
// with nothing skipped and nothing repeated.
func (d *DB) LogsAfter(ctx context.Context, q providers.LogQuery, token string) (<-chan providers.LogLine, <-chan error) {
	out := make(chan providers.LogLine, logPageSize)
	errc := make(chan error, 1)
	var after int64
	if token != "" {
		n, err := strconv.ParseInt(token, 10, 64)
		if err != nil || n < 0 {
			errc <- fmt.Errorf("store: log token %q is not a seq; pass the Token of a line from this store", token)
			close(errc)
			close(out)
			return out, errc
		}
		after = n
	}
	go func() {
		defer close(errc)
		defer close(out)
		if err := d.followLogs(ctx, q, &after, out); err != nil && ctx.Err() == nil {
			errc <- err
		}
	}()
	return out, errc
}

func (d *DB) followLogs(ctx context.Context, q providers.LogQuery, after *int64, out chan<- providers.LogLine) error {
	var ticker *time.Ticker
	for {
		// Register for in-process wake-ups before reading, so an append
		// that commits during the read is not missed.
		wake := d.changed()
		full, err := d.logPage(ctx, q, after, out)
		if err != nil {
			return err
		}
		if full {
			continue
		}
		if !q.Follow {
			return nil
		}
		if ticker == nil {
			ticker = time.NewTicker(d.poll)
			defer ticker.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-ticker.C:
		}
	}
}

// logPage sends one page of lines after *after and advances it; full says
// whether the page was full (more rows may follow at once). Everything is
// read in one snapshot. With several functions, each function's lines are
// read along the (function, seq) index and merged here, so no page has to
// sort the functions' whole remaining backlog.
func (d *DB) logPage(ctx context.Context, q providers.LogQuery, after *int64, out chan<- providers.LogLine) (bool, error) {
	base := `SELECT seq, time, provider, function, request_id, stream, correlation_id, message FROM logs WHERE seq > ?`
	// The unary + keeps the planner off the time index (time is a filter).
	if !q.Since.IsZero() {
		base += ` AND +time >= ?`
	}
	fns := q.Functions
	if len(fns) == 0 {
		fns = []string{""}
	}
	var (
		page []providers.LogLine
		seqs []int64
		full bool
		max  sql.NullInt64
	)
	err := d.read(ctx, func(tx *sql.Tx) error {
		for _, fn := range fns {
			query, args := base, []any{*after}
			if !q.Since.IsZero() {
				args = append(args, q.Since.UnixMicro())
			}
			if fn != "" {
				query += ` AND function = ?`
				args = append(args, fn)
			}
			query += ` ORDER BY seq LIMIT ?`
			args = append(args, logPageSize)
			n, err := d.readLogRows(ctx, tx, query, args, &page, &seqs)
			if err != nil {
				return err
			}
			if n == logPageSize {
				full = true
			}
		}
		if !full && len(page) <= logPageSize {
			// Same snapshot: nothing matching lies between the last row and max.
			return d.wrap("read last log seq", tx.QueryRowContext(ctx, `SELECT max(seq) FROM logs`).Scan(&max))
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if len(fns) > 1 {
		idx := make([]int, len(page))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(seqs[a], seqs[b]) })
		sorted := make([]providers.LogLine, len(page))
		sortedSeqs := make([]int64, len(page))
		for i, j := range idx {
			sorted[i], sortedSeqs[i] = page[j], seqs[j]
		}
		page, seqs = sorted, sortedSeqs
	}
	if len(page) > logPageSize {
		// Rows past the first page are read again next time, in order.
		page, seqs, full = page[:logPageSize], seqs[:logPageSize], true
	}
	for _, l := range page {
		select {
		case out <- l:
		case <-ctx.Done():
			return false, nil
		}
	}
	if len(page) > 0 {
		*after = seqs[len(seqs)-1]
	}
	if !full && max.Int64 > *after {
		*after = max.Int64
	}
	return full, nil
}

func (d *DB) readLogRows(ctx context.Context, tx *sql.Tx, query string, args []any, page *[]providers.LogLine, seqs *[]int64) (int, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, d.wrap("query logs", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			l       providers.LogLine
			seq, ts int64
		)
		if err := rows.Scan(&seq, &ts, &l.Provider, &l.Function, &l.RequestID, &l.Stream, &l.CorrelationID, &l.Message); err != nil {
			return n, d.wrap("scan log line", err)
		}
		l.Time = fromMicros(ts)
		l.Token = strconv.FormatInt(seq, 10)
		*page = append(*page, l)
		*seqs = append(*seqs, seq)
		n++
	}
	return n, d.wrap("query logs", rows.Err())
}

var _ providers.LogSource = (*DB)(nil)
