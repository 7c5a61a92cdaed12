package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"", 0, false}, {"0", 0, false}, {"100", 100, false}, {"100/s", 100, false},
		{"600/m", 10, false}, {"30/min", 0.5, false}, {"0.5/s", 0.5, false},
		{"10/h", 0, true}, {"fast", 0, true}, {"-1/s", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"100/s", "600/m", "0", "1e3", "NaN", "/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err == nil && (r < 0 || r != r) {
			t.Fatalf("ParseRate(%q) = %v", s, r)
		}
	})
}

func TestMark(t *testing.T) {
	tests := []struct {
		detail  string
		want    string // detail without the marker
		wantErr string
	}{
		{`{"a":1}`, `{"a":1}`, ""},
		{` { "a" : [1,2] } `, `{"a":[1,2]}`, ""},
		{`{}`, `{}`, ""},
		{``, `{}`, ""},
		{`null`, `{}`, ""},
		{`{"_replay":{"replay-name":"old"},"b":true}`, `{"b":true}`, ""},
		{`[1]`, ``, "is not a JSON object"},
		{`{"a":`, ``, "is not valid JSON"},
	}
	for _, tt := range tests {
		se := sev("order-1", 3, 0, "OrderPlaced")
		se.ID = "orig-1"
		se.Detail = json.RawMessage(tt.detail)
		ev, err := Mark("fix", "orders", &se)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Mark(%s) error = %v, want %q", tt.detail, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Mark(%s): %v", tt.detail, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(ev.Detail, &m); err != nil {
			t.Fatalf("Mark(%s) detail %s: %v", tt.detail, ev.Detail, err)
		}
		var mk Marker
		_ = json.Unmarshal(m[MarkerKey], &mk)
		want := Marker{Name: "fix", Replayed: true, OriginalID: "orig-1", OriginalTime: "2026-11-26T10:00:00Z", AggregateID: "order-1", Version: 3}
		if mk != want {
			t.Errorf("Mark(%s) marker = %+v, want %+v", tt.detail, mk, want)
		}
		delete(m, MarkerKey)
		rest, _ := json.Marshal(m)
		var w any
		_ = json.Unmarshal([]byte(tt.want), &w)
		wb, _ := json.Marshal(w)
		if string(rest) != string(wb) {
			t.Errorf("Mark(%s) other members = %s, want %s", tt.detail, rest, wb)
		}
		if ev.ID != ReplayID("fix", &se, OrderAggregate) || ev.EventBusName != "orders" {
			t.Errorf("Mark: id %s bus %s", ev.ID, ev.EventBusName)
		}
	}
	// The splice keeps the original bytes (no re-encoding of numbers).
	se := sev("a", 1, 0, "T")
	se.Detail = json.RawMessage(`{"n":1.50,"big":12345678901234567890}`)
	ev, _ := Mark("x", "b", &se)
	if !strings.HasSuffix(string(ev.Detail), `,"n":1.50,"big":12345678901234567890}`) {
		t.Errorf("detail re-encoded: %s", ev.Detail)
	}
}

func runReplay(t *testing.T, cfg Config, store providers.EventStore, bus providers.EventBus, cps Checkpoints) Summary {
	t.Helper()
	sum, err := Run(context.Background(), cfg, store, bus, cps)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum
}

