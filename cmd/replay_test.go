package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local"
	"github.com/evcli/evcli/providers/local/bus"
	"github.com/evcli/evcli/providers/local/store"
	"github.com/evcli/evcli/replay"
)

var replayT0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func replayGolden(t *testing.T, name, got string) {
	t.Helper()
	assertGolden(t, filepath.Join(tailGoldenDir, "..", "replay", name+".golden"), got)
}

// replayStore is an in-memory event store.
type replayStore struct{ evs []providers.StoredEvent }

func (s *replayStore) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		for _, ev := range s.evs {
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// replayBus records entries; failCall makes whole calls fail; failID
// fails entries for good.
type replayBus struct {
	mu       sync.Mutex
	got      []providers.Event
	calls    int
	failCall func(call int) error
	failID   string
}

func (b *replayBus) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.failCall != nil {
		if err := b.failCall(b.calls); err != nil {
			return nil, err
		}
	}
	out := make([]providers.PublishResult, len(evs))
	for i, ev := range evs {
		if b.failID != "" && strings.Contains(string(ev.Detail), `"originalId":"`+b.failID+`"`) {
			out[i] = providers.PublishResult{ErrorCode: "InvalidArgument", ErrorMsg: "bad entry"}
			continue
		}
		b.got = append(b.got, ev)
		out[i].EventID = ev.ID
	}
	return out, nil
}

func replayEvents(nAgg, nVer int) []providers.StoredEvent {
	var evs []providers.StoredEvent
	i := 0
	for v := 1; v <= nVer; v++ {
		for a := range nAgg {
			agg := fmt.Sprintf("order-%d", a)
			typ := "OrderPlaced"
			if v > 1 {
				typ = "OrderShipped"
			}
			evs = append(evs, providers.StoredEvent{
				Event: providers.Event{Version: "0", ID: fmt.Sprintf("%s-%d", agg, v), DetailType: typ, Source: "shop.orders",
					Time: replayT0.Add(time.Duration(i) * time.Second), Region: "eu-west-1", Account: "000000000000",
					Detail: json.RawMessage(fmt.Sprintf(`{"orderId":%q,"version":%d}`, agg, v))},
				AggregateID: agg, AggregateVersion: int64(v),
			})
			i++
		}
	}
	return evs
}

type replayEnv struct {
	f           *cmdutil.Factory
	out, errOut *syncBuf
	dir         string
	bus         *replayBus
}

func newReplayEnv(t *testing.T, evs []providers.StoredEvent, project string) *replayEnv {
	t.Helper()
	io, _, _, _ := cmdutil.Test()
	out, errOut := &syncBuf{}, &syncBuf{}
	io.Out, io.ErrOut = out, errOut
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte(project), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &replayEnv{out: out, errOut: errOut, dir: dir, bus: &replayBus{}}
	e.f = &cmdutil.Factory{
		IO:      io,
		Globals: &cmdutil.Globals{File: filepath.Join(dir, "evcli.yaml"), Output: "text", Color: "auto"},
		Now:     func() time.Time { return replayT0.Add(time.Hour) },
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Getenv:  func(string) string { return "" },
		Environ: func() []string { return nil },
	}
	st := &replayStore{evs: evs}
	e.f.OpenProvider = openAs(func() *providers.Provider {
		kv, closeKV, err := local.OpenState(dir)
		if err != nil {
			t.Fatal(err)
		}
		// Routing is the local driver's own (rules the tests deploy).
		lp, err := local.Open(context.Background(), providers.OpenOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		p := &providers.Provider{Store: st, Bus: e.bus, BusLimits: providers.PutEventsLimits, State: kv, Router: lp.Router}
		p.OnClose(func(context.Context) error { return closeKV() })
		p.OnClose(lp.Close)
		return p
	})
	return e
}

func (e *replayEnv) run(t *testing.T, args ...string) int {
	t.Helper()
	e.out, e.errOut = &syncBuf{}, &syncBuf{}
	e.f.IO.Out, e.f.IO.ErrOut = e.out, e.errOut
	return Run(context.Background(), e.f, args)
}

const replayProject = "project: shop\n"

func TestReplayText(t *testing.T) {
	e := newReplayEnv(t, replayEvents(3, 4), replayProject)
	if code := e.run(t, "replay", "--since", "2h", "--name", "r1"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.errOut)
	}
	if got, want := e.out.String(), "replay r1 completed: 12 selected, 12 published, 0 failed, 0 skipped\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if len(e.bus.got) != 12 || e.bus.got[0].EventBusName != "default" {
		t.Fatalf("bus got %d events", len(e.bus.got))
	}
	// Per aggregate, in version order.
	if e.bus.got[0].ID != replay.ReplayID("r1", &providers.StoredEvent{Event: providers.Event{ID: "order-0-1"}, AggregateID: "order-0", AggregateVersion: 1}, replay.OrderAggregate) ||
		e.bus.got[3].ID != replay.ReplayID("r1", &providers.StoredEvent{Event: providers.Event{ID: "order-0-4"}, AggregateID: "order-0", AggregateVersion: 4}, replay.OrderAggregate) {
		t.Errorf("order: first %s, fourth %s", e.bus.got[0].ID, e.bus.got[3].ID)
	}
	if code := e.run(t, "replay", "list"); code != 0 {
		t.Fatalf("list exit %d: %s", code, e.errOut)
	}
	replayGolden(t, "list", e.out.String())
}

