package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
)

// writer is the write side of one database file in this process, shared by
// every *DB opened on that file (a command opens the file twice: one handle
// with synchronous=FULL for the event store and one with NORMAL for
// checkpoints). Writes queue in Go instead of meeting on SQLite's lock,
// whose busy handler sleeps 1, 2, 5, 10… ms per retry; and concurrent writes
// share transactions (group commit): the first caller leads, and runs every
// write queued meanwhile in one transaction, with one commit and at most one
// fsync for all of them. When one of them fails, the transaction is undone
// and they run again, each in its own savepoint, so that one write's error
// undoes only that write. A write returns only after the transaction that
// holds it committed, with the durability its caller asked for: the commit
// is fsynced (synchronous=FULL) when any write in it asked for FULL.
type writer struct {
	key  string
	refs int // handles using it; guarded by writersMu
	db   *sql.DB

	mu      sync.Mutex
	queue   []*writeReq
	leading bool

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	want   map[string]bool // queries to prepare after the transaction

	// conn and mode: the connection and the synchronous mode last set on
	// it; used only by the leader.
	conn any
	mode string
}

// maxStmts bounds the statements a writer keeps prepared.
const maxStmts = 256

// stmt returns query prepared in tx, reusing the statement prepared on the
// writer's connection before: parsing and planning an INSERT costs about as
// much as running it for a few rows. A query seen for the first time is
// prepared in tx only, and on the connection once the transaction is over
// (preparing on the pool now would wait for the connection tx holds).
func (w *writer) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	w.stmtMu.Lock()
	st := w.stmts[query]
	if st == nil && len(w.stmts)+len(w.want) < maxStmts {
		if w.want == nil {
			w.want = map[string]bool{}
		}
		w.want[query] = true
	}
	w.stmtMu.Unlock()
	if st == nil {
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// prepareWanted prepares on the connection the queries stmt saw for the
// first time. Called by the leader between transactions.
func (w *writer) prepareWanted() {
	w.stmtMu.Lock()
	defer w.stmtMu.Unlock()
	for q := range w.want {
		st, err := w.db.PrepareContext(context.Background(), q)
		if err != nil {
			continue // prepared in each transaction instead
		}
		if w.stmts == nil {
			w.stmts = map[string]*sql.Stmt{}
		}
		w.stmts[q] = st
	}
	clear(w.want)
}

// exec runs query in tx with a cached statement.
func (w *writer) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// writeReq is one write waiting for its transaction.
type writeReq struct {
	ctx  context.Context
	mode string // "FULL" or "NORMAL"
	f    func(ctx context.Context, tx *sql.Tx) error
	err  error
	lead bool          // set when it is handed the leader's role
	done chan struct{} // closed when committed, or when made leader
}

var (
	writersMu sync.Mutex
	writers   = map[string]*writer{}
)

// writerKey names a file for sharing writers: its absolute, cleaned path.
func writerKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// acquireWriter returns the process's writer for path, opening it with
// dsn when there is none.
func acquireWriter(path, dsn string) (*writer, error) {
	key := writerKey(path)
	writersMu.Lock()
	defer writersMu.Unlock()
	if w := writers[key]; w != nil {
		w.refs++
		return w, nil
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	w := &writer{key: key, refs: 1, db: db}
	writers[key] = w
	return w, nil
}

// release drops one handle's use of w, closing it after the last.
func (w *writer) release() error {
	writersMu.Lock()
	defer writersMu.Unlock()
	w.refs--
	if w.refs > 0 {
		return nil
	}
	delete(writers, w.key)
	return w.db.Close()
}

// run runs f in a write transaction shared with the writes queued at the
// same time, and returns f's error or the commit's. A write already queued
// is not abandoned when ctx ends (it may commit, and its caller must learn
// whether it did): ctx is checked before f starts, and f gets a context
// without its cancellation, since a statement interrupted mid-way would roll
// back the whole shared transaction.
func (w *writer) run(ctx context.Context, mode string, f func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, mode: mode, f: f, done: make(chan struct{})}
	w.mu.Lock()
	w.queue = append(w.queue, req)
	if w.leading {
		w.mu.Unlock()
		<-req.done
		if !req.lead {
			return req.err
		}
		w.mu.Lock()
	} else {
		w.leading = true
	}
	batch := w.queue
	w.queue = nil
	w.mu.Unlock()

	w.commit(batch)
	w.prepareWanted()
	for _, r := range batch {
		if r != req {
			close(r.done)
		}
	}
	w.mu.Lock()
	if len(w.queue) > 0 {
		next := w.queue[0]
		next.lead = true
		close(next.done)
	} else {
		w.leading = false
	}
	w.mu.Unlock()
	return req.err
}

// commit runs batch in one transaction and sets each request's err.
func (w *writer) commit(batch []*writeReq) {
	fail := func(what string, err error) {
		for _, r := range batch {
			if r.err == nil {
				r.err = &writeError{what, err}
			}
		}
	}
	ctx := context.Background()
	mode := "NORMAL"
	for _, r := range batch {
		if r.mode == "FULL" {
			mode = "FULL"
		}
	}
	conn, err := w.db.Conn(ctx)
	if err != nil {
		fail("begin write", err)
		return
	}
	defer conn.Close()
	// The pool has one connection; remember its mode so that the pragma runs
	// only when the mode changes (or the connection was replaced).
	var dc any
	conn.Raw(func(c any) error { dc = c; return nil })
	if dc != w.conn || mode != w.mode {
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
			w.conn = nil
			fail("set synchronous", err)
			return
		}
		w.conn, w.mode = dc, mode
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		fail("begin write", err)
		return
	}
	if len(batch) == 1 {
		r := batch[0]
		if r.err = r.ctx.Err(); r.err != nil {
			tx.Rollback()
			return
		}
		if r.err = r.f(context.WithoutCancel(r.ctx), tx); r.err != nil {
			tx.Rollback()
			return
		}
	} else {
		// First without savepoints: a savepoint copies every page a write
		// touches into a statement journal, which for a large append costs
		// more than the insert. Writes seldom fail (their input is checked
		// before); when one does, the transaction is undone and the writes
		// run again, each in its own savepoint.
		ran, ok := 0, true
		for _, r := range batch {
			if r.err = r.ctx.Err(); r.err != nil {
				continue
			}
			if r.err = r.f(context.WithoutCancel(r.ctx), tx); r.err != nil {
				ok = false
				break
			}
			ran++
		}
		if !ok {
			tx.Rollback()
			for _, r := range batch {
				r.err = nil
			}
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				fail("begin write", err)
				return
			}
			if ran, ok = w.runSavepoints(ctx, tx, batch, fail); !ok {
				return
			}
		}
		if ran == 0 {
			tx.Rollback()
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail("commit", err)
	}
}