func TestSelection(t *testing.T) {
	evs := interleaved(4, 5) // 20 events at t0+0s..19s
	evs = append(evs, sev("", 0, 30*time.Second, "Ping"))
	match := func(ev []byte) (bool, error) {
		var e struct {
			Detail struct{ Version int } `json:"detail"`
		}
		err := json.Unmarshal(ev, &e)
		return e.Detail.Version%2 == 1, err
	}
	tests := []struct {
		name string
		sel  Selection
		m    func([]byte) (bool, error)
		want []string // original ids, in replay order
	}{
		{"window", Selection{Since: t0.Add(16 * time.Second), Until: t0.Add(31 * time.Second)},
			nil, []string{"plain-30000000000", "order-000-v5", "order-001-v5", "order-002-v5", "order-003-v5"}},
		{"until exclusive", Selection{Since: t0, Until: t0.Add(2 * time.Second)}, nil, []string{"order-000-v1", "order-001-v1"}},
		{"aggregates", Selection{Aggregates: []string{"order-002", "order-000"}, Types: []string{"OrderPlaced"}},
			nil, []string{"order-000-v1", "order-002-v1"}},
		{"types", Selection{Types: []string{"Ping"}}, nil, []string{"plain-30000000000"}},
		{"pattern", Selection{Aggregates: []string{"order-001"}}, match, []string{"order-001-v1", "order-001-v3", "order-001-v5"}},
		{"limit in replay order", Selection{Limit: 3, Order: OrderAggregate}, nil, []string{"plain-30000000000", "order-000-v1", "order-000-v2"}},
		{"limit in time order", Selection{Limit: 3, Order: OrderTime}, nil, []string{"order-000-v1", "order-001-v1", "order-002-v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: t0.Add(time.Hour)}
			cfg := baseConfig("sel", clk)
			cfg.Selection = tt.sel
			cfg.Match = tt.m
			bus := &fakeBus{}
			sum := runReplay(t, cfg, &memStore{events: evs}, bus, NewMemCheckpoints())
			var got []string
			for _, d := range bus.deliveries() {
				got = append(got, d.OriginalID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("published %v, want %v", got, tt.want)
			}
			if sum.Selected != int64(len(tt.want)) || sum.Published != sum.Selected || sum.Failed != 0 || sum.Skipped != 0 {
				t.Errorf("summary %+v", sum)
			}
		})
	}
}

func TestReplaysAreLeftOut(t *testing.T) {
	evs := interleaved(2, 2)
	marked, _ := Mark("earlier", "default", &evs[0])
	replayed := evs[0]
	replayed.Event = marked
	nested := sev("order-009", 1, time.Second, "X")
	nested.Detail = json.RawMessage(`{"a":{"_replay":1},"_replay":{"replayed":true}}`)
	inner := sev("order-008", 1, time.Second, "X")
	inner.Detail = json.RawMessage(`{"a":{"_replay":1}}`) // not top level: an ordinary event
	evs = append(evs, replayed, nested, inner)
	for _, include := range []bool{false, true} {
		clk := &fakeClock{t: t0.Add(time.Hour)}
		cfg := baseConfig(fmt.Sprint("incl-", include), clk)
		cfg.Selection.IncludeReplays = include
		store := &memStore{events: evs}
		sum := runReplay(t, cfg, store, &fakeBus{}, NewMemCheckpoints())
		if want := map[bool]int64{false: 5, true: 7}[include]; sum.Published != want {
			t.Errorf("include replays %v: published %d, want %d", include, sum.Published, want)
		}
		// The store is asked to leave replays out (and the selector checks
		// again, since this store does not).
		if len(store.queries) == 0 || store.queries[0].ExcludeReplays == include {
			t.Errorf("include replays %v: store queries %+v", include, store.queries)
		}
	}
}

func TestOrderPerAggregateWithGaps(t *testing.T) {
	evs := interleaved(3, 4)
	// order-001 loses version 2; order-002 has version 3 twice; the store
	// yields them shuffled.
	evs = slices.DeleteFunc(evs, func(e providers.StoredEvent) bool { return e.ID == "order-001-v2" })
	dup := sev("order-002", 3, 100*time.Second, "OrderUpdated")
	dup.ID = "order-002-v3-again"
	evs = append(evs, dup)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })

	clk := &fakeClock{t: t0.Add(time.Hour)}
	cfg := baseConfig("order", clk)
	var gaps []string
	cfg.OnGap = func(g Gap) { gaps = append(gaps, g.String()) }
	bus := &fakeBus{}
	sum := runReplay(t, cfg, &memStore{events: evs}, bus, NewMemCheckpoints())
	var got []string
	for _, d := range bus.deliveries() {
		got = append(got, d.OriginalID)
	}
	want := []string{
		"order-000-v1", "order-000-v2", "order-000-v3", "order-000-v4",
		"order-001-v1", "order-001-v3", "order-001-v4",
		"order-002-v1", "order-002-v2", "order-002-v3", "order-002-v3-again", "order-002-v4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
	wantGaps := []string{
		"aggregate order-001: version 2 is missing (between 1 and 3)",
		"aggregate order-002: version 3 appears more than once",
	}
	if !slices.Equal(gaps, wantGaps) || sum.Gaps != 2 {
		t.Errorf("gaps %q (%d), want %q", gaps, sum.Gaps, wantGaps)
	}
}

