package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// stopProject has two targets for every event; each delivery takes 200 ms,
// so 500 events (1,000 deliveries at 10 + 10 at a time) take at least
// 10 s: a stop after the first 100 always finds most of them pending. The
// handlers wait rather than work, so the test costs little CPU: with 2,000
// events of 50 ms it was about 80 CPU-s, a third of the e2e package's.
const stopProject = `project: stops
bus: stop-bus
functions:
  a:
    source: fns/a
    runtime: nodejs20.x
    handler: index.handler
    timeout: 30
    events:
      - pattern: {source: [test]}
  b:
    source: fns/b
    runtime: nodejs20.x
    handler: index.handler
    timeout: 30
    events:
      - pattern: {source: [test]}
`

const stopHandler = `exports.handler = async () => { await new Promise(r => setTimeout(r, 200)); return {ok: true}; };`

const stopEvents = 500

func writeStopProject(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("redelivery needs flock and signals")
	}
	needInterpreter(t, "node")
	dir := writeProject(t, stopProject, map[string]string{
		"fns/a/index.js": stopHandler,
		"fns/b/index.js": stopHandler,
	})
	must(t, dir, "deploy")
	return dir
}

func stopEventsNDJSON() string {
	var sb strings.Builder
	for i := range stopEvents {
		fmt.Fprintf(&sb, `{"source":"test","detail-type":"T","detail":{"n":%d}}`+"\n", i)
	}
	return sb.String()
}

