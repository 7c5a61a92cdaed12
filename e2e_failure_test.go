package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// writeProject writes an evcli.yaml and files (path -> content) into a new
// temp dir and returns it.
func writeProject(t *testing.T, yaml string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["evcli.yaml"] = yaml
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const flakyProject = `project: flaky
bus: flaky-bus
functions:
  worker:
    source: fns/worker
    runtime: nodejs20.x
    handler: index.handler
    timeout: 60 # room to start, crash or run out of memory on a loaded machine
    events:
      - pattern: {source: [test]}
  # the same code with a short timeout, for the timeout case
  hanger:
    source: fns/worker
    runtime: nodejs20.x
    handler: index.handler
    timeout: 2
`

const flakyHandler = `
exports.handler = async (event) => {
  const d = event.detail || event;
  if (d.mode === "crash") { console.log("crashing"); process.exit(3); }
  if (d.mode === "hang") { await new Promise(r => setTimeout(r, 10000)); }
  if (d.mode === "oom") { const keep = []; for (;;) keep.push(Buffer.alloc(16 << 20, 1)); }
  console.log(JSON.stringify({msg: "worked", correlationId: d.correlationId}));
  return {ok: true, mode: d.mode};
};
`

func TestFailuresAreRetriedRecordedAndInstancesReplaced(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	dir := writeProject(t, flakyProject, map[string]string{"fns/worker/index.js": flakyHandler})
	must(t, dir, "deploy")

	// A crashing target: Lambda's async semantics, 1 try + 2 retries, then
	// the failure is recorded.
	r := run(t, dir, `{"source":"test","detail-type":"T","detail":{"mode":"crash","correlationId":"c-crash"}}`, "send", "-", "--wait", "-o", "json")
	if r.code != 1 {
		t.Fatalf("send of a crashing event: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	dels := records(t, r.stdout, "delivery")
	if len(dels) != 1 || dels[0]["status"] != "failed" || dels[0]["attempts"] != float64(3) ||
		!strings.Contains(fmt.Sprint(dels[0]["error"]), "Runtime.ExitError") {
		t.Fatalf("crash delivery = %v, want failed after 3 attempts with Runtime.ExitError", dels)
	}
	events := records(t, r.stdout, "event")
	db, err := store.Open(filepath.Join(dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	id := events[0]["id"].(string)
	if _, ok, err := db.Event(context.Background(), id); err != nil || !ok {
		t.Errorf("the crashing event %s is not in the store (ok=%v err=%v)", id, ok, err)
	}
	recorded, err := db.Deliveries(context.Background(), []string{id})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	final := 0
	for _, d := range recorded {
		if d.Status == store.DeliveryFailed {
			final++
		}
	}
	if final != 1 {
		t.Errorf("store holds %d final failures for %s, want 1: %+v", final, id, recorded)
	}

	// The function still works: the dead instance was replaced.
	r = must(t, dir, "invoke", "worker", "--payload", `{"mode":"ok"}`)
	if !strings.Contains(r.stdout, `"ok":true`) {
		t.Errorf("invoke after crash: %s", r.stdout)
	}

	// Timeout and out-of-memory fail with Lambda's error shapes.
	for _, tc := range []struct{ fn, mode, errType, msg string }{
		{"hanger", "hang", "Sandbox.Timedout", "Task timed out after 2.00 seconds"},
		{"worker", "oom", "Runtime.OutOfMemory", ""},
	} {
		r = run(t, dir, "", "invoke", tc.fn, "--payload", fmt.Sprintf(`{"mode":%q}`, tc.mode), "--logs")
		if r.code != 1 {
			t.Errorf("%s: exit %d, want 1", tc.mode, r.code)
		}
		var doc struct{ ErrorType, ErrorMessage string }
		_ = json.Unmarshal([]byte(r.stdout), &doc)
		if doc.ErrorType != tc.errType || !strings.Contains(doc.ErrorMessage, tc.msg) {
			t.Errorf("%s: error document %s, want errorType %s with %q", tc.mode, r.stdout, tc.errType, tc.msg)
		}
		if !strings.Contains(r.stderr, "REPORT RequestId: ") {
			t.Errorf("%s: no REPORT line in --logs:\n%s", tc.mode, r.stderr)
		}
	}
}

const slowProject = `project: slow
bus: slow-bus
functions:
  slow:
    source: fns/slow
    runtime: nodejs20.x
    handler: index.handler
    timeout: 60
    concurrency: 2
    events:
      - pattern: {source: [test]}
`

// kill -9 of evcli while deliveries run: every event that send acknowledged
// is in the store on the next run.
func TestKill9KeepsAcknowledgedEvents(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	dir := writeProject(t, slowProject, map[string]string{
		"fns/slow/index.js": `exports.handler = async () => { await new Promise(r => setTimeout(r, 200)); return {}; };`,
	})
	must(t, dir, "deploy")
	var in strings.Builder
	const n = 40
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, `{"source":"test","detail-type":"T","detail":{"i":%d}}`+"\n", i)
	}
	cmd := exec.Command(evcliBin, "send", "-")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(in.String())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(stderr)
	for len(acked) < n && sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "sent" {
			acked = append(acked, f[1])
		}
	}
	// Deliveries of 40 events at 200 ms, two at a time, take about 4 s: kill now.
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if len(acked) != n {
		t.Fatalf("send acknowledged %d events before the kill, want %d", len(acked), n)
	}
	db, err := store.Open(filepath.Join(dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	have := map[string]bool{}
	for ev, err := range db.Events(context.Background(), providers.EventQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		have[ev.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged event %s is missing from the store", id)
		}
	}
	dl, err := db.Deliveries(context.Background(), acked)
	if err != nil {
		t.Fatal(err)
	}
	finished := 0
	for _, d := range dl {
		if d.Final() {
			finished++
		}
	}
	if finished >= n {
		t.Errorf("all %d deliveries finished before the kill: the test did not kill evcli mid-delivery", finished)
	}
	t.Logf("killed with %d of %d deliveries finished; all %d acknowledged events stored", finished, n, len(acked))
}
