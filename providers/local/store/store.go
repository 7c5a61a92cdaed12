package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the name of the database file inside the directory given to Open.
const FileName = "state.db"

// DB is the local provider's state database. It is safe for concurrent use by
// many goroutines, and several processes may open the same file at once.
type DB struct {
	path string
	// wr is the write side, shared with the other handles of this process
	// on the same file: one connection, every transaction BEGIN IMMEDIATE,
	// so writers of this process queue in Go (and share commits) and writers
	// of other processes wait on SQLite's busy handler instead of failing
	// with SQLITE_BUSY.
	wr *writer
	// r is the read pool (deferred transactions, several connections).
	r *sql.DB

	poll time.Duration
	now  func() time.Time
	sync string

	mu     sync.Mutex
	notify chan struct{} // closed (and replaced) after every log append of this process

	// routedAppended counts the events with routing this handle stored
	// (new rows, not ids stored already); see RoutedAppended.
	routedAppended atomic.Int64
}

// Option configures Open.
type Option func(*DB)

// WithPollInterval sets how often a following reader (Logs with Follow)
// looks for rows appended by other processes. Rows appended through the same
// *DB wake followers at once. Default 100ms.
func WithPollInterval(d time.Duration) Option {
	return func(db *DB) {
		if d > 0 {
			db.poll = d
		}
	}
}

// WithClock injects the clock used for rows whose time the caller left zero.
func WithClock(now func() time.Time) Option {
	return func(db *DB) {
		if now != nil {
			db.now = now
		}
	}
}

// WithSynchronous sets SQLite's synchronous mode for this handle's commits:
// "FULL" (the default) fsyncs every commit, so an acknowledged write survives
// power loss as well as kill -9; "NORMAL" fsyncs only at checkpoints, which
// still survives kill -9 of any process (the WAL is in the OS's page cache)
// but may lose the last commits on power loss, for several times the
// write rate.
func WithSynchronous(mode string) Option {
	return func(db *DB) {
		switch strings.ToUpper(mode) {
		case "FULL", "NORMAL":
			db.sync = strings.ToUpper(mode)
		}
	}
}

// writerPragmas tune the write connection. Inserts land all over the
// growing id and aggregate indexes: mmap lets it read those pages
// without a pread and a copy each (SQLite's own page cache stays at its
// default 2 MB: a larger one costs more at every commit, when it is trimmed).
// A WAL checkpoint every 4000 pages (16 MB) instead of 1000 writes a page
// that several commits changed back to the database once, not every time.
var writerPragmas = []string{"mmap_size(134217728)", "wal_autocheckpoint(4000)"}

// readerPragmas tune the read connections: scans of the event table
// (replay, filter test --since) read its pages through mmap instead of a
// pread and a copy each (1 GiB of address space; the pages stay the OS's).
var readerPragmas = []string{"mmap_size(1073741824)"}

// busyTimeoutMs is how long a statement waits for another process's lock.
const busyTimeoutMs = 15000

// Open opens (creating if needed) dir/state.db, migrating its schema to the
// current version. The state is the user's alone (events, logs, secrets):
// dir is created with mode 0o700 and state.db with 0o600 (SQLite gives its
// -wal and -shm files the database's mode); an older evcli's 0o755 / 0o644
// are tightened when this process owns them.
func Open(dir string, opts ...Option) (*DB, error) {
	if dir == "" {
		return nil, errors.New("store: empty directory; pass the project's .evcli directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	if err := private(dir, path); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", path, err)
	}
	d := &DB{path: path, poll: 100 * time.Millisecond, now: time.Now, sync: "FULL", notify: make(chan struct{})}
	for _, o := range opts {
		o(d)
	}
	var err error
	// synchronous(FULL): a commit is fsynced to the WAL before it returns, so
	// an acknowledged append survives kill -9 and power loss alike.
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs),
		"journal_mode(WAL)",
		"synchronous(" + d.sync + ")",
		"foreign_keys(1)",
		// Statement journals (multi-row inserts) in memory, not temp files.
		"temp_store(MEMORY)",
	}
	dsn := func(txlock string, extra ...string) string {
		v := url.Values{}
		for _, p := range append(pragmas, extra...) {
			v.Add("_pragma", p)
		}
		v.Set("_txlock", txlock)
		return "file:" + uriEscaper.Replace(path) + "?" + v.Encode()
	}
	if d.wr, err = acquireWriter(path, dsn("immediate", writerPragmas...)); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if d.r, err = sql.Open("sqlite", dsn("deferred", readerPragmas...)); err != nil {
		d.wr.release()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	d.r.SetMaxOpenConns(4)
	d.r.SetMaxIdleConns(4)
	// Switching a new file to WAL needs a lock that SQLite's busy handler
	// does not wait for, so processes opening a new file together retry.
	for attempt := 1; ; attempt++ {
		err = d.migrate(context.Background())
		if err == nil {
			break
		}
		if !isBusy(err) || attempt == 100 {
			d.Close()
			return nil, err
		}
		time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
	}
	return d, nil
}

