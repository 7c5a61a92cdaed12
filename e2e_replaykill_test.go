package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
	"github.com/evcli/evcli/replay"
)

// TestReplayKill9 runs the evcli binary on the local provider, kills it with
// SIGKILL mid-replay, resumes, and checks exact counts: every event replayed,
// none lost, and the store (which keeps one row per event id) holds each
// replayed event once because a batch published again carries the same ids.
func TestReplayKill9(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	bin := evcliBin
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte("project: shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(filepath.Join(dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 2000
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var evs []providers.StoredEvent
	for i := range n {
		evs = append(evs, providers.StoredEvent{Event: providers.Event{ID: fmt.Sprintf("ev-%04d", i), Source: "shop.orders",
			DetailType: "OrderChanged", Time: base.Add(time.Duration(i) * time.Millisecond), EventBusName: "default",
			Detail: json.RawMessage(fmt.Sprintf(`{"aggregateId":"order-%02d","version":%d}`, i%50, i/50+1))}})
	}
	if _, err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	cps := replay.KVCheckpoints{KV: db}

	run := exec.Command(bin, "replay", "--since", "2h", "--name", "k9", "--rate", "500/s", "--concurrency", "2")
	run.Dir = dir
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(budget(2 * time.Minute))
	for {
		rec, ok, err := cps.Get(ctx, "k9")
		if err != nil {
			t.Fatal(err)
		}
		if ok && rec.Totals.Published >= 300 {
			break
		}
		if time.Now().After(deadline) {
			_ = run.Process.Kill()
			t.Fatalf("the replay did not get going: %+v", rec)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := run.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = run.Wait()
	killed, _, _ := cps.Get(ctx, "k9")
	if killed.State != replay.StateRunning || killed.Totals.Published >= n {
		t.Fatalf("after kill -9: %s, %d published", killed.State, killed.Totals.Published)
	}

	resume := exec.Command(bin, "replay", "--resume", "k9", "-o", "json")
	resume.Dir = dir
	out, err := resume.Output()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var sum struct {
		Type                                 string
		Selected, Published, Failed, Skipped int64
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Type != "summary" {
		t.Fatalf("summary %q: %v", lines[len(lines)-1], err)
	}
	if sum.Selected != n || sum.Failed != 0 || sum.Skipped != killed.Totals.Published || sum.Skipped+sum.Published != int64(n) {
		t.Errorf("resume summary %+v; %d were recorded before the kill", sum, killed.Totals.Published)
	}
	t.Logf("killed after %d recorded; resume published %d, skipped %d", killed.Totals.Published, sum.Published, sum.Skipped)
	final, _, _ := cps.Get(ctx, "k9")
	if final.State != replay.StateCompleted || final.Totals.Published != n || final.Runs != 2 {
		t.Errorf("final record: %s, %d published, %d runs", final.State, final.Totals.Published, final.Runs)
	}
	originals := map[string]int{}
	rows := 0
	for ev, err := range db.Events(ctx, providers.EventQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !replay.IsReplay(ev.Detail) {
			continue
		}
		var d struct {
			R replay.Marker `json:"_replay"`
		}
		_ = json.Unmarshal(ev.Detail, &d)
		orig := providers.StoredEvent{Event: providers.Event{ID: d.R.OriginalID}, AggregateID: d.R.AggregateID, AggregateVersion: d.R.Version}
		if d.R.Name != "k9" || ev.ID != replay.ReplayID("k9", &orig, replay.OrderAggregate) {
			t.Fatalf("replayed event %s: %+v", ev.ID, d.R)
		}
		originals[d.R.OriginalID]++
		rows++
	}
	if len(originals) != n || rows != n {
		t.Errorf("store holds %d replayed events of %d originals, want %d of %d", rows, len(originals), n, n)
	}
}