// runSavepoints runs each write of batch in tx in its own savepoint, so
// that one write's error undoes only that write, and returns how many ran.
// ok is false when the transaction as a whole failed (and was rolled back).
func (w *writer) runSavepoints(ctx context.Context, tx *sql.Tx, batch []*writeReq, fail func(string, error)) (ran int, ok bool) {
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if _, err := w.exec(ctx, tx, "SAVEPOINT w"); err != nil {
			tx.Rollback()
			fail("savepoint", err)
			return ran, false
		}
		if r.err = r.f(context.WithoutCancel(r.ctx), tx); r.err != nil {
			// An error that ended the whole transaction (I/O, disk
			// full) makes ROLLBACK TO fail: then nothing commits.
			if _, err := w.exec(ctx, tx, "ROLLBACK TO w"); err != nil {
				tx.Rollback()
				fail(fmt.Sprintf("roll back a failed write (%v)", r.err), err)
				return ran, false
			}
		} else {
			ran++
		}
		if _, err := w.exec(ctx, tx, "RELEASE w"); err != nil {
			tx.Rollback()
			fail("release savepoint", err)
			return ran, false
		}
	}
	return ran, true
}

// writeError is an error of the shared transaction rather than of one
// write; DB.wrap names the file.
type writeError struct {
	what string
	err  error
}

func (e *writeError) Error() string { return e.what + ": " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