// uriEscaper escapes what a SQLite URI filename would otherwise read as a
// query, a fragment or an escape.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return strings.Contains(err.Error(), "SQLITE_BUSY")
}

// Path is the database file's path.
func (d *DB) Path() string { return d.path }

// Close closes the database. Followers started by Logs end with ctx or when
// their next query fails.
func (d *DB) Close() error {
	var errs []error
	if d.r != nil {
		errs = append(errs, d.r.Close())
	}
	if d.wr != nil {
		errs = append(errs, d.wr.release())
		d.wr = nil
	}
	return errors.Join(errs...)
}

// migrations are applied in order; user_version is the number applied so
// far. Never edit an existing entry: append a new one.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE events (
	seq               INTEGER PRIMARY KEY AUTOINCREMENT,
	id                TEXT NOT NULL UNIQUE,
	bus               TEXT NOT NULL,
	source            TEXT NOT NULL,
	detail_type       TEXT NOT NULL,
	time              INTEGER NOT NULL, -- unix microseconds, UTC
	aggregate_id      TEXT NOT NULL DEFAULT '',
	aggregate_version INTEGER NOT NULL DEFAULT 0,
	correlation_id    TEXT NOT NULL DEFAULT '',
	payload           BLOB NOT NULL     -- the EventBridge envelope JSON
);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_aggregate ON events(aggregate_id, aggregate_version);
CREATE INDEX events_detail_type ON events(detail_type);

CREATE TABLE functions (
	name          TEXT PRIMARY KEY,
	runtime       TEXT NOT NULL,
	handler       TEXT NOT NULL,
	architecture  TEXT NOT NULL,
	memory_mb     INTEGER NOT NULL,
	timeout_s     INTEGER NOT NULL,
	concurrency   INTEGER NOT NULL,
	env           TEXT NOT NULL,       -- JSON object
	code_sha256   TEXT NOT NULL,
	artifact_path TEXT NOT NULL,
	code_dir      TEXT NOT NULL,
	deployed_at   INTEGER NOT NULL,
	correlation   TEXT NOT NULL
);

CREATE TABLE rules (
	id       TEXT PRIMARY KEY,
	bus      TEXT NOT NULL,
	function TEXT NOT NULL,
	pattern  TEXT NOT NULL,
	ord      INTEGER NOT NULL
);
CREATE INDEX rules_function ON rules(function);

CREATE TABLE logs (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	time           INTEGER NOT NULL,
	provider       TEXT NOT NULL,
	function       TEXT NOT NULL,
	request_id     TEXT NOT NULL,
	stream         TEXT NOT NULL,
	correlation_id TEXT NOT NULL,
	message        TEXT NOT NULL
);
CREATE INDEX logs_time ON logs(time);
CREATE INDEX logs_function ON logs(function, seq);

CREATE TABLE invocations (
	rowid_             INTEGER PRIMARY KEY AUTOINCREMENT,
	function           TEXT NOT NULL,
	request_id         TEXT NOT NULL,
	time               INTEGER NOT NULL,
	duration_ms        REAL NOT NULL,
	billed_duration_ms INTEGER NOT NULL,
	memory_size_mb     INTEGER NOT NULL,
	max_memory_used_mb INTEGER NOT NULL,
	init_duration_ms   REAL NOT NULL,
	cpu_time_ms        REAL NOT NULL,
	outcome            TEXT NOT NULL
);
CREATE INDEX invocations_function_time ON invocations(function, time);