func TestReplayJSON(t *testing.T) {
	e := newReplayEnv(t, replayEvents(3, 4), replayProject)
	e.f.Globals.Output = "json"
	if code := e.run(t, "replay", "-o", "json", "--since", "2h", "--name", "r1", "--type", "OrderShipped", "--to", "audit"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.errOut)
	}
	replayGolden(t, "json", e.out.String())
	lines := strings.Split(strings.TrimSpace(e.out.String()), "\n")
	var sum map[string]any
	_ = json.Unmarshal([]byte(lines[len(lines)-1]), &sum)
	if sum["type"] != "summary" || sum["published"] != 9.0 || sum["selected"] != 9.0 || sum["name"] != "r1" {
		t.Errorf("summary %v", sum)
	}
	if e.bus.got[0].EventBusName != "audit" {
		t.Errorf("bus %s, want audit (--to)", e.bus.got[0].EventBusName)
	}
}

func TestReplayDryRun(t *testing.T) {
	e := newReplayEnv(t, replayEvents(3, 2), replayProject)
	db, err := store.Open(filepath.Join(e.dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.SetRules(context.Background(), "ship", []store.Rule{{ID: "ship-1", Pattern: json.RawMessage(`{"detail-type":["OrderShipped"]}`)}})
	if err == nil {
		err = db.SetRules(context.Background(), "audit", []store.Rule{{ID: "audit-1", Pattern: json.RawMessage(`{"source":["shop.orders"]}`)},
			{ID: "audit-replays", Pattern: json.RawMessage(`{"detail":{"_replay":{"replayed":[true]}}}`)}})
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if code := e.run(t, "replay", "--since", "2h", "--name", "dry", "--dry-run"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.errOut)
	}
	replayGolden(t, "dry-run", e.out.String())
	if len(e.bus.got) != 0 {
		t.Errorf("dry run published %d events", len(e.bus.got))
	}
	if code := e.run(t, "replay", "list"); code != 0 || !strings.Contains(e.errOut.String(), "no replays yet") {
		t.Errorf("a dry run left a record: %d %s %s", code, e.out, e.errOut)
	}
}

func TestReplayUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"replay"}, "--since is required"},
		{[]string{"replay", "--since", "yesterday"}, `invalid --since "yesterday"`},
		{[]string{"replay", "--since", "2h", "--until", "3h"}, "is not after --since"},
		{[]string{"replay", "--since", "2h", "--order", "random"}, `--order: invalid value "random"`},
		{[]string{"replay", "--since", "2h", "--rate", "5/h"}, `--rate: invalid unit "h"`},
		{[]string{"replay", "--since", "2h", "--pattern", `{"source":"x"}`}, "--pattern: pattern: source"},
		{[]string{"replay", "--since", "2h", "--concurrency", "0"}, "--concurrency 0: use 1 to 64"},
		{[]string{"replay", "--resume", "nope"}, `--resume: no replay named "nope"`},
		{[]string{"replay", "--resume", "x", "--since", "2h"}, "drop --since"},
		{[]string{"replay", "--since", "2h", "--provider", "aws"}, "use --yes to confirm when not running interactively"},
	}
	for _, tt := range tests {
		e := newReplayEnv(t, replayEvents(1, 1), replayProject)
		code := e.run(t, tt.args...)
		if code != cmdutil.ExitUsage || !strings.Contains(e.errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, e.errOut, tt.want)
		}
		if len(e.bus.got) != 0 {
			t.Errorf("%v published", tt.args)
		}
	}
}

