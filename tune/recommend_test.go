package tune

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// records makes n warm, successful invocations at mem of d ms with cpu ms
// of CPU time each and used MB of memory.
func records(fn string, n, mem int, d, cpu float64, used int) []providers.InvocationRecord {
	var out []providers.InvocationRecord
	for i := range n {
		out = append(out, providers.InvocationRecord{Function: fn, Time: t0.Add(time.Duration(i) * time.Minute),
			MemorySizeMB: mem, DurationMs: d, BilledDurationMs: int64(BilledMs(d)), MaxMemoryUsedMB: used, CPUTimeMs: cpu, Outcome: "ok"})
	}
	return out
}

func cfg(s Strategy) Config {
	p, _, _ := LookupPrice("us-east-1", "x86_64", nil)
	return Config{Strategy: s, Weight: DefaultWeight, Headroom: DefaultHeadroom, Price: p}
}

func week(fn string, recs []providers.InvocationRecord) Observations {
	return SummarizeRecords(fn, t0, t0.Add(7*24*time.Hour), recs)
}

func estimateAt(r Recommendation, mb int) Estimate {
	for _, e := range r.Estimates {
		if e.MemoryMB == mb {
			return e
		}
	}
	return Estimate{}
}

func TestRecommendIOBoundCost(t *testing.T) {
	// 200 invocations of 100 ms, 5 ms of CPU each (share 0.05), 60 MB used,
	// at 1,024 MB. Floor ceil(60*1.2)=72 -> 128 MB is allowed.
	// At 128 MB: 95 + 5*1024/128 = 135 ms; cost = 0.0000166667*0.125*0.135 + 2e-7.
	r := Recommend(week("io", records("io", 200, 1024, 100, 5, 60)), cfg(Cost))
	if r.RecommendedMemoryMB != 128 || r.FloorMB != 128 || r.Confidence != High {
		t.Fatalf("recommended %d floor %d confidence %s: %s", r.RecommendedMemoryMB, r.FloorMB, r.Confidence, r.Reason)
	}
	e := estimateAt(r, 128)
	if !near(e.DurationMs, 135) || !near(e.CostPerInvocationUSD, 0.0000166667*0.125*0.135+2e-7) {
		t.Fatalf("128 MB estimate %+v", e)
	}
	cur := estimateAt(r, 1024)
	want := (cur.CostPerInvocationUSD - e.CostPerInvocationUSD) * 200.0 / 168 * 720
	if !near(r.MonthlySavingUSD, want) || r.MonthlySavingUSD <= 0 {
		t.Fatalf("saving %g, want %g", r.MonthlySavingUSD, want)
	}
}

func TestRecommendCPUBound(t *testing.T) {
	recs := records("cpu", 200, 1024, 500, 500, 40)
	// Speed: 500*1024/1769 = 289.43 ms at 1,769 MB and above (single-threaded);
	// the cheapest of those equally fast sizes is 1,769 MB.
	r := Recommend(week("cpu", recs), cfg(Speed))
	if r.RecommendedMemoryMB != 1769 || !near(r.Recommended.DurationMs, 500*1024.0/1769) {
		t.Fatalf("speed: %d %g", r.RecommendedMemoryMB, r.Recommended.DurationMs)
	}
	// Cost: fully CPU-bound below one vCPU costs the same GB-seconds at 128,
	// 256, 512 and 1,024 MB (4000, 2000, 1000, 500 ms); 768 and 1,536 MB lose
	// to rounding up (667 and 334 ms). The tie goes to the fastest: 1,024 MB.
	r = Recommend(week("cpu", recs), cfg(Cost))
	if r.RecommendedMemoryMB != 1024 || r.Changed() {
		t.Fatalf("cost: %d", r.RecommendedMemoryMB)
	}
	if e := estimateAt(r, 128); !near(e.BilledMs, 4000) {
		t.Fatalf("128 MB billed %g", e.BilledMs)
	}
}