// TestOrderSpilled checks both orders through sorted runs on disk.
func TestOrderSpilled(t *testing.T) {
	evs := interleaved(37, 40) // 1480 events
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	for _, order := range []Order{OrderAggregate, OrderTime} {
		t.Run(string(order), func(t *testing.T) {
			clk := &fakeClock{t: t0.Add(time.Hour)}
			cfg := baseConfig("spill", clk)
			cfg.Selection.Order = order
			cfg.SpillThreshold = 20_000 // ~50 events a run
			cfg.SpillDir = t.TempDir()
			if order == OrderAggregate {
				cfg.Concurrency = 3 // time order is checked across batches: one at a time
			}
			bus := &fakeBus{}
			sum := runReplay(t, cfg, &memStore{events: evs}, bus, NewMemCheckpoints())
			got := bus.deliveries()
			if sum.Published != 1480 || len(got) != 1480 {
				t.Fatalf("published %d (%d delivered), want 1480", sum.Published, len(got))
			}
			last := map[string]int64{}
			for i, d := range got {
				if d.Version != last[d.Aggregate]+1 {
					t.Fatalf("delivery %d: %s version %d after %d", i, d.Aggregate, d.Version, last[d.Aggregate])
				}
				last[d.Aggregate] = d.Version
			}
			if order == OrderTime {
				// Global time order: ids follow the interleaved input.
				for i := 1; i < len(got); i++ {
					a, b := got[i-1], got[i]
					if b.Version < a.Version || b.Version == a.Version && b.Aggregate <= a.Aggregate {
						t.Fatalf("delivery %d (%s v%d) after (%s v%d): not time order", i, b.Aggregate, b.Version, a.Aggregate, a.Version)
					}
				}
			}
			if sum.Gaps != 0 {
				t.Errorf("gaps %d", sum.Gaps)
			}
			if entries, _ := filepathGlob(cfg.SpillDir); len(entries) != 0 {
				t.Errorf("spill files left behind: %v", entries)
			}
		})
	}
}

