package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

func uev(id string) providers.StoredEvent {
	return providers.StoredEvent{Event: providers.Event{ID: id, Source: "s", DetailType: "T", Detail: json.RawMessage(`{}`)}}
}

// unfinished collects Unfinished as "id:rule" strings.
func unfinished(t *testing.T, db *DB, after, through int64, since time.Time) []string {
	t.Helper()
	var out []string
	for u, err := range db.Unfinished(context.Background(), after, through, since) {
		if err != nil {
			t.Fatal(err)
		}
		if u.Event.Seq == 0 || len(u.Payload) == 0 {
			t.Fatalf("Unfinished yielded %+v without its row", u)
		}
		for _, r := range u.Rules {
			out = append(out, u.Event.ID+":"+r)
		}
	}
	return out
}

func TestAppendRoutedRecordsRoutingAndUnfinishedFollowsOutcomes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	routes := map[string][]string{"a": {"r1", "r2"}, "b": nil, "c": {"r2"}}
	route := func(i int, env []byte) []string {
		var e providers.Event
		if err := json.Unmarshal(env, &e); err != nil {
			t.Fatalf("route got %s: %v", env, err)
		}
		return routes[e.ID]
	}
	// More than a page, so that paging and multi-row inserts are crossed.
	batch := []providers.StoredEvent{uev("a"), uev("b"), uev("c")}
	for i := range 300 {
		batch = append(batch, uev(fmt.Sprintf("n%03d", i)))
	}
	_, _, routed, err := db.AppendRouted(ctx, batch, route)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(routed[0], []string{"r1", "r2"}) || routed[1] != nil || !slices.Equal(routed[2], []string{"r2"}) {
		t.Fatalf("routed = %q", routed[:3])
	}
	// Unrouted appends are never yielded.
	if _, err := db.AppendEvents(ctx, []providers.StoredEvent{uev("plain")}); err != nil {
		t.Fatal(err)
	}
	// A re-sent id keeps its first routing; route sees the stored envelope.
	routes["a"] = []string{"r9"}
	_, _, routed, err = db.AppendRouted(ctx, []providers.StoredEvent{uev("a")}, route)
	if err != nil || !slices.Equal(routed[0], []string{"r9"}) {
		t.Fatalf("re-sent routed = %q, %v", routed, err)
	}
	routes["late"] = []string{"r1"}
	if _, _, _, err := db.AppendRouted(ctx, []providers.StoredEvent{uev("late")}, route); err != nil {
		t.Fatal(err)
	}
	last, _ := db.LastEventSeq(ctx)
	all := []string{"a:r1", "a:r2", "c:r2", "late:r1"}
	if got := unfinished(t, db, 0, last, time.Time{}); !slices.Equal(got, all) {
		t.Fatalf("unfinished = %q, want %q", got, all)
	}
	if got := unfinished(t, db, 0, last-2, time.Time{}); !slices.Equal(got, all[:3]) {
		t.Fatalf("unfinished through %d = %q, want %q", last-2, got, all[:3])
	}
	if got := unfinished(t, db, 1, last, time.Time{}); !slices.Equal(got, all[2:]) {
		t.Fatalf("unfinished after seq 1 = %q, want %q", got, all[2:])
	}
	if got := unfinished(t, db, 0, last, time.Now().Add(time.Minute)); len(got) != 0 {
		t.Fatalf("unfinished since the future = %q, want none", got)
	}
	// A retry is not an outcome; ok and failed are.
	if err := db.RecordDeliveries(ctx, []Delivery{
		{EventID: "a", RuleID: "r1", Function: "f", Status: DeliveryRetrying},
		{EventID: "a", RuleID: "r2", Function: "g", Status: DeliveryOK},
		{EventID: "c", RuleID: "r2", Function: "g", Status: DeliveryFailed},
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := unfinished(t, db, 0, last, time.Time{}), []string{"a:r1", "late:r1"}; !slices.Equal(got, want) {
		t.Fatalf("unfinished = %q, want %q", got, want)
	}
}

// TestMigrateV2AddsRouting: a database written by schema version 2 opens,
// its events stay readable and are never redelivered (their routing is
// unknown), and new events record theirs.
func TestMigrateV2AddsRouting(t *testing.T) {
	ctx := context.Background()
	db := migratedFrom(t, 2,
		`INSERT INTO events (id, bus, source, detail_type, time, payload) VALUES ('old', 'default', 's', 'T', 1,
			'{"version":"0","id":"old","detail-type":"T","source":"s","account":"1","time":"2026-01-01T00:00:00Z","region":"r","resources":[],"detail":{}}')`)
	var v int
	if err := db.r.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != SchemaVersion || SchemaVersion < 3 {
		t.Fatalf("user_version = %d, %v; want %d (>= 3)", v, err, SchemaVersion)
	}
	if se, ok, err := db.Event(ctx, "old"); err != nil || !ok || se.Source != "s" {
		t.Fatalf("old event = %+v, %v, %v", se, ok, err)
	}
	if _, _, _, err := db.AppendRouted(ctx, []providers.StoredEvent{uev("new")}, func(int, []byte) []string { return []string{"r"} }); err != nil {
		t.Fatal(err)
	}
	last, _ := db.LastEventSeq(ctx)
	if got := unfinished(t, db, 0, last, time.Time{}); !slices.Equal(got, []string{"new:r"}) {
		t.Fatalf("unfinished = %q, want [new:r] (old rows have no routing)", got)
	}
}

// BenchmarkUnfinishedAllFinished is the scan a process that starts alone
// makes over the events stored since the previous scan, when every delivery
// finished (the common case): one op is one event.
//
//	go test ./providers/local/store -run '^$' -bench UnfinishedAllFinished -benchtime 20000x
func BenchmarkUnfinishedAllFinished(b *testing.B) {
	ctx := context.Background()
	db, err := Open(b.TempDir(), WithSynchronous("NORMAL"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rules := []string{"billing", "shipping", "email", "analytics"}
	for start := 0; start < b.N; start += 1000 {
		var evs []providers.StoredEvent
		var dls []Delivery
		for i := start; i < min(start+1000, b.N); i++ {
			id := fmt.Sprintf("e%08d", i)
			evs = append(evs, uev(id))
			for _, r := range rules {
				dls = append(dls, Delivery{EventID: id, RuleID: r, Function: r, Status: DeliveryOK})
			}
		}
		if _, _, _, err := db.AppendRouted(ctx, evs, func(int, []byte) []string { return rules }); err != nil {
			b.Fatal(err)
		}
		if err := db.RecordDeliveries(ctx, dls); err != nil {
			b.Fatal(err)
		}
	}
	last, _ := db.LastEventSeq(ctx)
	b.ResetTimer()
	for u, err := range db.Unfinished(ctx, 0, last, time.Time{}) {
		b.Fatalf("yielded %+v, %v", u, err)
	}
}

// TestMigrateV3KeysDeliveriesBySeq: outcomes recorded by schema version 3
// (found by event id) are found by their event's seq after the migration:
// Deliveries lists them, Unfinished counts them as finished, and an outcome
// of an event the store does not hold is still found by its id.
func TestMigrateV3KeysDeliveriesBySeq(t *testing.T) {
	ctx := context.Background()
	db := migratedFrom(t, 3,
		`INSERT INTO events (id, bus, source, detail_type, time, payload, routed, stored) VALUES
			('a', 'default', 's', 'T', 1, '{"version":"0","id":"a","detail-type":"T","source":"s","account":"1","time":"2026-01-01T00:00:00Z","region":"r","resources":[],"detail":{}}', 'r1' || char(10) || 'r2', 1),
			('b', 'default', 's', 'T', 1, '{"version":"0","id":"b","detail-type":"T","source":"s","account":"1","time":"2026-01-01T00:00:00Z","region":"r","resources":[],"detail":{}}', 'r1', 1)`,
		`INSERT INTO deliveries (event_id, function, rule_id, status, attempts, error, duration_ms, correlation_id, time) VALUES
			('a', 'f1', 'r1', 'ok', 1, '', 1, '', 1),
			('b', 'f1', 'r1', 'retrying', 1, 'boom', 1, '', 1),
			('gone', 'f1', 'r1', 'ok', 1, '', 1, '', 1)`)
	ds, err := db.Deliveries(ctx, []string{"a", "b", "gone"})
	if err != nil || len(ds) != 3 {
		t.Fatalf("Deliveries = %+v, %v", ds, err)
	}
	if ds[0].EventID != "a" || ds[0].EventSeq != 1 || ds[1].EventID != "b" || ds[1].EventSeq != 2 || ds[2].EventID != "gone" || ds[2].EventSeq != 0 {
		t.Fatalf("Deliveries = %+v", ds)
	}
	if got, want := unfinished(t, db, 0, 2, time.Time{}), []string{"a:r2", "b:r1"}; !slices.Equal(got, want) {
		t.Fatalf("unfinished = %q, want %q", got, want)
	}
	// New outcomes without a seq are keyed by the event the id names.
	if err := db.RecordDelivery(ctx, Delivery{EventID: "a", Function: "f2", RuleID: "r2", Status: DeliveryOK}); err != nil {
		t.Fatal(err)
	}
	if got, want := unfinished(t, db, 0, 2, time.Time{}), []string{"b:r1"}; !slices.Equal(got, want) {
		t.Fatalf("unfinished = %q, want %q", got, want)
	}
}

// TestEventsExcludeReplays: events whose detail has a top-level _replay
// member are left out by ExcludeReplays, whether appended now or by schema
// version 4 (the migration marks them; a payload that is not JSON does not
// stop it).
func TestEventsExcludeReplays(t *testing.T) {
	ctx := context.Background()
	env := func(id, detail string) string {
		return `{"version":"0","id":"` + id + `","detail-type":"T","source":"s","account":"1","time":"2026-01-01T00:00:00Z","region":"r","resources":[],"detail":` + detail + `}`
	}
	db := migratedFrom(t, 4,
		`INSERT INTO events (id, bus, source, detail_type, time, payload) VALUES
			('old', 'default', 's', 'T', 1, '`+env("old", `{"a":1}`)+`'),
			('old-replay', 'default', 's', 'T', 1, '`+env("old-replay", `{"x":1,"_replay":{"replayed":true}}`)+`'),
			('old-nested', 'default', 's', 'T', 1, '`+env("old-nested", `{"x":{"_replay":{"replayed":true}}}`)+`'),
			('broken', 'default', 's', 'T', 1, '{"detail":{"_replay":')`)
	if _, err := db.AppendEvents(ctx, []providers.StoredEvent{
		uev("new"),
		ev("new-replay", "T", t0, `{"_replay":{"replay-name":"r","replayed":true},"a":1}`),
	}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.r.QueryRow(`SELECT count(*) FROM events WHERE replayed = 1`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("replayed rows = %d, %v; want 2 (old-replay, new-replay)", n, err)
	}
	if _, err := db.r.Exec(`DELETE FROM events WHERE id = 'broken'`); err != nil {
		t.Fatal(err)
	}
	var got []string
	for se, err := range db.Events(ctx, providers.EventQuery{ExcludeReplays: true}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, se.ID)
	}
	if want := []string{"old", "old-nested", "new"}; !slices.Equal(got, want) {
		t.Fatalf("ExcludeReplays yields %q, want %q", got, want)
	}
}

// migratedFrom writes a database file as an evcli of schema version
// `version` would (its migrations, user_version, then the setup
// statements), and opens it with Open, which migrates it. Closed at the
// end of the test.
func migratedFrom(t *testing.T, version int, setup ...string) *DB {
	t.Helper()
	dir := t.TempDir()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	stmts := append(migrations[:version:version], fmt.Sprintf("PRAGMA user_version = %d", version))
	for _, q := range append(stmts, setup...) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
