package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/deploy"
)

// manualClock is moved by the test.
type manualClock struct{ t time.Time }

func (c *manualClock) Now() time.Time      { return c.t }
func (c *manualClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newManualClock() *manualClock {
	return &manualClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
}
func fnEvent(fn, step string) deploy.Progress { return deploy.Progress{Name: fn, Step: step} }

// frames splits the table's output at each redraw (cursor up).
func frames(out string) []string {
	return regexp.MustCompile(`\x1b\[\d+A`).Split(out, -1)
}

func TestProgressTableFrames(t *testing.T) {
	for _, color := range []bool{true, false} {
		t.Run(fmt.Sprintf("color=%v", color), func(t *testing.T) {
			clock := newManualClock()
			var buf bytes.Buffer
			tb := newProgressTable(&buf, progressTableOptions{Now: clock.Now, Color: color, Width: 100, Height: 30})
			tb.add(progressRowSpec{Kind: "bus", Name: "shop-bus", Action: "create"})
			for _, fn := range []string{"inventory", "payment", "shipping"} {
				tb.add(progressRowSpec{Kind: "function", Name: fn, Action: "update"})
			}
			tb.add(progressRowSpec{Kind: "function", Name: "old-report", Action: "delete"})
			tb.start()
			tb.Step(deploy.Progress{Kind: "bus", Name: "shop-bus", Step: "start"})
			clock.add(150 * time.Millisecond)
			tb.Step(deploy.Progress{Kind: "bus", Name: "shop-bus", Step: "create bus"})
			clock.add(250 * time.Millisecond)
			tb.Step(deploy.Progress{Kind: "bus", Name: "shop-bus", Step: "done", Elapsed: 400 * time.Millisecond})
			tb.Step(fnEvent("inventory", "start"))
			tb.Step(fnEvent("payment", "start"))
			clock.add(300 * time.Millisecond)
			tb.Step(fnEvent("inventory", "upload code"))
			tb.Step(fnEvent("payment", "update configuration"))
			clock.add(1200 * time.Millisecond)
			tb.redraw() // a tick: elapsed and spinners move
			tb.Step(deploy.Progress{Name: "payment", Step: "failed", Elapsed: 1500 * time.Millisecond,
				Err: errors.New("function payment: ResourceConflictException: The operation cannot be performed at this time")})
			tb.Step(fnEvent("shipping", "start"))
			clock.add(61 * time.Second)
			tb.Step(deploy.Progress{Name: "inventory", Step: "done", Elapsed: 62*time.Second + 500*time.Millisecond})
			tb.Step(fnEvent("shipping", "publish version"))
			tb.Stop()
			tb.Step(fnEvent("shipping", "ignored after Stop"))
			got := buf.String()
			deployGolden(t, fmt.Sprintf("table-frames-color-%v", color), visible(got))
			if !color && strings.Contains(regexp.MustCompile(`\x1b\[(\d+A|2K|J)`).ReplaceAllString(got, ""), "\x1b") {
				t.Fatal("colour codes without colour")
			}
			last := frames(got)
			final := last[len(last)-1]
			for _, want := range []string{"✓ created", "✓ updated", "✗ failed", "… stopped", "not started", "1m03s",
				" payment: function payment: ResourceConflictException: The operation cannot be performed at this time\n"} {
				if !strings.Contains(final, want) {
					t.Fatalf("final frame lacks %q:\n%s", want, visible(final))
				}
			}
		})
	}
}

func TestProgressTableOverflowAndWidth(t *testing.T) {
	clock := newManualClock()
	var buf bytes.Buffer
	tb := newProgressTable(&buf, progressTableOptions{Now: clock.Now, Width: 48, Height: 6})
	var names []string
	for i := range 9 {
		name := fmt.Sprintf("function-with-a-long-name-%02d", i)
		names = append(names, name)
		tb.add(progressRowSpec{Kind: "function", Name: name, Action: "create"})
	}
	tb.start()
	// Two at a time, as --concurrency 2 would.
	for i := 0; i < len(names); i += 2 {
		batch := names[i:min(i+2, len(names))]
		for _, n := range batch {
			tb.Step(fnEvent(n, "start"))
			tb.Step(fnEvent(n, "upload code and wait for the update to finish"))
		}
		clock.add(time.Second)
		for _, n := range batch {
			tb.Step(deploy.Progress{Name: n, Step: "done", Elapsed: time.Second})
		}
	}
	tb.Stop()
	got := buf.String()
	deployGolden(t, "table-overflow", visible(got))

	// Every frame fits the terminal: at most Height-1 live lines, each
	// narrower than Width, so cursor movement stays exact.
	for i, fr := range frames(got) {
		lines := strings.Split(strings.TrimSuffix(fr, "\n"), "\n")
		live := 0
		for _, l := range lines {
			plain := regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]|\r`).ReplaceAllString(l, "")
			if n := utf8.RuneCountInString(plain); n >= 48 {
				t.Fatalf("frame %d: line of %d columns: %q", i, n, plain)
			}
			live++
		}
		_ = live
	}
	// Each function ends up printed exactly once as done, above or in the
	// table's last frame.
	fr := frames(got)
	final := fr[len(fr)-1]
	for _, n := range names {
		short := truncateMiddle(n, 11)
		count := strings.Count(final, short)
		for _, f := range fr[:len(fr)-1] {
			// flushed lines come first in a frame, before the header
			if h := strings.Index(f, "FUNCTION"); h > 0 {
				count += strings.Count(f[:h], short)
			}
		}
		if count != 1 {
			t.Fatalf("%s shown %d times as finished", n, count)
		}
	}
}

func TestProgressTableFitsHeight(t *testing.T) {
	clock := newManualClock()
	var buf bytes.Buffer
	tb := newProgressTable(&buf, progressTableOptions{Now: clock.Now, Width: 80, Height: 5})
	for i := range 10 {
		tb.add(progressRowSpec{Kind: "function", Name: fmt.Sprintf("fn%d", i), Action: "update"})
	}
	tb.start()
	tb.Step(fnEvent("fn0", "start"))
	tb.Step(fnEvent("fn1", "start"))
	tb.Stop()
	for i, fr := range frames(buf.String()) {
		if n := strings.Count(fr, "\n"); n > 4 {
			t.Fatalf("frame %d has %d lines for a 5-line terminal:\n%s", i, n, visible(fr))
		}
	}
	if !strings.Contains(buf.String(), "… 8 more waiting") {
		t.Fatalf("waiting rows not counted:\n%s", visible(buf.String()))
	}
}

func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	p := &lineProgress{w: &buf, ok: "ok", fail: "FAILED"}
	p.Step(deploy.Progress{Kind: "table", Name: "shop-events", Step: "start"})
	p.Step(deploy.Progress{Kind: "table", Name: "shop-events", Step: "create table"})
	p.Step(deploy.Progress{Kind: "table", Name: "shop-events", Step: "done", Elapsed: 1500 * time.Millisecond})
	p.Step(fnEvent("inventory", "start"))
	p.Step(fnEvent("inventory", "upload code"))
	p.Step(deploy.Progress{Name: "inventory", Step: "done", Elapsed: 2 * time.Second})
	p.Step(deploy.Progress{Name: "payment", Step: "failed", Err: errors.New("AccessDeniedException"), Elapsed: time.Second})
	p.Stop()
	deployGolden(t, "lines", buf.String())
}

func TestProgressTableTicksUntilStopped(t *testing.T) {
	var buf syncBuf
	tb := newProgressTable(&buf, progressTableOptions{Tick: time.Millisecond, Width: 80, Height: 24})
	tb.add(progressRowSpec{Kind: "function", Name: "inventory", Action: "update"})
	tb.start()
	tb.Step(fnEvent("inventory", "start"))
	tb.Stop() // returns only once the ticker goroutine has ended
	n := len(buf.String())
	time.Sleep(5 * time.Millisecond)
	if len(buf.String()) != n {
		t.Fatal("the table was redrawn after Stop")
	}
}

func TestFmtElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0ms", 42 * time.Millisecond: "42ms", 1234 * time.Millisecond: "1.2s", 59*time.Second + 940*time.Millisecond: "59.9s",
		62 * time.Second: "1m02s", -time.Second: "0ms", 3*time.Hour + 5*time.Second: "180m05s",
	} {
		if got := fmtElapsed(d); got != want {
			t.Errorf("fmtElapsed(%v) = %q, want %q", d, got, want)
		}
	}
}

// packagingEvents is what deploy.Package reports for three functions, one
// at a time, its elapsed times read from clock as Package reads them: a Go
// function whose modules download and then compile (a long step is
// reported again every deploy.ProgressEvery), a Go function whose bootstrap
// is cached, and a Node function (collect and zip: quick steps).
func packagingEvents(clock *manualClock) []deploy.ArtifactEvent {
	var evs []deploy.ArtifactEvent
	var start time.Time
	ev := func(fn string, phase deploy.ArtifactPhase, step string, after time.Duration) {
		clock.add(after)
		if phase == deploy.PhaseBuilding && step == "" {
			start = clock.Now()
		}
		evs = append(evs, deploy.ArtifactEvent{Function: fn, Phase: phase, Step: step, Elapsed: clock.Now().Sub(start)})
	}
	ev("payment", deploy.PhaseBuilding, "", 0)
	ev("payment", deploy.PhaseBuilding, deploy.StepDownloading, 10*time.Millisecond)
	ev("payment", deploy.PhaseBuilding, deploy.StepDownloading, 5*time.Second)
	ev("payment", deploy.PhaseBuilding, deploy.StepCompiling, 2400*time.Millisecond)
	ev("payment", deploy.PhaseBuilding, deploy.StepCompiling, 5*time.Second)
	ev("payment", deploy.PhaseBuilding, deploy.StepZipping, 1300*time.Millisecond)
	ev("payment", deploy.PhaseDone, "", 40*time.Millisecond)
	ev("inventory", deploy.PhaseBuilding, "", 0)
	ev("inventory", deploy.PhaseBuilding, deploy.StepCached, 120*time.Millisecond)
	ev("inventory", deploy.PhaseBuilding, deploy.StepZipping, 30*time.Millisecond)
	ev("inventory", deploy.PhaseDone, "", 20*time.Millisecond)
	ev("notification", deploy.PhaseBuilding, "", 0)
	ev("notification", deploy.PhaseBuilding, deploy.StepCollecting, 5*time.Millisecond)
	ev("notification", deploy.PhaseBuilding, deploy.StepZipping, 5*time.Millisecond)
	ev("notification", deploy.PhaseDone, "", 5*time.Millisecond)
	return evs
}

// TestPackagingProgressText: deploy says, per function, what packaging is
// doing and for how long: compiling (go build), downloading modules and
// cached always, other steps only once they took a second, elapsed times
// from a second on; -o json has a "package" record per event.
func TestPackagingProgressText(t *testing.T) {
	io, _, _, errOut := cmdutil.Test()
	f := &cmdutil.Factory{IO: io, Globals: &cmdutil.Globals{Output: "text"}}
	for _, ev := range packagingEvents(newManualClock()) {
		renderPackageEvent(f, nil, ev)
	}
	want := `packaging payment
packaging payment: downloading modules
packaging payment: downloading modules 5s
packaging payment: compiling (go build) 7s
packaging payment: compiling (go build) 12s
packaging payment: zipping 14s
packaged payment in 13.8s
packaging inventory
packaging inventory: cached
packaging notification
`
	if got := errOut.String(); got != want {
		t.Fatalf("packaging progress:\n%s\nwant:\n%s", got, want)
	}

	io, _, out, errOut := cmdutil.Test()
	f = &cmdutil.Factory{IO: io, Globals: &cmdutil.Globals{Output: "json"}}
	jl := cmdutil.NewJSONLines(out, "deploy")
	for _, ev := range packagingEvents(newManualClock()) {
		renderPackageEvent(f, jl, ev)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, want := range []string{
		`{"function":"payment","phase":"building","step":"compiling (go build)","type":"package","elapsedMs":7410}`,
		`{"function":"inventory","phase":"building","step":"cached","type":"package","elapsedMs":120}`,
		`{"function":"payment","phase":"done","type":"package","elapsedMs":13750}`,
	} {
		if !slices.ContainsFunc(lines, func(l string) bool { return sameJSON(l, want) }) {
			t.Errorf("-o json lacks %s:\n%s", want, out)
		}
	}
	if len(lines) != 1+15 || errOut.Len() != 0 {
		t.Errorf("-o json: %d lines (want the version and 15 records) and stderr %q", len(lines), errOut)
	}
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
