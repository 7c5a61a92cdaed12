package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// replay --wait on the local provider: the replayed events reach every
// target again, and the command waits for those deliveries.
func TestReplayWaitLocal(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	root := t.TempDir()
	must(t, root, "init", "shop", "--template", "fan-out", "--lang", "node")
	dir := filepath.Join(root, "shop")
	must(t, dir, "deploy")
	ev := `{"source":"shop.orders","detail-type":"OrderCreated","detail":{"orderId":"o-%d","correlationId":"c-%d","customer":{"id":"c","email":"a@example.com"},"lines":[{"sku":"s","quantity":1,"unitPrice":1}],"total":1,"currency":"EUR"}}`
	var in strings.Builder
	for i := 0; i < 3; i++ {
		in.WriteString(strings.NewReplacer("%d", string(rune('0'+i))).Replace(ev) + "\n")
	}
	if r := run(t, dir, in.String(), "send", "-", "--wait"); r.code != 0 {
		t.Fatalf("send: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := must(t, dir, "replay", "--since", "1h", "--name", "again", "--wait", "-o", "json")
	sum := records(t, r.stdout, "summary")
	if len(sum) != 1 || sum[0]["published"] != float64(3) || sum[0]["failed"] != float64(0) {
		t.Fatalf("summary %v, want 3 published", sum)
	}
	dels := records(t, r.stdout, "delivery")
	per := map[string]int{}
	for _, d := range dels {
		if d["status"] != "ok" {
			t.Errorf("replayed delivery to %v: %v %v", d["function"], d["status"], d["error"])
		}
		per[d["function"].(string)]++
	}
	for _, fn := range []string{"inventory", "payment", "notification", "analytics"} {
		if per[fn] != 3 {
			t.Errorf("%s received %d replayed events, want 3 (all: %v)", fn, per[fn], per)
		}
	}
	types, _ := storedTypes(t, dir)
	if types["OrderCreated"] != 6 {
		t.Errorf("store holds %d OrderCreated events after the replay, want 3 sent + 3 replayed", types["OrderCreated"])
	}
	// The next replay leaves the first one's events out (the store does,
	// in SQLite); --include-replays takes them too.
	for flag, want := range map[string]float64{"--include-replays=false": 3, "--include-replays": 6} {
		r := must(t, dir, "replay", "--since", "1h", flag, "--dry-run", "-o", "json")
		if plan := records(t, r.stdout, "plan"); len(plan) != 1 || plan[0]["selected"] != want {
			t.Errorf("replay %s --dry-run: %v, want %v selected", flag, plan, want)
		}
	}
}
