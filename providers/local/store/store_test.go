package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

func openTest(t testing.TB, dir string, opts ...Option) *DB {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	db, err := Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func ev(id, typ string, at time.Time, detail string) providers.StoredEvent {
	return providers.StoredEvent{Event: providers.Event{
		Version: "0", ID: id, Source: "shop.orders", DetailType: typ, Time: at,
		Account: "000000000000", Region: "us-east-1", Detail: json.RawMessage(detail),
	}}
}

func TestOpenMigratesOnceAndRefusesNewerSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", ".evcli")
	a := openTest(t, dir)
	b := openTest(t, dir) // second handle: no re-migration, no error
	var v int
	if err := b.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("user_version = %d, %v; want %d", v, err, SchemaVersion)
	}
	var mode string
	if err := a.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	if _, err := a.wr.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "upgrade evcli") || !strings.Contains(err.Error(), "state.db") {
		t.Fatalf("Open of newer schema: err = %v; want a message naming the file and saying to upgrade", err)
	}
}

// TestOpenConcurrentlyOnNewFile opens a new file from several handles at
// once (as `tail` and `send` started together would): all succeed and share
// one schema.
func TestOpenConcurrentlyOnNewFile(t *testing.T) {
	for round := range 5 {
		dir := t.TempDir()
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for g := range 6 {
			wg.Go(func() {
				db, err := Open(dir)
				if err != nil {
					errs <- err
					return
				}
				defer db.Close()
				_, err = db.AppendEvents(context.Background(), []providers.StoredEvent{ev(fmt.Sprint(round, "-", g), "T", t0, `{}`)})
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

func TestAppendEventsFillsSeqAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	got, err := db.AppendEvents(ctx, []providers.StoredEvent{
		ev("e1", "OrderCreated", t0, `{"aggregateId":"o-1","version":1,"correlationId":"c-1"}`),
		ev("e2", "OrderPaid", t0.Add(time.Second), `{"aggregateId":"o-1","version":"2"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Seq != 1 || got[1].Seq != 2 {
		t.Fatalf("seqs = %d, %d; want 1, 2", got[0].Seq, got[1].Seq)
	}
	if got[0].AggregateID != "o-1" || got[0].AggregateVersion != 1 || got[0].CorrelationID != "c-1" || got[1].AggregateVersion != 2 {
		t.Fatalf("derived keys wrong: %+v / %+v", got[0], got[1])
	}
	// Re-append e1 with a different payload plus a new one: e1 keeps its row.
	again, err := db.AppendEvents(ctx, []providers.StoredEvent{
		ev("e1", "Changed", t0, `{"x":1}`),
		ev("e3", "OrderShipped", t0, `{}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Seq != 1 || again[0].DetailType != "OrderCreated" || again[0].AggregateID != "o-1" {
		t.Fatalf("re-append returned %+v; want the stored row (seq 1, OrderCreated)", again[0])
	}
	if again[1].Seq != 4 && again[1].Seq != 3 {
		t.Fatalf("new event seq = %d", again[1].Seq)
	}
	var n int
	db.r.QueryRow(`SELECT count(*) FROM events`).Scan(&n)
	if n != 3 {
		t.Fatalf("rows = %d; want 3", n)
	}
	stored, ok, err := db.Event(ctx, "e1")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if stored.EventBusName != "default" || !stored.Time.Equal(t0) || string(stored.Detail) != `{"aggregateId":"o-1","version":1,"correlationId":"c-1"}` {
		t.Fatalf("stored event = %+v", stored)
	}
	if stored.Resources == nil {
		t.Fatal("resources should read back as [] not nil")
	}
}

func TestAppendEventsRejectsBadInput(t *testing.T) {
	db := openTest(t, "")
	tests := []struct {
		name string
		ev   providers.StoredEvent
		want string
	}{
		{"no id", ev("", "T", t0, `{}`), "events[0]: id is empty"},
		{"no source", func() providers.StoredEvent { e := ev("x", "T", t0, `{}`); e.Source = ""; return e }(), "source and detail-type are required"},
		{"bad detail", ev("y", "T", t0, `{"a":`), "detail is not valid JSON"},
		{"time out of range", ev("z", "T", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), `{}`), "outside the years 1 .. 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.AppendEvents(context.Background(), []providers.StoredEvent{tt.ev})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDeriveKeys(t *testing.T) {
	tests := []struct {
		detail    string
		pre       providers.StoredEvent
		agg, corr string
		ver       int64
	}{
		{detail: `{"aggregateId":"a","version":3,"correlationId":"c"}`, agg: "a", ver: 3, corr: "c"},
		{detail: `{"aggregate_id":42,"aggregateVersion":"7","correlation_id":"c2"}`, agg: "42", ver: 7, corr: "c2"},
		{detail: `{"metadata":{"correlationId":"m"}}`, corr: "m"},
		{detail: `{"version":"v1"}`},
		{detail: `[1,2]`},
		{detail: `{"aggregateId":"a","correlationId":"c"}`, pre: providers.StoredEvent{AggregateID: "given", CorrelationID: "given-c"}, agg: "given", corr: "given-c"},
	}
	for _, tt := range tests {
		t.Run(tt.detail, func(t *testing.T) {
			e := tt.pre
			e.Detail = json.RawMessage(tt.detail)
			DeriveKeys(&e)
			if e.AggregateID != tt.agg || e.AggregateVersion != tt.ver || e.CorrelationID != tt.corr {
				t.Fatalf("got (%q, %d, %q); want (%q, %d, %q)", e.AggregateID, e.AggregateVersion, e.CorrelationID, tt.agg, tt.ver, tt.corr)
			}
		})
	}
}

func TestEventsQueryPagesAndFilters(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	var batch []providers.StoredEvent
	const n = 700 // more than two pages
	for i := range n {
		typ := []string{"A", "B", "C"}[i%3]
		batch = append(batch, ev(fmt.Sprintf("e%04d", i), typ, t0.Add(time.Duration(i)*time.Second),
			fmt.Sprintf(`{"aggregateId":"agg-%d","version":%d}`, i%5, i/5+1)))
	}
	if _, err := db.AppendEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	count := func(q providers.EventQuery) (int, []providers.StoredEvent) {
		var got []providers.StoredEvent
		for e, err := range db.Events(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq <= got[i-1].Seq {
				t.Fatalf("not in seq order at %d", i)
			}
		}
		return len(got), got
	}
	tests := []struct {
		name string
		q    providers.EventQuery
		want int
	}{
		{"all", providers.EventQuery{}, n},
		{"since inclusive until exclusive", providers.EventQuery{Since: t0.Add(100 * time.Second), Until: t0.Add(200 * time.Second)}, 100},
		{"type", providers.EventQuery{Types: []string{"A"}}, 234},
		{"types", providers.EventQuery{Types: []string{"A", "C"}}, 467},
		{"aggregate", providers.EventQuery{AggregateIDs: []string{"agg-1"}}, 140},
		{"aggregate and type", providers.EventQuery{AggregateIDs: []string{"agg-0", "agg-1"}, Types: []string{"B"}}, 93},
		{"after seq", providers.EventQuery{AfterSeq: 650}, 50},
		{"limit", providers.EventQuery{Limit: 300}, 300},
		{"limit larger than matches", providers.EventQuery{Types: []string{"A"}, Limit: 1000}, 234},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := count(tt.q); got != tt.want {
				t.Fatalf("got %d events; want %d", got, tt.want)
			}
		})
	}
	// Events appended later with times inside an earlier window are found
	// too (time need not grow with seq).
	late := []providers.StoredEvent{ev("late-1", "A", t0.Add(150*time.Second), `{}`), ev("late-2", "B", t0.Add(-time.Hour), `{}`)}
	if _, err := db.AppendEvents(ctx, late); err != nil {
		t.Fatal(err)
	}
	if got, evs := count(providers.EventQuery{Since: t0.Add(100 * time.Second), Until: t0.Add(200 * time.Second)}); got != 101 || evs[100].ID != "late-1" {
		t.Fatalf("window after late appends: %d events", got)
	}
	if got, _ := count(providers.EventQuery{Until: t0}); got != 1 {
		t.Fatalf("until only: %d events; want the one an hour early", got)
	}
	if got, _ := count(providers.EventQuery{Since: t0.Add(time.Hour)}); got != 0 {
		t.Fatalf("empty window: %d events", got)
	}
	_, agg := count(providers.EventQuery{AggregateIDs: []string{"agg-2"}})
	for i, e := range agg {
		if e.AggregateVersion != int64(i+1) {
			t.Fatalf("agg-2[%d] version %d", i, e.AggregateVersion)
		}
	}
	// Stopping early is honoured.
	seen := 0
	for range db.Events(ctx, providers.EventQuery{}) {
		seen++
		if seen == 3 {
			break
		}
	}
	if seen != 3 {
		t.Fatal(seen)
	}
}

func TestFunctionsAndRules(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	f := FunctionRecord{Name: "billing", Runtime: "provided.al2023", Handler: "bootstrap", Architecture: "x86_64",
		MemoryMB: 256, TimeoutS: 5, Concurrency: 10, Env: map[string]string{"A": "1"}, CodeSha256: "abc",
		ArtifactPath: "/a.zip", CodeDir: "/code", DeployedAt: t0, Correlation: "$.meta.cid"}
	if err := db.PutFunction(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Function(ctx, "billing")
	if err != nil || !ok || !reflect.DeepEqual(got, f) {
		t.Fatalf("Function = %+v, %v, %v; want %+v", got, ok, err, f)
	}
	f.MemoryMB = 512
	f.Env = nil
	if err := db.PutFunction(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := db.PutFunction(ctx, FunctionRecord{Name: "audit"}); err != nil {
		t.Fatal(err)
	}
	all, err := db.Functions(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "audit" || all[1].MemoryMB != 512 || len(all[1].Env) != 0 {
		t.Fatalf("Functions = %+v, %v", all, err)
	}
	if _, ok, _ := db.Function(ctx, "nope"); ok {
		t.Fatal("found missing function")
	}

	p := json.RawMessage(`{"source":["shop"]}`)
	if err := db.SetRules(ctx, "billing", []Rule{{ID: "billing-0", Pattern: p}, {ID: "billing-1", Bus: "orders", Pattern: p}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRules(ctx, "audit", []Rule{{ID: "audit-0", Function: "audit", Pattern: p}}); err != nil {
		t.Fatal(err)
	}
	// Replacing billing's rules drops billing-1.
	if err := db.SetRules(ctx, "billing", []Rule{{ID: "billing-0", Pattern: p}}); err != nil {
		t.Fatal(err)
	}
	rules, err := db.Rules(ctx)
	want := []Rule{{ID: "audit-0", Bus: "default", Function: "audit", Pattern: p}, {ID: "billing-0", Bus: "default", Function: "billing", Pattern: p}}
	if err != nil || !reflect.DeepEqual(rules, want) {
		t.Fatalf("Rules = %+v, %v; want %+v", rules, err, want)
	}
	for _, bad := range []struct {
		rules []Rule
		want  string
	}{
		{[]Rule{{ID: "x", Function: "audit", Pattern: p}}, `targets "audit"`},
		{[]Rule{{ID: "", Pattern: p}}, "rules[0]: empty id"},
		{[]Rule{{ID: "x", Pattern: p}, {ID: "x", Pattern: p}}, `rules[1]: duplicate id "x"`},
		{[]Rule{{ID: "x", Pattern: json.RawMessage(`{`)}}, "not valid JSON"},
		{[]Rule{{ID: "audit-0", Pattern: p}}, "unique across functions"},
	} {
		if err := db.SetRules(ctx, "billing", bad.rules); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetRules(%+v) err = %v; want %q", bad.rules, err, bad.want)
		}
	}
	if err := db.DeleteFunction(ctx, "billing"); err != nil {
		t.Fatal(err)
	}
	rules, _ = db.Rules(ctx)
	if len(rules) != 1 || rules[0].Function != "audit" {
		t.Fatalf("rules after delete: %+v", rules)
	}
}

func collectLogs(t *testing.T, ch <-chan providers.LogLine, errc <-chan error) []providers.LogLine {
	t.Helper()
	var out []providers.LogLine
	for l := range ch {
		out = append(out, l)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLogsBacklogFilters(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	var lines []providers.LogLine
	for i := range 1200 {
		lines = append(lines, providers.LogLine{Time: t0.Add(time.Duration(i) * time.Millisecond),
			Function: []string{"a", "b", "c"}[i%3], RequestID: "r", Message: fmt.Sprintf("line %d", i)})
	}
	if err := db.AppendLogs(ctx, lines); err != nil {
		t.Fatal(err)
	}
	ch, errc := db.Logs(ctx, providers.LogQuery{})
	all := collectLogs(t, ch, errc)
	if len(all) != 1200 || all[0].Token != "1" || all[1199].Token != "1200" || all[5].Provider != "local" || !all[5].Time.Equal(t0.Add(5*time.Millisecond)) {
		t.Fatalf("got %d lines, first %+v", len(all), all[0])
	}
	ch, errc = db.Logs(ctx, providers.LogQuery{Functions: []string{"a", "c"}, Since: t0.Add(600 * time.Millisecond)})
	some := collectLogs(t, ch, errc)
	if len(some) != 400 {
		t.Fatalf("filtered: %d lines; want 400", len(some))
	}
	for _, l := range some {
		if l.Function == "b" || l.Time.Before(t0.Add(600*time.Millisecond)) {
			t.Fatalf("unexpected %+v", l)
		}
	}
	ch, errc = db.Logs(ctx, providers.LogQuery{Functions: []string{"b", "a"}})
	two := collectLogs(t, ch, errc)
	if len(two) != 800 {
		t.Fatalf("two functions: %d lines; want 800", len(two))
	}
	for i := 1; i < len(two); i++ {
		var a, b int
		fmt.Sscan(two[i-1].Token, &a)
		fmt.Sscan(two[i].Token, &b)
		if b <= a || two[i].Function == "c" {
			t.Fatalf("line %d: token %d after %d (%s)", i, b, a, two[i].Function)
		}
	}
	from := two[len(two)-5].Token
	var want []string
	for _, l := range two[len(two)-4:] {
		if l.Function == "a" {
			want = append(want, l.Token)
		}
	}
	ch, errc = db.LogsAfter(ctx, providers.LogQuery{Functions: []string{"a"}}, from)
	var got []string
	for _, l := range collectLogs(t, ch, errc) {
		got = append(got, l.Token)
	}
	if !reflect.DeepEqual(got, want) || len(want) == 0 {
		t.Fatalf("resumed after %s: tokens %v; want %v", from, got, want)
	}
	ch, errc = db.LogsAfter(ctx, providers.LogQuery{}, "x")
	for range ch {
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), `log token "x"`) {
		t.Fatalf("bad token: %v", err)
	}
	var cid string
	db.AppendLogs(ctx, []providers.LogLine{{Function: "a", Message: `{"level":"info","correlationId":"c-9"}`}})
	db.r.QueryRow(`SELECT correlation_id FROM logs ORDER BY seq DESC LIMIT 1`).Scan(&cid)
	if cid != "c-9" {
		t.Fatalf("correlation column = %q", cid)
	}
}

// TestLogsFollowTwoWriters follows the log table through one handle while
// two other handles (as two processes would) append concurrently: every line
// arrives exactly once, in increasing seq order.
func TestLogsFollowTwoWriters(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	reader := openTest(t, dir, WithPollInterval(5*time.Millisecond))
	w1, w2 := openTest(t, dir), openTest(t, dir)
	// A line that exists before following starts is part of the backlog.
	if err := w1.AppendLogs(ctx, []providers.LogLine{{Function: "w1", Message: "before"}}); err != nil {
		t.Fatal(err)
	}
	ch, errc := reader.Logs(ctx, providers.LogQuery{Follow: true, Functions: []string{"w1", "w2"}})
	const perWriter, batch = 600, 7
	var wg sync.WaitGroup
	for _, w := range []struct {
		db   *DB
		name string
	}{{w1, "w1"}, {w2, "w2"}} {
		wg.Go(func() {
			for i := 0; i < perWriter; i += batch {
				var ls []providers.LogLine
				for j := i; j < min(i+batch, perWriter); j++ {
					ls = append(ls, providers.LogLine{Function: w.name, Message: fmt.Sprint(j)})
				}
				// Noise from an unfollowed function, interleaved.
				ls = append(ls, providers.LogLine{Function: "other", Message: "x"})
				if err := w.db.AppendLogs(ctx, ls); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[string]bool{}
	var last int64
	want := 2*perWriter + 1
	for len(seen) < want {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended early: %v", <-errc)
			}
			if l.Function == "other" {
				t.Fatalf("unfollowed function delivered: %+v", l)
			}
			var seq int64
			fmt.Sscan(l.Token, &seq)
			if seq <= last {
				t.Fatalf("seq %d after %d: out of order or duplicate", seq, last)
			}
			last = seq
			key := l.Function + "/" + l.Message
			if seen[key] {
				t.Fatalf("duplicate %s", key)
			}
			seen[key] = true
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d lines arrived", len(seen), want)
		}
	}
	wg.Wait()
	cancel()
	for range ch {
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestInvocations(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	for i := range 1100 {
		fn := "a"
		if i%2 == 1 {
			fn = "b"
		}
		r := providers.InvocationRecord{Function: fn, RequestID: fmt.Sprint(i), Time: t0.Add(time.Duration(i/3) * time.Second),
			DurationMs: float64(i), BilledDurationMs: int64(i + 1), MemorySizeMB: 128, MaxMemoryUsedMB: 40, Outcome: "ok"}
		if err := db.AppendInvocation(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var got []providers.InvocationRecord
	for r, err := range db.Invocations(ctx, "a", t0.Add(10*time.Second), t0.Add(300*time.Second)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	// seconds 10..299 hold invocations 30..899; half of them are a's.
	if len(got) != 435 {
		t.Fatalf("got %d records; want 435", len(got))
	}
	if got[0].RequestID != "30" || got[0].BilledDurationMs != 31 || got[0].Outcome != "ok" || !got[0].Time.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("first = %+v", got[0])
	}
	n := 0
	for _, err := range db.Invocations(ctx, "", time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1100 {
		t.Fatalf("all functions: %d", n)
	}
}

func TestDeliveriesKVServer(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "", WithClock(func() time.Time { return t0 }))
	for _, d := range []Delivery{
		{EventID: "e1", Function: "f", RuleID: "r", Status: DeliveryRetrying, Attempts: 1, Error: "boom"},
		{EventID: "e2", Function: "g", RuleID: "r2", Status: DeliveryOK, Attempts: 1, DurationMs: 1.5, CorrelationID: "c"},
		{EventID: "e1", Function: "f", RuleID: "r", Status: DeliveryOK, Attempts: 2},
	} {
		if err := db.RecordDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordDelivery(ctx, Delivery{EventID: "e", Status: "done"}); err == nil || !strings.Contains(err.Error(), "not one of ok, failed, retrying") {
		t.Fatalf("bad status err = %v", err)
	}
	ds, err := db.Deliveries(ctx, []string{"e1"})
	if err != nil || len(ds) != 2 || ds[0].Status != "retrying" || ds[1].Status != "ok" || ds[1].Attempts != 2 || !ds[0].Time.Equal(t0) {
		t.Fatalf("Deliveries(e1) = %+v, %v", ds, err)
	}
	ids := []string{"e2"}
	for i := range 1200 {
		ids = append(ids, fmt.Sprint("nope", i))
	}
	ds, _ = db.Deliveries(ctx, ids)
	if len(ds) != 1 || ds[0].DurationMs != 1.5 || ds[0].CorrelationID != "c" {
		t.Fatalf("Deliveries(many ids) = %+v", ds)
	}
	all, _ := db.Deliveries(ctx, nil)
	if len(all) != 3 {
		t.Fatalf("all deliveries: %d", len(all))
	}

	if _, ok, _ := db.GetKV(ctx, "replay", "r1"); ok {
		t.Fatal("unset key found")
	}
	db.PutKV(ctx, "replay", "r1", []byte("1"))
	db.PutKV(ctx, "replay", "r1", []byte("2"))
	db.PutKV(ctx, "replay", "r2", nil)
	db.PutKV(ctx, "other", "r1", []byte("x"))
	if v, ok, err := db.GetKV(ctx, "replay", "r1"); err != nil || !ok || string(v) != "2" {
		t.Fatalf("GetKV = %q %v %v", v, ok, err)
	}
	m, err := db.ListKV(ctx, "replay")
	if err != nil || len(m) != 2 || string(m["r1"]) != "2" || m["r2"] == nil {
		t.Fatalf("ListKV = %v, %v", m, err)
	}
	db.DeleteKV(ctx, "replay", "r2")
	if _, ok, _ := db.GetKV(ctx, "replay", "r2"); ok {
		t.Fatal("deleted key found")
	}

	if _, _, ok, _ := db.Server(ctx); ok {
		t.Fatal("server registered on a fresh db")
	}
	db.SetServer(ctx, "127.0.0.1:1234", 42)
	db.ClearServer(ctx, 41) // someone else's pid: no effect
	addr, pid, ok, err := db.Server(ctx)
	if err != nil || !ok || addr != "127.0.0.1:1234" || pid != 42 {
		t.Fatalf("Server = %q %d %v %v", addr, pid, ok, err)
	}
	db.ClearServer(ctx, 42)
	if _, _, ok, _ := db.Server(ctx); ok {
		t.Fatal("server still registered")
	}
}

// TestConcurrentAppendTwoHandles appends events through two handles at once;
// every event is stored once with a distinct seq.
func TestConcurrentAppendTwoHandles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := openTest(t, dir), openTest(t, dir)
	var wg sync.WaitGroup
	for hi, db := range []*DB{a, b} {
		for g := range 2 {
			wg.Go(func() {
				for i := range 100 {
					id := fmt.Sprintf("h%d-g%d-%d", hi, g, i)
					got, err := db.AppendEvents(ctx, []providers.StoredEvent{ev(id, "T", t0, `{}`), ev(id+"-b", "T", t0, `{}`)})
					if err != nil {
						t.Error(err)
						return
					}
					if got[1].Seq != got[0].Seq+1 {
						t.Errorf("batch not contiguous: %d %d", got[0].Seq, got[1].Seq)
					}
				}
			})
		}
	}
	wg.Wait()
	var n, distinct, maxSeq int
	a.r.QueryRow(`SELECT count(*), count(DISTINCT id), max(seq) FROM events`).Scan(&n, &distinct, &maxSeq)
	if n != 800 || distinct != 800 || maxSeq != 800 {
		t.Fatalf("count %d distinct %d max seq %d; want 800 each", n, distinct, maxSeq)
	}
}

// TestGroupCommit: concurrent appends through one handle share transactions
// yet each call gets its own rows, contiguous and in order; an id appended
// by two calls at once is stored once and both get its row.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	var wg sync.WaitGroup
	seqOfShared := make(chan int64, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 40 {
				batch := []providers.StoredEvent{ev(fmt.Sprintf("g%d-%d-a", g, i), "T", t0, `{}`), ev(fmt.Sprintf("g%d-%d-b", g, i), "T", t0, `{}`)}
				if i == 20 {
					batch = append(batch, ev("shared", "T", t0, `{}`))
				}
				got, err := db.AppendEvents(ctx, batch)
				if err != nil {
					t.Error(err)
					return
				}
				if got[0].ID != batch[0].ID || got[1].Seq != got[0].Seq+1 {
					t.Errorf("call got %s/%d, %s/%d", got[0].ID, got[0].Seq, got[1].ID, got[1].Seq)
				}
				if i == 20 {
					seqOfShared <- got[2].Seq
				}
			}
		})
	}
	wg.Wait()
	close(seqOfShared)
	first := int64(-1)
	for s := range seqOfShared {
		if first == -1 {
			first = s
		}
		if s != first || s == 0 {
			t.Fatalf("shared id got seqs %d and %d", first, s)
		}
	}
	var n int
	db.r.QueryRow(`SELECT count(*) FROM events`).Scan(&n)
	if n != 16*40*2+1 {
		t.Fatalf("%d rows; want %d", n, 16*40*2+1)
	}
}

// TestStateIsPrivate: .evcli is 0700 and state.db (and its WAL) 0600, also
// when an older evcli left them 0755 / 0644.
func TestStateIsPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix modes")
	}
	check := func(dir string) {
		t.Helper()
		db, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutKV(context.Background(), "t", "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, FileName): 0o600, filepath.Join(dir, FileName+"-wal"): 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", filepath.Base(p), fi.Mode().Perm(), want)
			}
		}
		db.Close()
	}
	dir := filepath.Join(t.TempDir(), ".evcli")
	check(dir)
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, FileName), 0o644)
	check(dir)
}