func TestRecommendUnknownShareIsConservative(t *testing.T) {
	// No CPU time (AWS): smaller sizes assumed CPU-bound, larger not faster.
	recs := records("aws", 150, 1024, 100, 0, 60)
	r := Recommend(week("aws", recs), cfg(Cost))
	if r.RecommendedMemoryMB != 1024 || r.Confidence != Medium || !strings.Contains(r.Reason, "CPU share unknown") {
		t.Fatalf("%d %s %s", r.RecommendedMemoryMB, r.Confidence, r.Reason)
	}
	if e := estimateAt(r, 512); !near(e.DurationMs, 200) {
		t.Fatalf("512 MB: %g", e.DurationMs)
	}
	if e := estimateAt(r, 2048); !near(e.DurationMs, 100) {
		t.Fatalf("2048 MB: %g", e.DurationMs)
	}
	// From 3,008 MB down to 1,769 MB a single-threaded handler loses nothing.
	r = Recommend(week("big", records("big", 50, 3008, 100, 0, 60)), cfg(Cost))
	if r.RecommendedMemoryMB != 1769 || r.Confidence != Low {
		t.Fatalf("from 3008: %d %s", r.RecommendedMemoryMB, r.Confidence)
	}
}

func TestRecommendFloorAndTooLittleData(t *testing.T) {
	// Max Memory Used 500 MB at 512 MB: floor ceil(600) = 600 -> 768 MB.
	r := Recommend(week("tight", records("tight", 120, 512, 100, 1, 500)), cfg(Cost))
	if r.FloorMB != 600 || r.RecommendedMemoryMB != 768 || len(r.Notes) == 0 {
		t.Fatalf("floor %d rec %d notes %v", r.FloorMB, r.RecommendedMemoryMB, r.Notes)
	}
	r = Recommend(week("few", records("few", 5, 512, 100, 1, 50)), cfg(Cost))
	if !r.Insufficient || r.Changed() || !strings.Contains(r.Reason, "--probe") || !strings.Contains(r.Reason, "5 successful invocations") {
		t.Fatalf("%+v", r)
	}
}

func TestRecommendProbed(t *testing.T) {
	mk := func(mem int, d float64, used int, n int, outcome string) ProbeResult {
		var recs []providers.InvocationRecord
		recs = append(recs, providers.InvocationRecord{DurationMs: d * 3, InitDurationMs: 100, MaxMemoryUsedMB: used, Outcome: "ok"})
		for range n {
			recs = append(recs, providers.InvocationRecord{DurationMs: d, BilledDurationMs: int64(BilledMs(d)), MaxMemoryUsedMB: used, Outcome: outcome})
		}
		return Measure(mem, recs)
	}
	probes := []ProbeResult{mk(128, 0, 128, 20, "oom"), mk(512, 80, 90, 20, "ok"), mk(1024, 40, 90, 20, "ok"), mk(1769, 25, 90, 20, "ok")}
	o := week("p", records("p", 100, 1024, 40, 0, 90))
	r := RecommendProbed(o, probes, 0, cfg(Cost))
	// 512: 80 ms -> 0.5*0.08 = 0.04 GB-s; 1024: 0.04 GB-s; 1769: 1769/1024*0.025 = 0.0432.
	// 512 and 1024 tie on cost: the faster (1024) wins. 128 failed.
	if r.RecommendedMemoryMB != 1024 || r.Confidence != High || !r.Probed {
		t.Fatalf("%d %s %s", r.RecommendedMemoryMB, r.Confidence, r.Reason)
	}
	if e := estimateAt(r, 128); e.Failed != 20 {
		t.Fatalf("128: %+v", e)
	}
	r = RecommendProbed(o, probes, 0, cfg(Speed))
	if r.RecommendedMemoryMB != 1769 {
		t.Fatalf("speed: %d", r.RecommendedMemoryMB)
	}
}