CREATE TABLE deliveries (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id       TEXT NOT NULL,
	function       TEXT NOT NULL,
	rule_id        TEXT NOT NULL,
	status         TEXT NOT NULL,
	attempts       INTEGER NOT NULL,
	error          TEXT NOT NULL,
	duration_ms    REAL NOT NULL,
	correlation_id TEXT NOT NULL,
	time           INTEGER NOT NULL
);
CREATE INDEX deliveries_event ON deliveries(event_id);

CREATE TABLE kv (
	ns    TEXT NOT NULL,
	key   TEXT NOT NULL,
	value BLOB NOT NULL,
	PRIMARY KEY (ns, key)
);

CREATE TABLE server (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	addr    TEXT NOT NULL,
	pid     INTEGER NOT NULL,
	started INTEGER NOT NULL
);
`,
	// 2: run-queue wait per invocation (tune separates CPU work from this
	// machine's contention).
	`ALTER TABLE invocations ADD COLUMN cpu_wait_ms REAL NOT NULL DEFAULT 0;`,
	// 3: the rules each event was routed to when it was stored, and when it
	// was stored, so that deliveries a killed process left unfinished are
	// redelivered to those rules only (see Unfinished). Rows stored before
	// have NULLs: unknown, never redelivered. Adding NULL columns rewrites
	// no row.
	// The deliveries index also covers rule and status, so that counting an
	// event's finished rules reads no delivery row.
	`ALTER TABLE events ADD COLUMN routed TEXT;
ALTER TABLE events ADD COLUMN stored INTEGER;
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event ON deliveries(event_id, rule_id, status);`,
	// 4: deliveries are found by their event's seq instead of its id. The
	// bus records outcomes about in the order it stored the events, so
	// this index grows at its end; an index on the ids (random within a
	// replay) took an insert somewhere in a large index for every outcome,
	// and every commit wrote most of its pages to the WAL again. Outcomes of
	// events the store does not hold (NULL event_seq, rare) are found by
	// walking the NULL entries of this index.
	`ALTER TABLE deliveries ADD COLUMN event_seq INTEGER;
UPDATE deliveries SET event_seq = (SELECT seq FROM events WHERE events.id = deliveries.event_id);
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event_seq ON deliveries(event_seq, rule_id, status);`,
	// 5: whether an event is a replay (its detail has a top-level _replay
	// member), so that a replay's query leaves earlier replays' events out
	// in SQLite instead of reading and decoding each of them.
	`ALTER TABLE events ADD COLUMN replayed INTEGER NOT NULL DEFAULT 0;
