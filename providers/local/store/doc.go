// Package store is the local provider's state: one SQLite database,
// <dir>/state.db (pure Go, modernc.org/sqlite), in WAL mode, shared by every
// evcli process of a project — `evcli tail` in one terminal may follow the
// logs that `evcli send` in another is writing.
//
// It holds the deployed functions and their rules, the event store (every
// event ever put on the local bus, with its aggregate id and version and its
// correlation id when the detail carries them), function log lines (each with
// its correlation id: the line's own, else its invocation's), invocation
// records (Lambda REPORT data), delivery outcomes, a small key/value table for
// replay checkpoints, and the registration of a running `evcli local serve`.
//
// # Concurrency and durability
//
// Every *DB opened on one file in a process shares one write connection,
// whose transactions are BEGIN IMMEDIATE; each *DB has its own read pool.
// Writes of one process queue in Go, and writes queued together share one
// transaction (group commit); when one fails, they run again each in its
// own savepoint, so that a failing write undoes only itself; the transaction is fsynced when any write in it
// asked for synchronous=FULL. Writers of different processes wait for each
// other on SQLite's busy handler (15 s) rather than failing. The event
// store, deployments and key/value writes commit with synchronous=FULL (or
// the handle's WithSynchronous): once AppendEvents returns, the events
// survive kill -9 of the process and loss of power.
// AppendEvents inserts with multi-row INSERT OR IGNORE ... RETURNING
// statements (one per row would cost a statement and an AUTOINCREMENT
// update each), and AppendEnvelopes hands the stored envelope bytes back
// so that the bus delivers them without encoding the event again. The
// envelope is encoded, parsed and searched for its aggregate keys by hand,
// byte for byte as encoding/json does (envelope_test.go and the fuzz
// targets compare them), falling back to encoding/json for unusual input.
// Log lines, invocation records and delivery outcomes — frequent, and
// diagnostics rather than the system of record — commit with
// synchronous=NORMAL and multi-row inserts: safe from kill -9 of any process,
// fsynced at the next checkpoint or FULL commit.
//
// Readers never hold a snapshot while the caller works: Events and
// Invocations read a page at a time (iter.Seq2), Logs a page per poll.
//
// Log following (Logs with Follow) is by seq. Because SQLite has a single
// writer at a time and seq is assigned inside the writing transaction, rows
// become visible in seq order, so a reader that asks for "seq > last" in a
// fresh snapshot can neither skip a row nor see one twice, whichever process
// wrote it. Appends through the same *DB wake followers at once; appends by
// other processes are seen within the poll interval (WithPollInterval).
// Each line's Token is its seq; LogsAfter resumes a stream after a token.
//
// # Schema
//
// The schema version is PRAGMA user_version; Open applies missing migrations
// under the write lock, so processes opening a new file at once agree. A file
// written by a newer evcli is refused with an error saying so.
//
// Events are found by seq (primary key), id (unique), aggregate and version,
// and detail-type (indexes). A time window is found without a time index:
// event_minutes keeps the lowest and highest seq stored for each minute of
// event time (schema version 6), so Events walks the seq range of the
// minutes a window spans and filters rows by their exact time. A replay
// appends events with old times all over the window, which a time index took
// as inserts into most of its pages on every commit. Events whose detail has
// a top-level _replay member are flagged (replayed, version 5), so that
// EventQuery.ExcludeReplays leaves them out in SQLite. Delivery outcomes are
// found by their event's seq (version 4), which grows as they are recorded.
//
// # Routing
//
// AppendRouted stores with each event the ids of the rules the bus routed it
// to and the time it was stored (schema version 3; NULL in older rows, which
// are never redelivered). Unfinished walks a seq range for the routed rules
// that have no final delivery outcome, so that deliveries lost with a killed
// process can be redelivered.
//
// # Errors
//
// Errors name the database file and the operation, and for bad input the
// offending entry (events[3], rule "x"). Appending an event id that is already
// stored is not an error: AppendEvents returns the stored row.
package store