// outcomes counts, over the project's stored deliveries, the (event,
// function) pairs with an ok outcome and the failed outcomes.
func outcomes(t *testing.T, dir string) (ok map[string]bool, failed []store.Delivery) {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ds, err := db.Deliveries(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ok = map[string]bool{}
	for _, d := range ds {
		switch d.Status {
		case store.DeliveryOK:
			ok[d.EventID+"/"+d.Function] = true
		case store.DeliveryFailed:
			failed = append(failed, d)
		}
	}
	return ok, failed
}

// waitForOK polls the store until at least n (event, function) pairs are
// delivered, and returns how many were.
func waitForOK(t *testing.T, dir string, n int) int {
	t.Helper()
	deadline := time.Now().Add(budget(3 * time.Minute))
	for {
		ok, _ := outcomes(t, dir)
		if len(ok) >= n {
			return len(ok)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d deliveries finished in %s", len(ok), budget(3*time.Minute).Round(time.Second))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eventIDs returns the ids of the events with source "test" in the store.
func storedTestEvents(t *testing.T, dir string) []string {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []string
	for ev, err := range db.Events(context.Background(), providers.EventQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Source == "test" {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

// finishAndCheck runs one more evcli command that delivers, which finds
// the pending deliveries and finishes them before it exits, then checks
// that every (event, target) pair is delivered and none failed.
func finishAndCheck(t *testing.T, dir string) {
	t.Helper()
	other := `{"source":"unrouted","detail-type":"T","detail":{}}` + "\n"
	if r := run(t, dir, other, "send", "--wait", "-"); r.code != 0 {
		t.Fatalf("next send: exit %d\n%s", r.code, r.stderr)
	}
	ids := storedTestEvents(t, dir)
	if len(ids) != stopEvents {
		t.Fatalf("%d events stored, want %d", len(ids), stopEvents)
	}
	ok, failed := outcomes(t, dir)
	if len(failed) > 0 {
		t.Fatalf("%d deliveries recorded as failed, e.g. %+v", len(failed), failed[0])
	}
	missing := 0
	for _, id := range ids {
		for _, fn := range []string{"a", "b"} {
			if !ok[id+"/"+fn] {
				missing++
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d (event, target) pairs never delivered", missing, 2*stopEvents)
	}
}

// SIGTERM to `evcli send` (no --wait) while its deliveries run: it exits
// 130 saying how many are pending, records none as failed, and the next
// evcli command delivers every one.
func TestSigtermDuringSendLosesNothing(t *testing.T) {
	t.Parallel()
	dir := writeStopProject(t)
	cmd := exec.Command(evcliBin, "send", "-")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stopEventsNDJSON())
	sent := make(chan struct{})
	n := 0
	errb := captureStderr(t, cmd, func(line string) {
		if strings.HasPrefix(line, "sent ") {
			if n++; n == stopEvents {
				close(sent)
			}
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	errb.started()
	select {
	case <-sent:
	case <-time.After(budget(3 * time.Minute)):
		_ = cmd.Process.Kill()
		t.Fatal("send did not acknowledge the events")
	}
	before := waitForOK(t, dir, 100)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	out := errb.all()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("send after SIGTERM: exit %d (%v), want 130\n%s", code, err, lastLines(out, 5))
	}
	if !strings.Contains(out, "deliveries pending") || !strings.Contains(out, "will finish them") {
		t.Fatalf("send did not say what is pending:\n%s", lastLines(out, 5))
	}
	if ok, _ := outcomes(t, dir); len(ok) >= 2*stopEvents {
		t.Fatalf("every delivery finished before SIGTERM (%d at the signal): the test stopped nothing", before)
	}
	finishAndCheck(t, dir)
}

// Ctrl-C (SIGINT) to `evcli local serve` while it delivers what a send
// gave it: it drains for a bounded time, leaves the rest with no outcome,
// and the next evcli command delivers every one.
func TestCtrlCDuringServeLosesNothing(t *testing.T) {
	t.Parallel()
	dir := writeStopProject(t)
	serve := exec.Command(evcliBin, "local", "serve")
	serve.Dir = dir
	serve.Env = append(os.Environ(), "NO_COLOR=1")
	ready := make(chan struct{})
	once := sync.Once{}
	errb := captureStderr(t, serve, func(line string) {
		if strings.Contains(line, "listening on") {
			once.Do(func() { close(ready) })
		}
	})
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	errb.started()
	defer serve.Process.Kill()
	select {
	case <-ready:
	case <-time.After(budget(2 * time.Minute)):
		t.Fatal("local serve did not start")
	}
	if r := run(t, dir, stopEventsNDJSON(), "send", "-"); r.code != 0 {
		t.Fatalf("send to the server: exit %d\n%s", r.code, lastLines(r.stderr, 5))
	}
	waitForOK(t, dir, 100)
	_ = serve.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	select {
	case <-done:
	case <-time.After(budget(2 * time.Minute)):
		t.Fatal("local serve did not stop after Ctrl-C")
	}
	out := errb.all()
	if !strings.Contains(out, "deliveries pending") {
		t.Fatalf("local serve did not say what it left pending:\n%s", lastLines(out, 5))
	}
	finishAndCheck(t, dir)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stderrLog collects a child's stderr lines through an os.Pipe of the
// test's own: unlike StderrPipe, whose read end Wait closes as soon as the
// process exits (dropping what was not read yet), every line the process
// wrote before it exited is kept.
type stderrLog struct {
	mu   sync.Mutex
	b    strings.Builder
	w    *os.File
	done chan struct{}
}

// captureStderr sets cmd's stderr to a pipe read line by line (onLine is
// called for each, on the reading goroutine). Call started after cmd.Start.
func captureStderr(t *testing.T, cmd *exec.Cmd, onLine func(string)) *stderrLog {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	l := &stderrLog{w: w, done: make(chan struct{})}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		noRace(t, cmd.Args[1:], l.b.String())
	})
	t.Cleanup(func() { w.Close(); r.Close() })
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.b.WriteString(sc.Text() + "\n")
			l.mu.Unlock()
			if onLine != nil {
				onLine(sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	return l
}

// started closes the test's copy of the write end, so the reader sees the
// end of the stream once the process (and any child holding it) exits.
func (l *stderrLog) started() { l.w.Close() }

// all returns what was written, after the stream ended (or, if a child of
// the process still holds it open, after a bounded wait).
func (l *stderrLog) all() string {
	select {
	case <-l.done:
	case <-time.After(budget(30 * time.Second)):
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