func TestSorterSpillsAndRoundTrips(t *testing.T) {
	s := newSorter(OrderTime, t.TempDir(), 2000)
	defer s.Close()
	var in []providers.StoredEvent
	for i := range 200 {
		ev := sev(fmt.Sprintf("a%d", i%7), int64(i), time.Duration(199-i)*time.Millisecond, "T")
		ev.Resources = []string{"arn:x", ""}
		ev.Seq = int64(i)
		ev.CorrelationID = "c"
		ev.Region, ev.Account, ev.EventBusName = "eu-west-1", "123", "b"
		in = append(in, ev)
		if err := s.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	if s.Runs() < 5 {
		t.Fatalf("runs = %d, want spilling", s.Runs())
	}
	var out []providers.StoredEvent
	for ev, err := range s.Sorted() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	slices.Reverse(in)
	if len(out) != len(in) {
		t.Fatalf("got %d events, want %d", len(out), len(in))
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.ID != b.ID || !a.Time.Equal(b.Time) || string(a.Detail) != string(b.Detail) || !slices.Equal(a.Resources, b.Resources) ||
			a.Seq != b.Seq || a.AggregateVersion != b.AggregateVersion || a.CorrelationID != b.CorrelationID ||
			a.Region != b.Region || a.Account != b.Account || a.EventBusName != b.EventBusName || a.Source != b.Source {
			t.Fatalf("event %d: got %+v, want %+v", i, b, a)
		}
	}
}

func TestBatchingLimits(t *testing.T) {
	big := func(id string, n int) providers.StoredEvent {
		ev := sev("", 0, 0, "Big")
		ev.ID = id
		ev.AggregateID = ""
		ev.Detail = json.RawMessage(`{"pad":"` + strings.Repeat("x", n) + `"}`)
		return ev
	}
	var evs []providers.StoredEvent
	for i := range 23 { // small: batches of 10, 10, then 3 with 4 big ones
		ev := sev("", 0, time.Duration(i)*time.Millisecond, "Small")
		evs = append(evs, ev)
	}
	for i := range 5 { // 60 KB each: 4 fit in 256 KiB, the 5th does not
		ev := big(fmt.Sprintf("big-%d", i), 60_000)
		ev.Time = t0.Add(time.Second + time.Duration(i)*time.Millisecond)
		evs = append(evs, ev)
	}
	huge := big("huge", MaxBatchBytes)
	huge.Time = t0.Add(2 * time.Second)
	evs = append(evs, huge)

	clk := &fakeClock{t: t0.Add(time.Hour)}
	bus := &fakeBus{}
	sum := runReplay(t, baseConfig("batch", clk), &memStore{events: evs}, bus, NewMemCheckpoints())
	if want := []int{10, 10, 7, 1}; !slices.Equal(bus.sizes, want) {
		t.Errorf("batch sizes %v, want %v", bus.sizes, want)
	}
	for i, n := range bus.bytes {
		if n > MaxBatchBytes {
			t.Errorf("batch %d is %d bytes", i, n)
		}
	}
	if sum.Published != 28 || sum.Failed != 1 || len(sum.Failures) != 1 || sum.Failures[0].Code != "EntryTooLarge" || sum.Failures[0].OriginalID != "huge" {
		t.Errorf("summary %+v", sum)
	}
}

func TestPartialFailuresRetried(t *testing.T) {
	evs := interleaved(2, 10)
	clk := &fakeClock{t: t0.Add(time.Hour)}
	bus := &fakeBus{fail: func(id string, attempt int) string {
		switch {
		case id == "order-001-v4":
			return "MalformedDetail" // not retryable
		case id == "order-000-v2" && attempt <= 2:
			return "ThrottlingException"
		case id == "order-001-v7" && attempt == 1:
			return "InternalFailure"
		case id == "order-000-v9":
			return "ThrottlingException" // always: gives up
		}
		return ""
	}}
	cfg := baseConfig("partial", clk)
	cfg.MaxAttempts = 4
	sum := runReplay(t, cfg, &memStore{events: evs}, bus, NewMemCheckpoints())
	if sum.Published != 18 || sum.Failed != 2 || sum.Selected != 20 {
		t.Errorf("summary %+v, want 18 published, 2 failed", sum)
	}
	var codes []string
	for _, f := range sum.Failures {
		codes = append(codes, f.OriginalID+":"+f.Code)
	}
	slices.Sort(codes)
	if want := []string{"order-000-v9:ThrottlingException", "order-001-v4:MalformedDetail"}; !slices.Equal(codes, want) {
		t.Errorf("failures %v, want %v", codes, want)
	}
	// Batch 1 (order-000 v1..v10): v2 and v9 retried; v2 ok at attempt 3,
	// v9 given up at attempt 4: backoffs 200, 400, 800 ms.
	// Batch 2 (order-001): v7 retried once: 200 ms.
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 200 * time.Millisecond}
	if !slices.Equal(clk.sleeps, want) {
		t.Errorf("sleeps %v, want %v", clk.sleeps, want)
	}
	// Every published entry exactly once.
	seen := map[string]int{}
	for _, d := range bus.deliveries() {
		seen[d.OriginalID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}

func TestCallErrorStopsAndResumes(t *testing.T) {
	evs := interleaved(5, 6) // 30 events: 5 aggregates × 6 → batches per aggregate
	clk := &fakeClock{t: t0.Add(time.Hour)}
	cps := NewMemCheckpoints()
	denied := &providers.Error{Code: providers.PermissionDenied, Resource: "bus default", Err: errors.New("not allowed")}
	bus := &fakeBus{callErr: func(call int) error {
		if call >= 3 {
			return denied
		}
		return nil
	}}
	cfg := baseConfig("stop", clk)
	_, err := Run(context.Background(), cfg, &memStore{events: evs}, bus, cps)
	if !errors.Is(err, denied) || providers.CodeOf(err) != providers.PermissionDenied {
		t.Fatalf("Run error = %v, want the permission error", err)
	}
	rec, _, _ := cps.Get(context.Background(), "stop")
	if rec.State != StateFailed || rec.Totals.Published != 20 || !strings.Contains(rec.Error, "not allowed") {
		t.Fatalf("record %+v", rec)
	}
	bus.callErr = nil
	cfg.Resume = true
	cfg.Selection = Selection{} // taken from the record
	sum := runReplay(t, cfg, &memStore{events: evs}, bus, cps)
	if sum.Skipped != 20 || sum.Published != 10 || sum.Selected != 30 {
		t.Errorf("resume summary %+v", sum)
	}
	rec, _, _ = cps.Get(context.Background(), "stop")
	if rec.State != StateCompleted || rec.Totals.Published != 30 || rec.Runs != 2 {
		t.Errorf("record after resume %+v", rec)
	}
	if _, err := Run(context.Background(), cfg, &memStore{events: evs}, bus, cps); err == nil || !strings.Contains(err.Error(), "already completed") {
		t.Errorf("resuming a completed replay: %v", err)
	}
	cfg.Resume = false
	if _, err := Run(context.Background(), cfg, &memStore{events: evs}, bus, cps); err == nil || !strings.Contains(err.Error(), `--name: replay exists: "stop" completed on 2026-11-26T11:00:00Z; choose another --name`) {
		t.Errorf("reusing a name: %v", err)
	}
}

func TestPacing(t *testing.T) {
	evs := interleaved(10, 10) // 100 events
	clk := &fakeClock{t: t0.Add(time.Hour)}
	bus := &fakeBus{now: clk.Now}
	cfg := baseConfig("pace", clk)
	cfg.Rate = 20
	runReplay(t, cfg, &memStore{events: evs}, bus, NewMemCheckpoints())
	// 10-entry batches at 20/s: one every 500 ms, the first at once.
	got := bus.deliveries()
	for i, d := range got {
		want := t0.Add(time.Hour + time.Duration(i/10)*500*time.Millisecond)
		if !d.At.Equal(want) {
			t.Fatalf("delivery %d at %v, want %v", i, d.At.Sub(t0), want.Sub(t0))
		}
	}
	// A rate below 10/s shrinks batches: 3/s sends 3 at a time, a second apart.
	clk2 := &fakeClock{t: t0.Add(time.Hour)}
	bus2 := &fakeBus{now: clk2.Now}
	cfg2 := baseConfig("pace2", clk2)
	cfg2.Rate = 3
	cfg2.Selection.Limit = 9
	runReplay(t, cfg2, &memStore{events: evs}, bus2, NewMemCheckpoints())
	if !slices.Equal(bus2.sizes, []int{3, 3, 3}) {
		t.Errorf("sizes at 3/s: %v", bus2.sizes)
	}
	if d := clk2.Now().Sub(t0.Add(time.Hour)); d != 2*time.Second {
		t.Errorf("9 events at 3/s took %v, want 2s", d)
	}
}

// crashCheckpoints stores records until frozen; afterwards it drops them,
// as a process killed with kill -9 writes nothing more.
type crashCheckpoints struct {
	*MemCheckpoints
	fmu    sync.Mutex
	frozen bool
}

func (c *crashCheckpoints) freeze() {
	c.fmu.Lock()
	c.frozen = true
	c.fmu.Unlock()
}

func (c *crashCheckpoints) Put(ctx context.Context, rec Record) error {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.frozen {
		return nil
	}
	return c.MemCheckpoints.Put(ctx, rec)
}

// TestKillAndResume simulates kill -9 while batch k+1 is in flight (the bus
// has accepted it, no checkpoint records it), then resumes.
func TestKillAndResume(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		killAt      int
	}{{"serial", 1, 4}, {"concurrent", 4, 7}, {"first batch", 1, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			evs := interleaved(40, 3) // 120 events, 40 aggregates
			store := &memStore{events: evs}
			cps := &crashCheckpoints{MemCheckpoints: NewMemCheckpoints()}
			clk := &fakeClock{t: t0.Add(time.Hour)}
			ctx, kill := context.WithCancel(context.Background())
			bus := &fakeBus{}
			bus.onCall = func(call int, _ []providers.Event) {
				if call == tc.killAt {
					cps.freeze()
					kill()
				}
			}
			cfg := baseConfig("crash", clk)
			cfg.Concurrency = tc.concurrency
			cfg.Selection.Order = OrderTime
			if _, err := Run(ctx, cfg, store, bus, cps); !errors.Is(err, context.Canceled) {
				t.Fatalf("killed run: %v", err)
			}
			first := bus.deliveries()
			rec, _, _ := cps.Get(context.Background(), "crash")
			if rec.State != StateRunning {
				t.Fatalf("record state %s, want running (killed)", rec.State)
			}

			bus.onCall = nil
			cfg.Resume = true
			cfg.Selection = Selection{}
			sum := runReplay(t, cfg, store, bus, cps.MemCheckpoints)
			all := bus.deliveries()
			count := map[string]int{}
			for _, d := range all {
				count[d.OriginalID]++
			}
			dups := 0
			for _, ev := range evs {
				switch count[ev.ID] {
				case 0:
					t.Errorf("%s never published", ev.ID)
				case 1:
				default:
					dups += count[ev.ID] - 1
				}
			}
			// Only batches in flight at the kill repeat: at most
			// concurrency batches of 10.
			if dups > 10*tc.concurrency {
				t.Errorf("%d duplicates, want at most %d", dups, 10*tc.concurrency)
			}
			if tc.concurrency == 1 && dups != 10 {
				t.Errorf("%d duplicates, want exactly the in-flight batch (10)", dups)
			}
			if sum.Selected != 120 || sum.Skipped+sum.Published != 120 || int(sum.Published) != len(all)-len(first) {
				t.Errorf("resume summary %+v; %d delivered before the kill", sum, len(first))
			}
			// Duplicates carry the same replay id.
			ids := map[string]string{}
			for _, d := range all {
				if prev, ok := ids[d.OriginalID]; ok && prev != d.ID {
					t.Errorf("%s published with ids %s and %s", d.OriginalID, prev, d.ID)
				}
				ids[d.OriginalID] = d.ID
			}
			if bus.conflicts != 0 {
				t.Errorf("%d calls held an aggregate already in flight", bus.conflicts)
			}
		})
	}
}