func TestReplayConfirmOnTerminal(t *testing.T) {
	for _, answer := range []string{"y\n", "n\n"} {
		e := newReplayEnv(t, replayEvents(2, 2), replayProject)
		e.f.IO.SetStdinTTY(true)
		e.f.IO.SetStderrTTY(true)
		e.f.IO.In = strings.NewReader(answer)
		code := e.run(t, "replay", "--since", "2h", "--provider", "aws", "--region", "eu-west-1", "--name", "c")
		if !strings.Contains(e.errOut.String(), "Replay events from 2026-11-26T09:00:00Z") || !strings.Contains(e.errOut.String(), "on aws? [y/N]") {
			t.Errorf("prompt: %q", e.errOut)
		}
		if answer == "y\n" && (code != 0 || len(e.bus.got) != 4) {
			t.Errorf("yes: exit %d, published %d: %s", code, len(e.bus.got), e.errOut)
		}
		if answer == "n\n" && (code != 1 || len(e.bus.got) != 0) {
			t.Errorf("no: exit %d, published %d", code, len(e.bus.got))
		}
	}
}

func TestReplayFailAndResume(t *testing.T) {
	e := newReplayEnv(t, replayEvents(4, 5), replayProject) // 20 events, batches per aggregate: 10+10
	e.bus.failCall = func(call int) error {
		if call == 2 {
			return &providers.Error{Code: providers.PermissionDenied, Resource: "bus default", Err: errors.New("denied")}
		}
		return nil
	}
	if code := e.run(t, "replay", "--since", "2h", "--name", "r2"); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, e.errOut)
	}
	if !strings.Contains(e.errOut.String(), "continue it with: evcli replay --resume r2") || !strings.Contains(e.out.String(), "replay r2 failed: 20 selected, 10 published") {
		t.Errorf("stdout %q stderr %q", e.out, e.errOut)
	}
	e.bus.failCall = nil
	e.bus.failID = "order-3-5"
	if code := e.run(t, "replay", "--resume", "r2"); code != 1 {
		t.Fatalf("resume exit %d, want 1 (one entry failed): %s", code, e.errOut)
	}
	if got, want := e.out.String(), "replay r2 completed: 20 selected, 9 published, 1 failed, 10 skipped\n"; got != want {
		t.Errorf("resume stdout %q, want %q", got, want)
	}
	if !strings.Contains(e.errOut.String(), "failed: event order-3-5: InvalidArgument: bad entry") {
		t.Errorf("stderr %q", e.errOut)
	}
	if len(e.bus.got) != 19 {
		t.Errorf("bus got %d events, want 19", len(e.bus.got))
	}
	if code := e.run(t, "replay", "--since", "2h", "--name", "r2"); code != cmdutil.ExitUsage ||
		!strings.Contains(e.errOut.String(), `evcli: --name: replay exists: "r2" completed on`) {
		t.Errorf("reused name: exit %d, %q", code, e.errOut)
	}
	e.f.Globals.Output = "json"
	if code := e.run(t, "replay", "list", "-o", "json"); code != 0 {
		t.Fatal(e.errOut)
	}
	lines := strings.Split(strings.TrimSpace(e.out.String()), "\n")
	var rec struct {
		Type, Name, State          string
		Runs                       int
		Published, Failed, Skipped int64
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil || len(lines) != 2 {
		t.Fatalf("list json %s: %v", e.out, err)
	}
	if rec.Type != "replay" || rec.Name != "r2" || rec.State != "completed" || rec.Runs != 2 || rec.Published != 19 || rec.Failed != 1 || rec.Skipped != 10 {
		t.Errorf("list record %+v", rec)
	}
}

func TestReplayProgressBar(t *testing.T) {
	e := newReplayEnv(t, replayEvents(2, 3), replayProject)
	e.f.IO.SetStderrTTY(true)
	if code := e.run(t, "replay", "--since", "2h", "--name", "bar"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.errOut)
	}
	if !strings.Contains(e.errOut.String(), "\r[==============================] 6/6") {
		t.Errorf("no bar on stderr: %q", e.errOut)
	}
}

// recordingInvoker is the local bus's function runner in the end-to-end
// test: it records what each function receives.
type recordingInvoker struct {
	mu  sync.Mutex
	got map[string][]replayDelivery // function -> deliveries in order
}

