package main

import (
	"bufio"
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
)

// gatedProject's function waits until its GATE file exists, so that a
// test decides when deliveries can finish, whatever the machine's speed.
const gatedProject = `project: handoff
bus: handoff-bus
functions:
  gated:
    source: fns/gated
    runtime: nodejs20.x
    handler: index.handler
    timeout: 300
    environment:
      GATE: %s
    events:
      - pattern: {source: [test]}
`

const gatedHandler = `const fs = require("fs");
exports.handler = async (event) => {
  while (!fs.existsSync(process.env.GATE)) await new Promise(r => setTimeout(r, 20));
  console.log(JSON.stringify({msg: "passed", n: event.detail.n}));
  return {ok: true};
};
`

const gatedEvents = 20

// lineWatcher collects a process's stderr and tells when a line
// containing a given text has appeared.
type lineWatcher struct {
	mu    sync.Mutex
	text  strings.Builder
	waits []lineWait
}

type lineWait struct {
	substr string
	n      int // lines still to see
	ch     chan struct{}
}

func watchLines(t *testing.T, r io.Reader) *lineWatcher {
	w := &lineWatcher{}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			w.mu.Lock()
			w.text.WriteString(sc.Text() + "\n")
			for i := range w.waits {
				if wt := &w.waits[i]; wt.n > 0 && strings.Contains(sc.Text(), wt.substr) {
					if wt.n--; wt.n == 0 {
						close(wt.ch)
					}
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// await returns a channel closed once n lines containing substr have
// been read (counting those read already).
func (w *lineWatcher) await(substr string, n int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range strings.Split(w.text.String(), "\n") {
		if n > 0 && strings.Contains(l, substr) {
			n--
		}
	}
	ch := make(chan struct{})
	if n == 0 {
		close(ch)
		return ch
	}
	w.waits = append(w.waits, lineWait{substr: substr, n: n, ch: ch})
	return ch
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

func startEvcli(t *testing.T, dir, stdin string, args ...string) (*exec.Cmd, *lineWatcher) {
	t.Helper()
	cmd := exec.Command(evcliBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	w := watchLines(t, stderr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, w
}

func within(t *testing.T, ch <-chan struct{}, what string, w *lineWatcher) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(budget(3 * time.Minute)):
		t.Fatalf("%s: not within %s; stderr:\n%s", what, budget(3*time.Minute).Round(time.Second), lastLines(w.String(), 10))
	}
}

// handOffToServe runs `evcli send` (no --wait) of gatedEvents events in
// a project whose deliveries wait for a gate file, starts `evcli local
// serve` while send waits for them, and checks that send hands every
// pending delivery to the server and exits 0 at once, saying so. It
// returns the project, the gate file and the running server.
func handOffToServe(t *testing.T) (dir, gate string, serve *exec.Cmd, serveErr *lineWatcher) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("hand-off needs flock and signals")
	}
	needInterpreter(t, "node")
	gate = filepath.Join(t.TempDir(), "open")
	dir = writeProject(t, fmt.Sprintf(gatedProject, gate), map[string]string{"fns/gated/index.js": gatedHandler})
	must(t, dir, "deploy")

	var events strings.Builder
	for i := range gatedEvents {
		fmt.Fprintf(&events, `{"source":"test","detail-type":"T","detail":{"n":%d}}`+"\n", i)
	}
	send, sendErr := startEvcli(t, dir, events.String(), "send", "-")
	handed := sendErr.await("handed ", 1)
	within(t, sendErr.await("sent ", gatedEvents), "send acknowledging the events", sendErr)

	serve, serveErr = startEvcli(t, dir, "", "local", "serve")
	within(t, serveErr.await("listening on", 1), "local serve starting", serveErr)
	within(t, handed, "send handing its deliveries to local serve", sendErr)
	done := make(chan struct{})
	go func() { _ = send.Wait(); close(done) }()
	within(t, done, "send exiting after the hand-off", sendErr)
	if code := send.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("send: exit %d after the hand-off\n%s", code, lastLines(sendErr.String(), 5))
	}
	want := fmt.Sprintf("handed %d deliveries to evcli local serve (pid %d at ", gatedEvents, serve.Process.Pid)
	if !strings.Contains(sendErr.String(), want) {
		t.Fatalf("send's stderr lacks %q:\n%s", want, lastLines(sendErr.String(), 5))
	}
	if ok, failed := outcomes(t, dir); len(ok) != 0 || len(failed) != 0 {
		t.Fatalf("before the gate opened: %d ok and %d failed outcomes recorded, want none", len(ok), len(failed))
	}
	return dir, gate, serve, serveErr
}

// gatedDelivered checks that every event was delivered and none failed.
func gatedDelivered(t *testing.T, dir string) {
	t.Helper()
	ok, failed := outcomes(t, dir)
	if len(failed) > 0 {
		t.Fatalf("%d deliveries failed, e.g. %+v", len(failed), failed[0])
	}
	if ids := storedTestEvents(t, dir); len(ids) != gatedEvents || len(ok) != gatedEvents {
		t.Fatalf("%d events stored, %d delivered; want %d of each", len(ids), len(ok), gatedEvents)
	}
}

// send without --wait, with a `local serve` started while it waits for
// its deliveries: send hands them over and exits; the server delivers
// every one.
func TestSendHandsPendingDeliveriesToLocalServe(t *testing.T) {
	t.Parallel()
	dir, gate, serve, serveErr := handOffToServe(t)
	os.WriteFile(gate, nil, 0o644)
	waitForOK(t, dir, gatedEvents)
	_ = serve.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = serve.Wait(); close(done) }()
	within(t, done, "local serve stopping", serveErr)
	if !strings.Contains(serveErr.String(), fmt.Sprintf("took over %d deliveries from evcli process", gatedEvents)) {
		t.Errorf("local serve did not say what it took over:\n%s", lastLines(serveErr.String(), 10))
	}
	gatedDelivered(t, dir)
}

// kill -9 of the server that took the deliveries over: nothing is lost;
// the next evcli command that delivers finishes every one.
func TestKill9OfServeAfterAHandOffLosesNothing(t *testing.T) {
	t.Parallel()
	dir, gate, serve, _ := handOffToServe(t)
	_ = serve.Process.Signal(syscall.SIGKILL)
	_ = serve.Wait()
	os.WriteFile(gate, nil, 0o644)
	other := `{"source":"unrouted","detail-type":"T","detail":{}}` + "\n"
	if r := run(t, dir, other, "send", "--wait", "-"); r.code != 0 {
		t.Fatalf("next send: exit %d\n%s", r.code, r.stderr)
	}
	gatedDelivered(t, dir)
}
