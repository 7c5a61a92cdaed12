// Package replay reads stored events from an event store and publishes them
// to a bus again: in order per aggregate, in batches, paced, resumable.
//
// # Pipeline
//
// Stages joined by bounded channels, so memory stays flat however many
// events pass:
//
//	read      providers.EventStore.Events, paged by the store (window,
//	          aggregates and types pushed down to it)
//	select    --since/--until (since inclusive, until exclusive), --aggregate,
//	          --type, --pattern (Config.Match, an EventBridge pattern on the
//	          event's envelope), then --limit counted in replay order
//	order     a sort in bounded memory: up to Config.SpillThreshold bytes
//	          (32 MiB) are sorted in memory; beyond that sorted runs are
//	          written to unlinked temporary files and merged k ways.
//	          OrderAggregate sorts by (aggregate, version, time, id): each
//	          aggregate by version, then time. OrderTime sorts by (time,
//	          aggregate, version, id). Gaps and repeated versions in an
//	          aggregate are reported (Config.OnGap); in time order this
//	          tracks at most 200,000 aggregates.
//	batch     at most 10 entries and 256 KiB per PutEvents request, the
//	          entry size counted as EventBridge documents it (providers.EntrySize);
//	          an entry larger than 256 KiB fails alone (EntryTooLarge). A
//	          bus that takes more per call may be given larger batches
//	          (Config.MaxBatchEntries/MaxBatchBytes; the local bus: 4,000
//	          entries, 4 MiB, since it stores a call in one transaction).
//	publish   providers.EventBus.Publish, at most Config.Concurrency batches
//	          sent and not yet checkpointed; a batch holding an aggregate
//	          waits until no batch in flight holds it, so an aggregate's
//	          batches are published one after another, in order, while
//	          batches of other aggregates read after it overtake it (within
//	          the window below). Entries failing with a retryable code
//	          (InternalFailure, ThrottlingException) are sent again with
//	          exponential backoff (Config.Sleep) up to Config.MaxAttempts;
//	          other codes fail at once. --rate paces with Config.Now/Sleep.
//	checkpoint after acknowledged batches, written while the next ones are
//	          published (see below).
//
// A retried entry reaches the bus after the entries of its batch that
// succeeded the first time, so within one batch an aggregate's order holds
// only when no entry was retried; consumers that must see versions in order
// can use detail._replay.version.
//
// # The replayed event
//
// A replayed event is the stored envelope (source, detail-type, time,
// resources, detail) with a new id, ReplayID(name, event, order), which is
// the same in every run of the replay (a version 8 UUID: 32 bits hashing the
// name, 42 bits following the replay's order — aggregate and version, or
// time — and 48 bits hashing the name and original id, so that a batch's
// ids are neighbours in a store's id index), and a marker added to its
// detail (see Marker):
//
//	"detail": {"_replay": {"replay-name": "fix-orders", "replayed": true,
//	           "originalId": "…", "originalTime": "2026-11-26T10:00:00Z",
//	           "aggregateId": "order-17", "version": 4}, …the original members…}
//
// EventBridge assigns envelope ids itself; there consumers de-duplicate on
// detail._replay's replay-name and originalId.
//
// # Checkpoints and resume
//
// A replay's Selection is stored with its Record, with Until fixed to the
// start time when not given, so that every run selects the same events, and
// the sort is total (ties broken by event id), so every run orders them the
// same way. A checkpoint therefore stores positions as sort keys, not
// offsets:
//
//   - Watermark: every selected event with a key at or below it has been
//     resolved (acknowledged by the bus, or failed for good);
//   - Acked: the key ranges of batches resolved beyond the watermark. With
//     Concurrency > 1, batches are acknowledged out of order; dispatch stays
//     within 4×Concurrency batches of the lowest unresolved one, so Acked
//     holds at most that many ranges.
//
// The record is written (Checkpoints.Put, which must be durable when it
// returns) by one write at a time, in the background: the first
// acknowledged batch starts a write, and the batches acknowledged while it
// is being written share the next one. A batch holds one of the
// Concurrency slots from the moment it is sent until a durable record
// covers it, so at any moment at most Concurrency batches have been sent
// beyond the last durable record, however the writes and the publishes
// interleave. A resumed run (Config.Resume) skips the events the record
// covers and publishes the rest. After kill -9 at any moment:
//
//   - nothing is skipped: an event is covered only once its batch was
//     acknowledged;
//   - what is published twice is at most the batches sent and not yet in a
//     durable record at the kill (in flight, or acknowledged while their
//     checkpoint was being written): one batch with Concurrency 1, at most
//     Concurrency batches otherwise. They carry the same replay ids, so
//     idempotent consumers drop them.
//
// Entries that failed for good are counted (Counts.Failed, first 100 in
// Record.Failures) and not retried by a resume. Events stored after the
// replay started, with times inside the window, are not selected by later
// runs only if they were stored with times past Until.
//
// # Errors
//
// *InputError for invalid flags and names (exit 2 in cmd); errors from the
// store and the bus are returned as they are, wrapped with what was being
// done, keeping their providers.Code.
//
// The package uses only the interfaces in providers: the local provider
// (SQLite store, local bus) and the AWS driver (DynamoDB, EventBridge) plug
// in the same way.
package replay