type replayDelivery struct {
	EventID, OriginalID, Aggregate string
	Version                        int64
	Replay                         string
}

func (r *recordingInvoker) Invoke(ctx context.Context, fn string, payload []byte) (bus.InvokeOutcome, error) {
	var env struct {
		ID     string `json:"id"`
		Detail struct {
			AggregateID string        `json:"aggregateId"`
			Version     int64         `json:"version"`
			Replay      replay.Marker `json:"_replay"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return bus.InvokeOutcome{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][]replayDelivery{}
	}
	r.got[fn] = append(r.got[fn], replayDelivery{EventID: env.ID, OriginalID: env.Detail.Replay.OriginalID,
		Aggregate: env.Detail.AggregateID, Version: env.Detail.Version, Replay: env.Detail.Replay.Name})
	return bus.InvokeOutcome{}, nil
}

func (r *recordingInvoker) replays(fn, name string) []replayDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []replayDelivery
	for _, d := range r.got[fn] {
		if d.Replay == name {
			out = append(out, d)
		}
	}
	return out
}

// killCheckpoints stores records until the kill: from then on it drops
// them (a process killed with kill -9 writes nothing more) and cancels the
// run.
type killCheckpoints struct {
	replay.Checkpoints
	mu     sync.Mutex
	puts   int
	killAt int // batch checkpoints to let through
	kill   context.CancelFunc
	killed bool
}

func (k *killCheckpoints) Put(ctx context.Context, rec replay.Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.killed {
		return nil
	}
	if k.puts++; k.puts > k.killAt+1 { // +1: the Put that starts the run
		k.killed = true
		k.kill()
		return nil
	}
	return k.Checkpoints.Put(ctx, rec)
}

// TestReplayLocalEndToEnd: 1,000 events sent through the local bus (real
// SQLite store, real bus, functions recorded), replayed --since: every
// target sees each event once more, in per-aggregate order; then a replay
// killed after 30 batches and resumed: no event lost, only the batches in
// flight at the kill repeated.
func TestReplayLocalEndToEnd(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, fn := range []string{"projector", "audit"} {
		// Concurrency 1: a function gets its deliveries one at a time, so
		// the order it sees is the order they were published in.
		if err := db.PutFunction(ctx, store.FunctionRecord{Name: fn, Runtime: "provided.al2023", Handler: "bootstrap", Concurrency: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetRules(ctx, "projector", []store.Rule{{ID: "p", Pattern: json.RawMessage(`{"source":["shop.orders"]}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRules(ctx, "audit", []store.Rule{{ID: "a", Pattern: json.RawMessage(`{"detail-type":[{"prefix":"Order"}]}`)}}); err != nil {
		t.Fatal(err)
	}
	inv := &recordingInvoker{}
	b, err := bus.New(bus.Options{Store: db, Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	const n, nAgg = 1000, 40
	var batch []providers.Event
	for i := range n {
		agg := fmt.Sprintf("order-%02d", i%nAgg)
		batch = append(batch, providers.Event{ID: fmt.Sprintf("ev-%04d", i), Source: "shop.orders", DetailType: "OrderChanged",
			Time: base.Add(time.Duration(i) * time.Millisecond), EventBusName: "default",
			Detail: json.RawMessage(fmt.Sprintf(`{"aggregateId":%q,"version":%d}`, agg, i/nAgg+1))})
		if len(batch) == 10 {
			if res, err := b.Publish(ctx, "default", batch); err != nil || res[0].ErrorCode != "" {
				t.Fatalf("send: %v %+v", err, res)
			}
			batch = nil
		}
	}
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	sel := replay.Selection{Since: base.Add(-time.Minute), Until: base.Add(time.Hour)}
	cps := replay.KVCheckpoints{KV: db}

	check := func(name string, maxRepeats int) {
		t.Helper()
		for _, fn := range []string{"projector", "audit"} {
			got := inv.replays(fn, name)
			seen := map[string]int{}
			last := map[string]int64{}
			for _, d := range got {
				seen[d.OriginalID]++
				if seen[d.OriginalID] == 1 && d.Version != last[d.Aggregate]+1 {
					t.Fatalf("%s/%s: %s version %d after %d", name, fn, d.Aggregate, d.Version, last[d.Aggregate])
				}
				if seen[d.OriginalID] == 1 {
					last[d.Aggregate] = d.Version
				}
				orig := providers.StoredEvent{Event: providers.Event{ID: d.OriginalID}, AggregateID: d.Aggregate, AggregateVersion: d.Version}
				if d.EventID != replay.ReplayID(name, &orig, replay.OrderAggregate) {
					t.Fatalf("%s/%s: event id %s", name, fn, d.EventID)
				}
			}
			if len(seen) != n {
				t.Errorf("%s/%s: %d distinct events delivered, want %d", name, fn, len(seen), n)
			}
			if extra := len(got) - n; extra < 0 || extra > maxRepeats {
				t.Errorf("%s/%s: %d repeated deliveries, want at most %d", name, fn, extra, maxRepeats)
			}
		}
	}

	sum, err := replay.Run(ctx, replay.Config{Name: "e2e", Bus: "default", Selection: sel, Concurrency: 4}, db, b, cps)
	if err != nil || sum.Published != n || sum.Selected != n {
		t.Fatalf("replay: %+v %v", sum, err)
	}
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	check("e2e", 0)

	// Killed after 30 acknowledged batches, then resumed.
	kctx, kill := context.WithCancel(ctx)
	kc := &killCheckpoints{Checkpoints: cps, killAt: 30, kill: kill}
	_, err = replay.Run(kctx, replay.Config{Name: "e2e-kill", Bus: "default", Selection: sel, Concurrency: 4}, db, b, kc)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("killed replay: %v", err)
	}
	rec, _, _ := cps.Get(ctx, "e2e-kill")
	if rec.State != replay.StateRunning {
		t.Fatalf("record after the kill: %s", rec.State)
	}
	sum, err = replay.Run(ctx, replay.Config{Name: "e2e-kill", Bus: "default", Resume: true}, db, b, cps)
	if err != nil || sum.Selected != n || sum.Skipped < 300 || sum.Skipped+sum.Published < n {
		t.Fatalf("resume: %+v %v", sum, err)
	}
	if err := b.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	// In flight at the kill: at most Concurrency (4) batches of 10.
	check("e2e-kill", 40)
}

// BenchmarkReplayLocal measures events/s replayed from the local SQLite
// store, with checkpoints in the store's KV table through a
// synchronous=NORMAL handle (as the command opens it), to a no-op bus
// (PutEvents-sized batches) and to the local bus as `evcli replay` uses it
// (its batch size, rules matched by package filter) delivering to a no-op
// function (drained). It reports the peak Go heap in use, sampled every
// 20 ms, setup included. EVCLI_REPLAY_BENCH_EVENTS sets how many events
// (default 50,000):
//
//	go test ./cmd -run '^$' -bench BenchmarkReplayLocal -benchtime 1x -count 3
//	EVCLI_REPLAY_BENCH_EVENTS=1000000 go test ./cmd -run '^$' -bench BenchmarkReplayLocal/to-local-bus -benchtime 1x
func BenchmarkReplayLocal(b *testing.B) {
	n := 50_000
	if v := os.Getenv("EVCLI_REPLAY_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("EVCLI_REPLAY_BENCH_EVENTS=%q: want a positive number of events", v)
		}
	}
	peakHeap := sampleHeapInUse(b)
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), ".evcli")
	db, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ckdb, err := store.Open(dir, store.WithSynchronous("NORMAL"))
	if err != nil {
		b.Fatal(err)
	}
	defer ckdb.Close()
	if err := db.PutFunction(ctx, store.FunctionRecord{Name: "nop", Runtime: "provided.al2023", Handler: "bootstrap"}); err != nil {
		b.Fatal(err)
	}
	if err := db.SetRules(ctx, "nop", []store.Rule{{ID: "all", Pattern: json.RawMessage(`{"source":["shop.orders"]}`)}}); err != nil {
		b.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var evs []providers.StoredEvent
	for i := range n {
		agg := fmt.Sprintf("order-%03d", i%500)
		evs = append(evs, providers.StoredEvent{Event: providers.Event{ID: fmt.Sprintf("ev-%06d", i), Source: "shop.orders",
			DetailType: "OrderChanged", Time: base.Add(time.Duration(i) * time.Millisecond), EventBusName: "default",
			Detail: json.RawMessage(fmt.Sprintf(`{"aggregateId":%q,"version":%d,"total":42.5,"currency":"EUR"}`, agg, i/500+1))}})
		if len(evs) == 1000 {
			if _, err := db.AppendEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
	}
	bs, err := bus.New(bus.Options{Store: db, Invoker: replayNopInvoker{}, NewMatcher: replayFilterMatcher})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	sel := replay.Selection{Since: base.Add(-time.Minute), Until: base.Add(time.Hour)}
	run := 0
	for _, tc := range []struct {
		name                   string
		bus                    providers.EventBus
		batchEntries, batchMax int
	}{{"to-nop-bus", replayNopPublisher{}, 0, 0}, {"to-local-bus", bs, bus.PublishBatchEntries, bus.PublishBatchBytes}} {
		b.Run(tc.name, func(b *testing.B) {
			var total, cpu time.Duration
			i := 0
			for b.Loop() {
				start, cpu0 := time.Now(), processCPU()
				run++
				sum, err := replay.Run(ctx, replay.Config{Name: fmt.Sprint("bench-", run), Bus: "default", Selection: sel, Concurrency: 4,
					MaxBatchEntries: tc.batchEntries, MaxBatchBytes: tc.batchMax},
					db, tc.bus, replay.KVCheckpoints{KV: ckdb})
				if err == nil {
					err = bs.Drain(ctx)
				}
				total += time.Since(start)
				cpu += processCPU() - cpu0
				if err != nil || sum.Published != int64(n) {
					b.Fatalf("%+v %v", sum, err)
				}
				i++
			}
			b.ReportMetric(float64(n)*float64(i)/total.Seconds(), "events/s")
			b.ReportMetric(float64(peakHeap()>>20), "peak-heap-MB")
			// CPU (user+sys, all threads) per event: comparable across runs
			// on a loaded machine, where events/s depends on the neighbours.
			b.ReportMetric(float64(cpu.Microseconds())/float64(n*i), "cpu-µs/event")
		})
	}
}

// sampleHeapInUse samples the Go heap in use every 20 ms until b ends and
// returns a function that reads the highest value seen.
func sampleHeapInUse(b *testing.B) func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	b.Cleanup(func() { close(stop); <-done })
	return peak.Load
}

// replayFilterMatcher routes with package filter, as the local engine does.
func replayFilterMatcher(rules []store.Rule) (bus.Matcher, error) {
	rs := filter.NewRuleSet()
	for _, r := range rules {
		p, err := filter.Parse(r.Pattern)
		if err != nil {
			return nil, err
		}
		rs.Add(r.ID, p)
	}
	return rs, nil
}

type replayNopInvoker struct{}

func (replayNopInvoker) Invoke(ctx context.Context, fn string, payload []byte) (bus.InvokeOutcome, error) {
	return bus.InvokeOutcome{}, nil
}

type replayNopPublisher struct{}

func (replayNopPublisher) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	out := make([]providers.PublishResult, len(evs))
	for i := range evs {
		out[i].EventID = evs[i].ID
	}
	return out, nil
}

