package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers/local/store"
)

const tuneProject = `project: tuning
bus: tuning-bus
functions:
  crunch:   # CPU-bound: a fixed amount of arithmetic per event
    source: fns/crunch
    runtime: nodejs20.x
    handler: index.handler
    memory: 1024
    timeout: 30
    events:
      - pattern: {source: [load]}
  waiter:   # IO-bound: sleeps 150 ms per event
    source: fns/waiter
    runtime: nodejs20.x
    handler: index.handler
    memory: 1024
    timeout: 30
    events:
      - pattern: {source: [load]}
`

const crunchHandler = `
exports.handler = async () => {
  let x = 0;
  for (let i = 0; i < 4000000; i++) x += Math.sqrt(i);   // a fixed amount of work
  return {x};
};
`

const waiterHandler = `
exports.handler = async () => { await new Promise(r => setTimeout(r, 150)); return {}; };
`

func recommendation(t *testing.T, out, fn string) map[string]any {
	t.Helper()
	for _, r := range records(t, out, "recommendation") {
		if r["function"] == fn {
			return r
		}
	}
	t.Fatalf("no recommendation for %s in:\n%s", fn, out)
	return nil
}

func TestTuneMemoryLocal(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	dir := writeProject(t, tuneProject, map[string]string{
		"fns/crunch/index.js": crunchHandler,
		"fns/waiter/index.js": waiterHandler,
	})
	must(t, dir, "deploy")
	var in strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&in, `{"source":"load","detail-type":"Tick","detail":{"i":%d}}`+"\n", i)
	}
	r := run(t, dir, in.String(), "send", "-")
	if r.code != 0 {
		t.Fatalf("send: exit %d\n%s", r.code, r.stderr)
	}
	// 400 deliveries, 200 of them ~40 ms of CPU each: send drains them for
	// seconds here, and says so. Whether that takes over the second after
	// which it speaks depends on the machine, so it is logged; the notice
	// itself is cmd's TestSendSaysWhatItWaitsFor, on a fake clock.
	if !regexp.MustCompile(`waiting for \d+ deliver(y|ies) to finish`).MatchString(r.stderr) {
		t.Logf("send drained its deliveries within a second (no waiting notice)")
	}

	// This test drives the pipeline (metrics recorded, recommendation,
	// probe, --apply); the direction of a recommendation from measured CPU
	// time is the model's business, tested with fixed numbers in
	// tune/recommend_test.go (TestRecommendCPUBound, TestRecommendProbed).
	// Here the CPU-bound function's measured share depends on how loaded
	// the machine is, so its direction is logged, not asserted.
	speed := must(t, dir, "tune", "memory", "--function", "crunch", "--strategy", "speed", "--since", "1h", "-o", "json")
	rc := recommendation(t, speed.stdout, "crunch")
	if mb := rc["recommendedMemoryMB"].(float64); mb < 128 || mb > 10240 {
		t.Errorf("speed strategy for the CPU-bound function recommends %v MB, outside 128..10240\n%s", mb, speed.stdout)
	} else if mb <= 1024 {
		t.Logf("speed strategy for the CPU-bound function recommends %v MB (more than 1024 on a quiet machine)", mb)
	}
	// cost: less memory for the sleeping one (its CPU share only falls as
	// load rises, so this holds on any machine).
	cost := must(t, dir, "tune", "memory", "--function", "waiter", "--strategy", "cost", "--since", "1h", "-o", "json")
	rw := recommendation(t, cost.stdout, "waiter")
	if rw["recommendedMemoryMB"].(float64) >= 1024 {
		t.Errorf("cost strategy for the IO-bound function recommends %v MB, want less than 1024\n%s", rw["recommendedMemoryMB"], cost.stdout)
	}
	// the speed strategy does not buy memory for the sleeping function (its
	// sleep is long enough that the CPU it uses, also on a loaded machine,
	// stays well under the 5% that counts as faster)
	speedW := must(t, dir, "tune", "memory", "--function", "waiter", "--strategy", "speed", "--since", "1h", "-o", "json")
	if got := recommendation(t, speedW.stdout, "waiter")["recommendedMemoryMB"].(float64); got > 1024 {
		t.Errorf("speed strategy recommends %v MB for a function that only sleeps", got)
	}

	// --probe measures: it runs a private copy at each size and reports
	// what it measured, not the estimate. That duration falls as memory
	// rises holds on a quiet machine (0.14 against 1.7 CPUs), but under load
	// the 1.7-CPU copy gets far less than its quota (CI saw 120 ms at 3008 MB
	// against 116 ms at 256 MB), so the direction is logged here and asserted
	// on fixed numbers in tune/recommend_test.go (TestRecommendProbed).
	est := estimates(recommendation(t, speed.stdout, "crunch"))
	probe := must(t, dir, "tune", "memory", "--function", "crunch", "--strategy", "speed", "--probe",
		"--payload", "{}", "--sizes", "256,3008", "--runs", "6", "-o", "json")
	pr := recommendation(t, probe.stdout, "crunch")
	meas := estimates(pr)
	for _, mb := range []int{256, 3008} {
		if !(meas[mb] > 0) {
			t.Errorf("probe has no measured duration at %d MB: %v", mb, pr["estimates"])
		}
		if meas[mb] == est[mb] {
			t.Errorf("probe at %d MB reports %.3f ms, the estimate itself, not a measurement", mb, meas[mb])
		}
	}
	if reason, _ := pr["reason"].(string); !strings.Contains(reason, "measured") {
		t.Errorf("probe's reason does not say it measured: %q", reason)
	}
	if strings.Contains(probe.stderr, "CPU is not limited") {
		t.Logf("this machine cannot limit CPU per probe: %s", probe.stderr)
	} else {
		t.Logf("probe measured 256 MB %.1f ms vs 3008 MB %.1f ms (estimated %.1f vs %.1f)", meas[256], meas[3008], est[256], est[3008])
	}

	// --apply changes the deployed function and evcli.yaml, keeping comments.
	must(t, dir, "tune", "memory", "--function", "waiter", "--strategy", "cost", "--since", "1h", "--apply", "--yes", "--min-saving", "0")
	yaml, _ := os.ReadFile(filepath.Join(dir, "evcli.yaml"))
	want := int(rw["recommendedMemoryMB"].(float64))
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^  waiter:   # IO-bound: sleeps 150 ms per event\n(.*\n){3}    memory: %d\n`, want)).Match(yaml) {
		t.Errorf("evcli.yaml after --apply (want memory %d for waiter, comments kept):\n%s", want, yaml)
	}
	db, err := store.Open(filepath.Join(dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := db.Function(context.Background(), "waiter")
	db.Close()
	if err != nil || rec.MemoryMB != want {
		t.Errorf("deployed waiter has %d MB (err %v), want %d", rec.MemoryMB, err, want)
	}
	// and a deploy now has nothing to do
	r = must(t, dir, "deploy", "--dry-run", "-o", "json")
	for _, p := range records(t, r.stdout, "plan") {
		if p["action"] != "unchanged" {
			t.Errorf("after --apply, deploy plans %v for %v", p["action"], p["function"])
		}
	}
}

// estimates maps memory size to estimated (or measured) duration.
func estimates(rec map[string]any) map[int]float64 {
	out := map[int]float64{}
	list, _ := rec["estimates"].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		out[int(m["memoryMB"].(float64))] = m["durationMs"].(float64)
	}
	return out
}
