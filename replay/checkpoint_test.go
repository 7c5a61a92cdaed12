package replay

import (
	"context"
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

// Checkpoints are written while the next batches are published. These
// tests hold the guarantee that allows: at any moment, what the bus has
// accepted beyond the last durable checkpoint is at most Concurrency
// batches, so a kill -9 repeats at most those (with the same ids) and
// skips nothing.

// slowCheckpoints delays each Put a little, so that batches are
// acknowledged while a checkpoint is being written, and dies after
// keep batch checkpoints when keep >= 0: that Put and every later one
// are lost, as with kill -9, and the run is cancelled.
type slowCheckpoints struct {
	*MemCheckpoints
	mu     sync.Mutex
	rnd    *rand.Rand
	keep   int
	puts   int
	dead   bool
	kill   context.CancelFunc
	onPut  func(n int) // before Put number n (0: the one that starts the run) is stored
	killed bool
	// storeMu is held while a record is stored, so that a test can read
	// the durable record and what the bus accepted at one moment.
	storeMu sync.Mutex
}

func (c *slowCheckpoints) Put(ctx context.Context, rec Record) error {
	c.mu.Lock()
	n := c.puts
	c.puts++
	d := time.Duration(c.rnd.IntN(400)) * time.Microsecond
	if c.keep >= 0 && n > c.keep && !c.dead {
		c.dead = true
		c.killed = true
		c.kill()
	}
	dead, onPut := c.dead, c.onPut
	c.mu.Unlock()
	if dead {
		return nil
	}
	if onPut != nil {
		onPut(n)
	}
	time.Sleep(d)
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	return c.MemCheckpoints.Put(ctx, rec)
}

// uncovered counts the entries the bus accepted (and extra, being
// accepted) that the durable record does not cover, both read at one
// moment.
func uncovered(t *testing.T, bus *fakeBus, cps *slowCheckpoints, name string, byID map[string]providers.StoredEvent, extra []providers.Event) int {
	t.Helper()
	cps.storeMu.Lock()
	rec, ok, err := cps.MemCheckpoints.Get(context.Background(), name)
	accepted := bus.deliveries()
	cps.storeMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	count := func(orig string) {
		if se, found := byID[orig]; !ok || !found || !rec.done(KeyOf(&se)) {
			n++
		}
	}
	for _, d := range accepted {
		count(d.OriginalID)
	}
	for _, ev := range extra {
		count(markerOf(t, ev).OriginalID)
	}
	return n
}

// TestAcceptedBeyondCheckpointBounded checks at every publish that the
// entries accepted beyond the durable checkpoint stay within Concurrency
// batches, while checkpoints are slow and coalesce.
func TestAcceptedBeyondCheckpointBounded(t *testing.T) {
	evs := interleaved(37, 9) // 333 events
	byID := map[string]providers.StoredEvent{}
	for _, ev := range evs {
		byID[ev.ID] = ev
	}
	for _, order := range []Order{OrderAggregate, OrderTime} {
		for _, conc := range []int{1, 2, 4, 8} {
			t.Run(fmt.Sprintf("%s/concurrency=%d", order, conc), func(t *testing.T) {
				mem := NewMemCheckpoints()
				cps := &slowCheckpoints{MemCheckpoints: mem, rnd: rand.New(rand.NewPCG(uint64(conc), 7)), keep: -1}
				clk := &fakeClock{t: t0.Add(time.Hour)}
				bus := &fakeBus{}
				name := fmt.Sprintf("bound-%s-%d", order, conc)
				var mu sync.Mutex
				worst := 0
				bus.onCall = func(call int, batch []providers.Event) {
					n := uncovered(t, bus, cps, name, byID, batch)
					mu.Lock()
					worst = max(worst, n)
					mu.Unlock()
				}
				cfg := baseConfig(name, clk)
				cfg.Concurrency = conc
				cfg.Selection.Order = order
				sum := runReplay(t, cfg, &memStore{events: evs}, bus, cps)
				if sum.Published != 333 {
					t.Fatalf("published %d", sum.Published)
				}
				if worst > conc*MaxBatchEntries {
					t.Errorf("%d entries accepted beyond the durable checkpoint, want at most %d (Concurrency batches)", worst, conc*MaxBatchEntries)
				}
				if bus.conflicts != 0 {
					t.Errorf("%d calls held an aggregate already in flight", bus.conflicts)
				}
			})
		}
	}
}

// TestKillAtEveryCheckpoint kills a replay (checkpoints lost from then on,
// as with kill -9) after each possible number of batch checkpoints, with
// batches still being published, and resumes: every event is published,
// the repeats are at most Concurrency batches, with the same ids.
func TestKillAtEveryCheckpoint(t *testing.T) {
	evs := interleaved(23, 7) // 161 events: 17 batches
	for _, conc := range []int{1, 3} {
		for keep := 0; keep <= 17; keep++ {
			t.Run(fmt.Sprintf("concurrency=%d/keep=%d", conc, keep), func(t *testing.T) {
				mem := NewMemCheckpoints()
				ctx, kill := context.WithCancel(context.Background())
				defer kill()
				cps := &slowCheckpoints{MemCheckpoints: mem, rnd: rand.New(rand.NewPCG(uint64(keep), uint64(conc))), keep: keep, kill: kill}
				clk := &fakeClock{t: t0.Add(time.Hour)}
				bus := &fakeBus{}
				cfg := baseConfig("k9", clk)
				cfg.Concurrency = conc
				_, err := Run(ctx, cfg, &memStore{events: evs}, bus, cps)
				cps.mu.Lock()
				killed := cps.killed
				cps.mu.Unlock()
				if !killed {
					if err != nil {
						t.Fatalf("run: %v", err)
					}
					return // fewer checkpoints than keep: it completed
				}
				if err != nil && !errors.Is(err, context.Canceled) { // nil: killed writing the final record
					t.Fatalf("killed run: %v", err)
				}
				rec, _, _ := mem.Get(context.Background(), "k9")
				if rec.State != StateRunning {
					t.Fatalf("record after the kill: %s", rec.State)
				}
				before := len(bus.deliveries())

				cfg.Resume = true
				cfg.Selection = Selection{}
				sum := runReplay(t, cfg, &memStore{events: evs}, bus, mem)
				all := bus.deliveries()
				count := map[string]int{}
				ids := map[string]string{}
				for _, d := range all {
					count[d.OriginalID]++
					if prev, ok := ids[d.OriginalID]; ok && prev != d.ID {
						t.Errorf("%s published with ids %s and %s", d.OriginalID, prev, d.ID)
					}
					ids[d.OriginalID] = d.ID
				}
				dups := 0
				for _, ev := range evs {
					if count[ev.ID] == 0 {
						t.Errorf("%s never published", ev.ID)
					}
					dups += max(0, count[ev.ID]-1)
				}
				if dups > conc*MaxBatchEntries {
					t.Errorf("%d repeats, want at most %d (Concurrency batches)", dups, conc*MaxBatchEntries)
				}
				if sum.Selected != 161 || sum.Skipped+sum.Published != 161 || int(sum.Published) != len(all)-before {
					t.Errorf("resume %+v; %d accepted before it", sum, before)
				}
				final, _, _ := mem.Get(context.Background(), "k9")
				if final.State != StateCompleted || final.Runs != 2 {
					t.Errorf("final record %s after %d runs", final.State, final.Runs)
				}
			})
		}
	}
}

// TestWaitingAggregateDoesNotBlockOthers: a batch waiting for its
// aggregate's previous batch lets batches of other aggregates overtake it.
func TestWaitingAggregateDoesNotBlockOthers(t *testing.T) {
	// agg-a has 30 events (3 batches), then agg-b 10.
	var evs []providers.StoredEvent
	for v := 1; v <= 30; v++ {
		evs = append(evs, sev("agg-a", int64(v), time.Duration(v)*time.Second, "T"))
	}
	for v := 1; v <= 10; v++ {
		evs = append(evs, sev("agg-b", int64(v), time.Duration(100+v)*time.Second, "T"))
	}
	bus := &fakeBus{}
	sawB := make(chan struct{})
	bus.onCall = func(call int, batch []providers.Event) {
		switch markerOf(t, batch[0]).AggregateID {
		case "agg-b":
			close(sawB)
		case "agg-a":
			if call == 1 { // hold agg-a's first batch until agg-b's overtakes the waiting ones
				select {
				case <-sawB:
				case <-time.After(30 * time.Second):
					t.Error("agg-b waited behind agg-a's batches")
				}
			}
		}
	}
	clk := &fakeClock{t: t0.Add(time.Hour)}
	cfg := baseConfig("overtake", clk)
	cfg.Concurrency = 4
	sum := runReplay(t, cfg, &memStore{events: evs}, bus, NewMemCheckpoints())
	if sum.Published != 40 {
		t.Fatalf("published %d", sum.Published)
	}
	last := map[string]int64{}
	for _, d := range bus.deliveries() {
		if d.Version != last[d.Aggregate]+1 {
			t.Fatalf("%s version %d after %d", d.Aggregate, d.Version, last[d.Aggregate])
		}
		last[d.Aggregate] = d.Version
	}
	if bus.conflicts != 0 {
		t.Errorf("%d calls held an aggregate already in flight", bus.conflicts)
	}
}

// TestLargeBatchesForABusThatTakesThem: MaxBatchEntries and MaxBatchBytes
// above PutEvents' limits are honoured (the local bus), while an entry
// keeps EventBridge's size limit.
func TestLargeBatchesForABusThatTakesThem(t *testing.T) {
	evs := interleaved(50, 20) // 1000 events
	bus := &fakeBus{}
	clk := &fakeClock{t: t0.Add(time.Hour)}
	cfg := baseConfig("big", clk)
	cfg.MaxBatchEntries, cfg.MaxBatchBytes = 400, 1<<20
	sum := runReplay(t, cfg, &memStore{events: evs}, bus, NewMemCheckpoints())
	if sum.Published != 1000 || sum.Batches != 3 {
		t.Errorf("summary %+v, want 1000 published in 3 batches", sum)
	}
	for i, n := range bus.sizes {
		if n > 400 {
			t.Errorf("call %d: %d entries", i+1, n)
		}
	}
	cfg = Config{MaxBatchEntries: 1 << 30, MaxBatchBytes: 1 << 40}
	cfg.defaults()
	if cfg.MaxBatchEntries != maxBatchEntriesCap || cfg.MaxBatchBytes != maxBatchBytesCap {
		t.Errorf("caps: %d entries, %d bytes", cfg.MaxBatchEntries, cfg.MaxBatchBytes)
	}
}

// TestReplayIDLayout: ReplayID is a version 8 UUID, the same for the same
// replay and event; one replay's ids share their first 32 bits and differ
// between replays; in aggregate order an aggregate's ids sort by version
// (one run of neighbouring ids per aggregate), in time order by time; and
// events with the same aggregate and version, or the same time, still get
// different ids.
func TestReplayIDLayout(t *testing.T) {
	e1, e2 := sev("order-1", 1, time.Second, "T"), sev("order-1", 2, 2*time.Second, "T")
	other := sev("order-2", 1, time.Second, "T")
	a, b := ReplayID("fix", &e1, OrderAggregate), ReplayID("fix", &e2, OrderAggregate)
	if a != ReplayID("fix", &e1, OrderAggregate) || a[:8] != b[:8] || a == b || a[:8] == ReplayID("other", &e1, OrderAggregate)[:8] {
		t.Errorf("ids %s %s", a, b)
	}
	for _, id := range []string{a, prefixedReplayID("fix", "e-1"), legacyReplayID("fix", "e-1"), ReplayID("fix", &e1, OrderTime)} {
		if len(id) != 36 || id[14] != '8' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Errorf("%s is not a version 8 UUID", id)
		}
	}
	// Aggregate order: versions 1..300 of one aggregate sort as the
	// versions; other aggregates fall outside that run.
	var ids []string
	for v := int64(1); v <= 300; v++ {
		ev := sev("order-7", v, time.Duration(v)*time.Second, "T")
		ids = append(ids, ReplayID("fix", &ev, OrderAggregate))
	}
	if !slices.IsSorted(ids) {
		t.Errorf("an aggregate's ids do not sort by version: %s ... %s", ids[0], ids[len(ids)-1])
	}
	if o := ReplayID("fix", &other, OrderAggregate); o > ids[0] && o < ids[len(ids)-1] {
		t.Errorf("another aggregate's id %s falls inside order-7's run", o)
	}
	// Time order: ids sort by time, whatever the aggregate.
	ids = ids[:0]
	for i := range 300 {
		ev := sev(fmt.Sprint("order-", i%7), int64(i), time.Duration(i)*time.Millisecond, "T")
		ids = append(ids, ReplayID("fix", &ev, OrderTime))
	}
	if !slices.IsSorted(ids) {
		t.Errorf("time-ordered ids do not sort by time")
	}
	// Same key, different events: different ids.
	seen := map[string]bool{}
	for i := range 10000 {
		ev := sev("order-1", 5, time.Second, "T")
		ev.ID = fmt.Sprint("dup-", i)
		for _, o := range []Order{OrderAggregate, OrderTime} {
			id := ReplayID("fix", &ev, o)
			if seen[id] {
				t.Fatalf("id %s repeated", id)
			}
			seen[id] = true
		}
	}
}