// TestReplayInterrupted: Ctrl-C mid-replay exits 130, says how to resume,
// and the resumed replay publishes the rest.
func TestReplayInterrupted(t *testing.T) {
	e := newReplayEnv(t, replayEvents(5, 4), replayProject) // 20 events, 2 batches
	ctx, cancel := context.WithCancel(context.Background())
	e.bus.failCall = func(call int) error {
		if call == 1 {
			cancel() // Ctrl-C while the first batch is in flight; the bus takes it
		}
		return nil
	}
	e.out, e.errOut = &syncBuf{}, &syncBuf{}
	e.f.IO.Out, e.f.IO.ErrOut = e.out, e.errOut
	if code := Run(ctx, e.f, []string{"replay", "--since", "2h", "--name", "ctrl-c"}); code != cmdutil.ExitInterrupted {
		t.Fatalf("exit %d, want 130: %s", code, e.errOut)
	}
	if !strings.Contains(e.errOut.String(), "continue it with: evcli replay --resume ctrl-c") ||
		!strings.Contains(e.out.String(), "replay ctrl-c interrupted: 20 selected, 10 published") {
		t.Errorf("stdout %q stderr %q", e.out, e.errOut)
	}
	e.bus.failCall = nil
	if code := e.run(t, "replay", "--resume", "ctrl-c"); code != 0 {
		t.Fatalf("resume exit %d: %s", code, e.errOut)
	}
	if got, want := e.out.String(), "replay ctrl-c completed: 20 selected, 10 published, 0 failed, 10 skipped\n"; got != want {
		t.Errorf("resume: %q, want %q", got, want)
	}
	if len(e.bus.got) != 20 {
		t.Errorf("bus got %d events", len(e.bus.got))
	}
}