// TestCrashAfterEachBatch kills a replay after every possible number of
// acknowledged batches and checks resume never loses or repeats more than
// one batch.
func TestCrashAfterEachBatch(t *testing.T) {
	evs := interleaved(7, 5) // 35 events → aggregate order: 4 batches
	for k := 0; k <= 4; k++ {
		store := &memStore{events: evs}
		cps := NewMemCheckpoints()
		clk := &fakeClock{t: t0.Add(time.Hour)}
		puts := 0
		cps.FailPut = func(rec Record) error {
			puts++
			if puts > 1+k { // the initial Put, then one per batch
				return errors.New("killed")
			}
			return nil
		}
		bus := &fakeBus{}
		_, err := Run(context.Background(), baseConfig("k", clk), store, bus, cps)
		if k < 4 && err == nil {
			t.Fatalf("k=%d: run survived", k)
		}
		cps.FailPut = nil
		before := len(bus.deliveries())
		cfg := baseConfig("k", clk)
		cfg.Resume = true
		rec, _, _ := cps.Get(context.Background(), "k")
		if rec.State == StateCompleted {
			continue
		}
		sum := runReplay(t, cfg, store, bus, cps)
		after := bus.deliveries()
		if want := int64(35 - 10*k); k < 4 && (sum.Published != want || sum.Skipped != int64(10*k)) || k == 4 && sum.Skipped != 35 {
			t.Errorf("k=%d: resume %+v, want %d published", k, sum, want)
		}
		count := map[string]int{}
		for _, d := range after {
			count[d.OriginalID]++
		}
		if len(count) != 35 {
			t.Errorf("k=%d: %d distinct events published, want 35", k, len(count))
		}
		if extra := len(after) - 35; extra > 10 {
			t.Errorf("k=%d: %d repeats (before resume %d)", k, extra, before)
		}
	}
}