UPDATE events SET replayed = 1 WHERE instr(payload, '"_replay"') > 0
	AND CASE WHEN json_valid(payload) THEN json_type(payload, '$.detail._replay') END IS NOT NULL;`,
	// 6: the seq range of each minute of event time replaces the time
	// index. A replay appends events with their original times, all over
	// the window: every batch inserted into most pages of that index, and
	// each commit wrote them back to the WAL (a quarter of the store's
	// writing). A time window is now found from the few minutes it spans
	// (see seqRange); rows are still filtered by their exact time.
	`CREATE TABLE event_minutes (
	minute  INTEGER PRIMARY KEY, -- time / 60,000,000: unix minutes, truncated toward zero
	min_seq INTEGER NOT NULL,
	max_seq INTEGER NOT NULL
);
INSERT INTO event_minutes (minute, min_seq, max_seq) SELECT time / 60000000, min(seq), max(seq) FROM events GROUP BY time / 60000000;
DROP INDEX events_time;`,
	// 7: workflow executions (orchestrated sagas): one row per execution
	// with the definition it runs and where to resume it (the state that
	// was about to run and its input, written before the state runs), and
	// its history, one row per event.
	`CREATE TABLE executions (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	workflow       TEXT NOT NULL,
	status         TEXT NOT NULL, -- RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
	definition     BLOB NOT NULL,
	input          BLOB NOT NULL,
	output         BLOB,
	error          TEXT NOT NULL DEFAULT '',
	cause          TEXT NOT NULL DEFAULT '',
	resume_state   TEXT NOT NULL DEFAULT '',
	resume_input   BLOB,
	correlation_id TEXT NOT NULL DEFAULT '',
	redrive_count  INTEGER NOT NULL DEFAULT 0,
	started        INTEGER NOT NULL,
	stopped        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX executions_workflow ON executions(workflow, started);
CREATE TABLE execution_events (
	execution_id TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	time         INTEGER NOT NULL,
	payload      BLOB NOT NULL, -- one history event, JSON
	PRIMARY KEY (execution_id, seq)
);`,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

func (d *DB) migrate(ctx context.Context) error {
	var v int
	if err := d.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return d.wrap("read schema version", err)
	}
	if v == SchemaVersion {
		return nil
	}
	return d.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Re-read inside the write lock: another process may have migrated
		// between our check and BEGIN IMMEDIATE.
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return d.wrap("read schema version", err)
		}
		if v > SchemaVersion {
			return fmt.Errorf("store: %s has schema version %d, this evcli knows up to %d: upgrade evcli, or remove the file to start afresh", d.path, v, SchemaVersion)
		}
		for i := v; i < SchemaVersion; i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return d.wrap(fmt.Sprintf("migration %d", i+1), err)
			}
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion))
		return err
	})
}

// write runs f in a BEGIN IMMEDIATE transaction on the write pool and
// commits with the handle's synchronous mode (FULL unless WithSynchronous):
// for the event store, deployments and checkpoints.
func (d *DB) write(ctx context.Context, f func(ctx context.Context, tx *sql.Tx) error) error {
	return d.writeSync(ctx, d.sync, f)
}

// writeLight commits with synchronous=NORMAL: still safe from kill -9 of any
// process (the WAL is in the OS page cache), not fsynced until the next
// checkpoint. For logs, invocation records and delivery outcomes, which are
// written often and are diagnostics rather than the system of record.
func (d *DB) writeLight(ctx context.Context, f func(ctx context.Context, tx *sql.Tx) error) error {
	return d.writeSync(ctx, "NORMAL", f)
}

func (d *DB) writeSync(ctx context.Context, mode string, f func(ctx context.Context, tx *sql.Tx) error) error {
	if d.wr == nil {
		return d.errReadOnly()
	}
	err := d.wr.run(ctx, mode, f)
	var we *writeError
	if errors.As(err, &we) {
		return d.wrap(we.what, we.err)
	}
	return err
}

// read runs f in a deferred (snapshot) transaction on the read pool.
func (d *DB) read(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := d.r.BeginTx(ctx, nil)
	if err != nil {
		return d.wrap("begin read", err)
	}
	defer tx.Rollback()
	return f(tx)
}

func (d *DB) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isCorrupt(err) {
		return fmt.Errorf("store: %s: %s: %w\n  %s", d.path, what, err, corruptHint)
	}
	return fmt.Errorf("store: %s: %s: %w", d.path, what, err)
}

// multiRowChunk is how many rows one multi-row INSERT carries: one statement
// for many rows saves database/sql's per-call overhead, which dominates a
// small insert.
const multiRowChunk = 64

// insertRows inserts rows (each of len(cols) values) with multi-row INSERT
// statements: "INSERT INTO table (cols) VALUES (...),(...)".
func (d *DB) insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	one := "(" + placeholders(len(cols)) + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	args := make([]any, 0, multiRowChunk*len(cols))
	for start := 0; start < len(rows); start += multiRowChunk {
		chunk := rows[start:min(start+multiRowChunk, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		q := head + strings.TrimSuffix(strings.Repeat(one+",", len(chunk)), ",")
		if _, err := d.wr.exec(ctx, tx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns "?,?,?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// Times are stored as Unix microseconds (UTC): the range covers years 1 to
// 9999, which nanoseconds do not.
func toMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

func (d *DB) signal() {
	d.mu.Lock()
	close(d.notify)
	d.notify = make(chan struct{})
	d.mu.Unlock()
}

func (d *DB) changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.notify
}

// private makes dir 0o700 and the database file 0o600, creating the file
// empty (SQLite takes an empty file as a new database) so that it is never
// readable by others, not even between its creation and a chmod. Tightening
// what exists is best effort: a project another user owns stays readable
// to this one as it was.
func private(dir, path string) error {
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		_ = os.Chmod(dir, 0o700)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case !errors.Is(err, os.ErrExist):
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			_ = os.Chmod(p, 0o600)
		}
	}
	return nil
}
