package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcli/evcli/providers/local/store"
)

const redeliverProject = `project: redeliver
bus: rd-bus
functions:
  slow:
    source: fns/slow
    runtime: nodejs20.x
    handler: index.handler
    timeout: 300
    events:
      - pattern: {source: [test]}
`

// kill -9 of evcli while a delivery runs: the event is safe in the store,
// and the next evcli process that delivers (finding no other) delivers it
// again, once; later runs deliver nothing twice.
func TestKill9DeliveryIsRedeliveredByTheNextProcess(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("redelivery needs flock")
	}
	needInterpreter(t, "node")
	marks := filepath.Join(t.TempDir(), "starts.log")
	quoted, _ := json.Marshal(marks)
	// The handler runs until the test opens the gate, so the kill always
	// lands while it runs, however slow the machine (it slept 2 s).
	gate := filepath.Join(t.TempDir(), "open")
	quotedGate, _ := json.Marshal(gate)
	dir := writeProject(t, redeliverProject, map[string]string{
		"fns/slow/index.js": `const fs = require("fs");
exports.handler = async (event) => {
  fs.appendFileSync(` + string(quoted) + `, "start " + event.id + "\n");
  while (!fs.existsSync(` + string(quotedGate) + `)) await new Promise(r => setTimeout(r, 20));
  return {ok: true};
};`,
	})
	must(t, dir, "deploy")
	starts := func(id string) int {
		b, _ := os.ReadFile(marks)
		return strings.Count(string(b), "start "+id+"\n")
	}

	// 1. send, and kill -9 evcli while the handler runs.
	cmd := exec.Command(evcliBin, "send", "-")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(`{"source":"test","detail-type":"T","detail":{"n":1}}` + "\n")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	sc := bufio.NewScanner(stderr)
	for id == "" && sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "sent" {
			id = f[1]
		}
	}
	if id == "" {
		_ = cmd.Process.Kill()
		t.Fatal("send printed no event id")
	}
	deadline := time.Now().Add(budget(time.Minute))
	for starts(id) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if starts(id) != 1 {
		t.Fatalf("the handler started %d times before the kill, want 1", starts(id))
	}
	if n := finalDeliveries(t, dir, id); n != 0 {
		t.Fatalf("%d final outcomes recorded before the kill: the test did not kill evcli mid-delivery", n)
	}

	// 2. The next process that starts the engine finds nobody delivering and
	// redelivers; a command that redelivered drains before it exits.
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	other := `{"source":"unrouted","detail-type":"T","detail":{}}` + "\n"
	if r := run(t, dir, other, "send", "--wait", "-"); r.code != 0 {
		t.Fatalf("send: exit %d\n%s", r.code, r.stderr)
	}
	if n := starts(id); n != 2 {
		t.Fatalf("after the next run the handler started %d times for %s, want 2 (killed + redelivered)", n, id)
	}
	if n := finalDeliveries(t, dir, id); n != 1 {
		t.Fatalf("%d final outcomes for %s, want 1", n, id)
	}

	// 3. A kill-free run redelivers nothing.
	if r := run(t, dir, other, "send", "--wait", "-"); r.code != 0 {
		t.Fatalf("send: exit %d\n%s", r.code, r.stderr)
	}
	if n := starts(id); n != 2 {
		t.Fatalf("a later run started the handler again: %d starts for %s, want 2", n, id)
	}
	if n := finalDeliveries(t, dir, id); n != 1 {
		t.Fatalf("%d final outcomes for %s after a later run, want 1", n, id)
	}
}

// finalDeliveries counts the ok outcomes stored for event id, failing the
// test on any failed one.
func finalDeliveries(t *testing.T, dir, id string) int {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ds, err := db.Deliveries(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range ds {
		switch d.Status {
		case store.DeliveryOK:
			n++
		case store.DeliveryFailed:
			t.Fatalf("delivery of %s failed: %s", id, d.Error)
		}
	}
	return n
}