func TestConcurrencyKeepsAggregateOrder(t *testing.T) {
	evs := interleaved(30, 25) // 750 events
	clk := &fakeClock{t: t0.Add(time.Hour)}
	bus := &fakeBus{onCall: func(call int, _ []providers.Event) {
		if call%3 == 0 {
			time.Sleep(time.Millisecond) // let other batches overtake
		}
	}}
	for _, order := range []Order{OrderAggregate, OrderTime} {
		bus.got = nil
		cfg := baseConfig("conc-"+string(order), clk)
		cfg.Concurrency = 8
		cfg.Selection.Order = order
		sum := runReplay(t, cfg, &memStore{events: evs}, bus, NewMemCheckpoints())
		if sum.Published != 750 {
			t.Fatalf("%s: published %d", order, sum.Published)
		}
		last := map[string]int64{}
		for _, d := range bus.deliveries() {
			if d.Version != last[d.Aggregate]+1 {
				t.Fatalf("%s: %s version %d after %d", order, d.Aggregate, d.Version, last[d.Aggregate])
			}
			last[d.Aggregate] = d.Version
		}
	}
	if bus.conflicts != 0 {
		t.Errorf("%d calls held an aggregate already in flight", bus.conflicts)
	}
}

func TestDryRun(t *testing.T) {
	evs := interleaved(3, 4)
	evs = append(evs, sev("", 0, 50*time.Second, "Ping"))
	clk := &fakeClock{t: t0.Add(time.Hour)}
	cfg := baseConfig("dry", clk)
	cfg.Targets = func(ev providers.Event) []string {
		if ev.DetailType == "OrderPlaced" {
			return []string{"notify", "audit"}
		}
		return []string{"audit"}
	}
	plan, err := DryRun(context.Background(), cfg, &memStore{events: evs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{
		Name: "dry", Bus: "default", Selected: 13, Publish: 13, Batches: 2, Bytes: plan.Bytes,
		ByType:      []NameCount{{"OrderUpdated", 9}, {"OrderPlaced", 3}, {"Ping", 1}},
		ByAggregate: []NameCount{{"order-000", 4}, {"order-001", 4}, {"order-002", 4}, {"", 1}},
		ByTarget:    []NameCount{{"audit", 13}, {"notify", 3}},
	}
	plan.Sample = nil
	gotJ, _ := json.Marshal(plan)
	wantJ, _ := json.Marshal(want)
	if string(gotJ) != string(wantJ) {
		t.Errorf("plan\n got %s\nwant %s", gotJ, wantJ)
	}
	if plan.Bytes <= 0 {
		t.Errorf("bytes %d", plan.Bytes)
	}
}

func filepathGlob(dir string) ([]string, error) {
	entries, err := osReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}

func TestReadErrorStops(t *testing.T) {
	clk := &fakeClock{t: t0.Add(time.Hour)}
	boom := &providers.Error{Code: providers.Unavailable, Resource: "table events", Err: errors.New("down")}
	cps := NewMemCheckpoints()
	_, err := Run(context.Background(), baseConfig("rd", clk), &memStore{events: interleaved(2, 2), err: boom}, &fakeBus{}, cps)
	if providers.CodeOf(err) != providers.Unavailable || !strings.Contains(err.Error(), "read events") {
		t.Fatalf("error %v", err)
	}
	rec, _, _ := cps.Get(context.Background(), "rd")
	if rec.State != StateFailed {
		t.Errorf("state %s", rec.State)
	}
}

var _ = fmt.Sprint

func TestMarkerJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", `q"uo\te`, "ctl\x00\x1f\n\r\t", "uni é ☃ \u2028\u2029", "bad \xff utf8", "<html>&"} {
		m := Marker{Name: s, Replayed: true, OriginalID: s, OriginalTime: s, AggregateID: s, Version: -3}
		var want Marker
		if err := json.Unmarshal(m.appendJSON(nil), &want); err != nil {
			t.Fatalf("%q: %s: %v", s, m.appendJSON(nil), err)
		}
		std, _ := json.Marshal(m)
		var std2 Marker
		_ = json.Unmarshal(std, &std2)
		if want != std2 {
			t.Errorf("%q: appendJSON decodes to %+v, encoding/json to %+v", s, want, std2)
		}
	}
}

// FuzzRunRecord: any event survives the spill format unchanged, and no
// byte string makes the decoder panic.
func FuzzRunRecord(f *testing.F) {
	f.Add("id-1", "Type", "src", []byte(`{"a":1}`), "agg", int64(3), int64(1795687200), int64(5), "arn:x")
	f.Add("", "", "", []byte(nil), "", int64(0), int64(0), int64(0), "")
	f.Add("é\x00", "\xff", "s", []byte(`[]`), "a\nb", int64(-1), int64(-62135596800), int64(999999999), "")
	f.Fuzz(func(t *testing.T, id, typ, src string, detail []byte, agg string, ver, sec, nsec int64, res string) {
		ev := providers.StoredEvent{
			Event:       providers.Event{ID: id, DetailType: typ, Source: src, Detail: detail, Resources: []string{res}},
			AggregateID: agg, AggregateVersion: ver, Seq: ver ^ sec,
		}
		if sec != 0 {
			ev.Time = time.Unix(sec, (nsec%1e9+1e9)%1e9).UTC()
		}
		rec := encodeEvent(nil, &ev)
		got, err := decodeEvent(bufio.NewReader(bytes.NewReader(rec)))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(detail) == 0 {
			ev.Detail = nil
		}
		if got.ID != ev.ID || got.DetailType != ev.DetailType || got.Source != ev.Source || !bytes.Equal(got.Detail, ev.Detail) ||
			got.AggregateID != ev.AggregateID || got.AggregateVersion != ev.AggregateVersion || got.Seq != ev.Seq ||
			!got.Time.Equal(ev.Time) || !slices.Equal(got.Resources, ev.Resources) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, ev)
		}
		// Arbitrary bytes: an error or an event, never a panic.
		_, _ = decodeEvent(bufio.NewReader(bytes.NewReader(detail)))
	})
}

func TestFormatProgress(t *testing.T) {
	tests := []struct {
		p    Progress
		want string
	}{
		{Progress{Total: -1, Read: 12345, Selected: 1000}, "reading events… 12,345 read, 1,000 selected"},
		{Progress{Total: 1000, Published: 250, Skipped: 250, Elapsed: 5 * time.Second}, "[=====>    ] 500/1,000  50/s  ETA 10s"},
		{Progress{Total: 1000, Published: 990, Failed: 10, Elapsed: 2 * time.Second}, "[==========] 1,000/1,000  500/s  10 failed"},
		{Progress{Total: 0}, "[==========] 0/0"},
	}
	for _, tt := range tests {
		if got := FormatProgress(tt.p, 10); got != tt.want {
			t.Errorf("FormatProgress(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
	var buf bytes.Buffer
	clk := &fakeClock{t: t0}
	bar := &Bar{W: &buf, Now: clk.Now, Width: 10}
	bar.Update(Progress{Total: 10, Published: 1})
	bar.Update(Progress{Total: 10, Published: 2}) // within 100ms: skipped
	bar.Update(Progress{Phase: PhaseDone, Total: 10, Published: 10})
	bar.Finish()
	if got, want := buf.String(), "\r[=>        ] 1/10\r[==========] 10/10\n"; got != want {
		t.Errorf("bar wrote %q, want %q", got, want)
	}
}