func TestBounds(t *testing.T) {
	r := Recommendation{Strategy: Cost, CurrentMemoryMB: 512, RecommendedMemoryMB: 1536, MonthlyCostCurrentUSD: 10, MonthlySavingUSD: 1}
	var b Bounds
	if err := ParseMaxIncrease("2x", &b); err != nil {
		t.Fatal(err)
	}
	if ok, why := b.Allow(r); ok || !strings.Contains(why, "--max-increase") {
		t.Fatalf("3x increase allowed under 2x: %v %s", ok, why)
	}
	_ = ParseMaxIncrease("1024", &b)
	if ok, _ := b.Allow(r); !ok {
		t.Fatal("+1024 MB refused under 1024")
	}
	_ = ParseMinSaving("20%", &b)
	if ok, why := b.Allow(r); ok || !strings.Contains(why, "10.0%") {
		t.Fatalf("10%% saving allowed under 20%%: %s", why)
	}
	_ = ParseMinSaving("$0.50", &b)
	if ok, _ := b.Allow(r); !ok {
		t.Fatal("$1 saving refused under $0.50")
	}
	r.Strategy, r.MonthlySavingUSD = Speed, -5
	if ok, _ := b.Allow(r); !ok {
		t.Fatal("min-saving must not bound the speed strategy")
	}
	r.RecommendedMemoryMB = 512
	if ok, _ := b.Allow(r); ok {
		t.Fatal("no change allowed")
	}
}