// TestResumeKeepsIDScheme: a replay recorded with an older id scheme
// resumes with the ids it started with.
func TestResumeKeepsIDScheme(t *testing.T) {
	evs := interleaved(5, 6) // 30 events, 3 batches
	for _, scheme := range []int{0, idSchemePrefixed, idSchemeOrdered} {
		mem := NewMemCheckpoints()
		clk := &fakeClock{t: t0.Add(time.Hour)}
		ctx, kill := context.WithCancel(context.Background())
		cps := &slowCheckpoints{MemCheckpoints: mem, rnd: rand.New(rand.NewPCG(3, 4)), keep: 1, kill: kill}
		bus := &fakeBus{}
		if _, err := Run(ctx, baseConfig("ids", clk), &memStore{events: evs}, bus, cps); !errors.Is(err, context.Canceled) {
			t.Fatalf("killed run: %v", err)
		}
		kill()
		rec, _, _ := mem.Get(context.Background(), "ids")
		if rec.IDScheme != idSchemeOrdered {
			t.Fatalf("new record has id scheme %d", rec.IDScheme)
		}
		rec.IDScheme = scheme // 0: as written before the scheme existed
		if err := mem.Put(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		before := len(bus.deliveries())
		cfg := baseConfig("ids", clk)
		cfg.Resume = true
		runReplay(t, cfg, &memStore{events: evs}, bus, mem)
		byID := map[string]*providers.StoredEvent{}
		for i := range evs {
			byID[evs[i].ID] = &evs[i]
		}
		want := func(orig string) string {
			switch scheme {
			case 0:
				return legacyReplayID("ids", orig)
			case idSchemePrefixed:
				return prefixedReplayID("ids", orig)
			}
			return ReplayID("ids", byID[orig], OrderAggregate)
		}
		for _, d := range bus.deliveries()[before:] {
			if d.ID != want(d.OriginalID) {
				t.Fatalf("scheme %d: %s resumed with id %s, want %s", scheme, d.OriginalID, d.ID, want(d.OriginalID))
			}
		}
	}
}