func TestParsers(t *testing.T) {
	s, err := ParseSizes("128, 512MB,1GB")
	if err != nil || len(s) != 3 || s[2] != 1024 || s[1] != 512 {
		t.Fatal(s, err)
	}
	for _, bad := range []string{"64", "128,,256", "abc", "10241", "1.5", "1BG", "GB"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
	var b Bounds
	for _, bad := range []string{"0.5x", "x", "-3", "lots"} {
		if err := ParseMaxIncrease(bad, &b); err == nil {
			t.Errorf("ParseMaxIncrease(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"101%", "-1", "$", "ten"} {
		if err := ParseMinSaving(bad, &b); err == nil {
			t.Errorf("ParseMinSaving(%q) accepted", bad)
		}
	}
}

// goldenRecs is a fixed set of recommendations covering each case.
func goldenRecs() []Recommendation {
	cold := records("orders", 300, 1024, 100, 5, 60)
	for i := range 10 {
		cold[i].InitDurationMs = 180 + float64(i)
	}
	cpu := records("thumbnails", 400, 1024, 800, 760, 300)
	busy := SummarizeRecords("thumbnails", t0, t0.Add(time.Hour), cpu) // 400 an hour: 288,000 a month
	aws := records("legacy", 60, 3008, 250, 0, 700)
	bal := cfg(Balanced)
	bal.Weight = 0.7
	return []Recommendation{
		Recommend(week("orders", cold), cfg(Cost)),
		Recommend(busy, cfg(Speed)),
		Recommend(busy, bal),
		Recommend(week("legacy", aws), cfg(Cost)),
		Recommend(week("rare", records("rare", 3, 512, 10, 1, 40)), cfg(Cost)),
		RecommendProbed(week("probed", records("probed", 50, 1024, 40, 0, 90)), goldenProbes(), 0, cfg(Balanced)),
	}
}

// goldenProbes: 128 MB runs out of memory, the others halve their duration
// up to one vCPU, with a cold start and an outlier each.
func goldenProbes() []ProbeResult {
	var out []ProbeResult
	for _, mem := range []int{128, 512, 1024, 1769, 3008} {
		d := 40 * 1024 / float64(min(mem, 1769))
		recs := []providers.InvocationRecord{{DurationMs: d * 5, InitDurationMs: 250, MaxMemoryUsedMB: 90, Outcome: "ok"}}
		for i := range 12 {
			r := providers.InvocationRecord{DurationMs: d + float64(i%3), MaxMemoryUsedMB: 90, Outcome: "ok"}
			if i == 11 {
				r.DurationMs = d * 4
			}
			if mem == 128 {
				r.Outcome, r.MaxMemoryUsedMB = "oom", 128
			}
			r.BilledDurationMs = int64(BilledMs(r.DurationMs))
			recs = append(recs, r)
		}
		out = append(out, Measure(mem, recs))
	}
	return out
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tune -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./tune -update rewrites it):\n%s", path, got)
	}
}

func TestGoldenReports(t *testing.T) {
	recs := goldenRecs()
	var text bytes.Buffer
	if err := WriteText(&text, recs, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt.golden", text.Bytes())
	text.Reset()
	if err := WriteText(&text, recs[:2], TextOptions{Color: true, BarWidth: 12}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text.Bytes(), []byte("\x1b[")) || !bytes.Contains(text.Bytes(), []byte("█")) {
		t.Error("colour report has no ANSI colours or block bars")
	}
	golden(t, "report-color.txt.golden", text.Bytes())
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	for _, r := range recs {
		if err := enc.Encode(r.JSON()); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "report.jsonl.golden", js.Bytes())
}

func TestRecommendProbedFloorIsPerSize(t *testing.T) {
	// A garbage-collected runtime uses more memory when it has more: 900 MB
	// at 3,008 MB must not rule out 512 MB, where it used 200 MB.
	mk := func(mem int, d float64, used int) ProbeResult {
		var recs []providers.InvocationRecord
		for range 12 {
			recs = append(recs, providers.InvocationRecord{DurationMs: d, BilledDurationMs: int64(d), MaxMemoryUsedMB: used, Outcome: "ok"})
		}
		return Measure(mem, recs)
	}
	o := week("gc", records("gc", 100, 1024, 50, 0, 300)) // production: floor 360 MB
	probes := []ProbeResult{mk(256, 100, 250), mk(512, 50, 200), mk(1024, 50, 300), mk(3008, 50, 900)}
	r := RecommendProbed(o, probes, 0, cfg(Cost))
	if r.FloorMB != 360 || r.RecommendedMemoryMB != 512 {
		t.Fatalf("floor %d recommended %d", r.FloorMB, r.RecommendedMemoryMB)
	}
	// 256 MB is under production's floor, and under its own (250 MB + 20%).
	if e := estimateAt(r, 256); !e.BelowFloor {
		t.Fatal("256 MB not below the floor")
	}
}

// The case: 3008 MB at 99.6 ms, CPU share unknown. A fully
// CPU-bound guess makes 128 MB (1377 ms) about as cheap as 1769 MB (same
// speed as today): the guard keeps today's speed and says what it declined.
func TestRecommendRespectsTheUsersTime(t *testing.T) {
	recs := records("legacy", 200, 3008, 99.6, 0, 60)
	for i := range recs {
		recs[i].CPUTimeMs = 0 // unknown share
	}
	o := week("legacy", recs)
	o.CPUShareKnown = false
	c := cfg(Cost)
	c.Sizes = []int{128, 1769, 3008}
	r := Recommend(o, c)
	cur := estimateAt(r, 3008)
	if got := estimateAt(r, r.RecommendedMemoryMB); got.P95Ms > cur.P95Ms*1.005 {
		t.Fatalf("recommended %d MB at p95 %.0f ms, today %.0f ms", r.RecommendedMemoryMB, got.P95Ms, cur.P95Ms)
	}
	if !estimateAt(r, 128).TooSlow {
		t.Errorf("128 MB not ruled out: %+v", estimateAt(r, 128))
	}

	// CPU share known (90%): 512 MB is ~3x slower for ~7% less; a small
	// saving does not buy it, a threshold the user lowers does.
	cpu := records("cpu", 200, 1769, 100, 90, 60)
	o = week("cpu", cpu)
	c = cfg(Cost)
	c.Sizes = []int{512, 1769}
	r = Recommend(o, c)
	saving := 1 - estimateAt(r, 512).CostPerInvocationUSD/estimateAt(r, 1769).CostPerInvocationUSD
	if saving >= DefaultMinSavingForSlowdown {
		t.Fatalf("fixture: 512 MB saves %.1f%%", saving*100)
	}
	if r.RecommendedMemoryMB != 1769 || !strings.Contains(strings.Join(r.Notes, ";"), "--min-saving-for-slowdown") {
		t.Errorf("recommended %d, notes %q", r.RecommendedMemoryMB, r.Notes)
	}
	c.MinSavingForSlowdown = saving / 2
	if r = Recommend(o, c); r.RecommendedMemoryMB != 512 {
		t.Errorf("with a %.2f%% threshold: recommended %d", saving*50, r.RecommendedMemoryMB)
	}
}
