package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tail -o json in one process while send runs in another: every line of the
// flow arrives once, all under one correlation id. tail runs with no reorder
// window, so no line can borrow its id from a later line of its request:
// each one, START and REPORT included, must come from the store with it,
// however long the handlers' cold starts take.
func TestTailFollowsAFlowFromAnotherProcess(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	root := t.TempDir()
	must(t, root, "init", "shop", "--template", "fan-out", "--lang", "node")
	dir := filepath.Join(root, "shop")
	must(t, dir, "deploy")

	tail := exec.Command(evcliBin, "tail", "-o", "json", "--since", "1h", "--reorder-window", "0")
	tail.Dir = dir
	tail.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	tail.Stderr = os.Stderr
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tail.Process.Kill(); _ = tail.Wait() }()

	type rec struct {
		Type, Function, RequestID, CorrelationID, Message string
	}
	lines := make(chan rec, 1000)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r rec
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Type == "log" {
				lines <- r
			}
		}
		close(lines)
	}()
	// No wait for tail to start: it reads the store from an hour ago, so
	// what send stores before tail is following is read as backlog.

	r := must(t, dir, "send", "events/order-created.json", "--wait", "-o", "json")
	dels := records(t, r.stdout, "delivery")
	if len(dels) != 4 {
		t.Fatalf("send: %d deliveries, want 4", len(dels))
	}
	corr := dels[0]["correlationId"].(string)

	// what the store holds for the flow is what tail must print
	want := map[string]int{}
	for _, l := range storedLogs(t, dir) {
		want[l.RequestID]++
		if l.CorrelationID != corr {
			t.Errorf("the store holds a line of %s with correlation id %q, want %q: %s", l.Function, l.CorrelationID, corr, l.Message)
		}
	}
	// Each request's lines (START, the handler's, END, REPORT) arrive
	// exactly as many times as the store holds them: no gap, no duplicate.
	// (tail prints a JSON line's "msg" as its message, so lines are counted
	// per request id rather than compared as text.) The wait ends when
	// every line has come, not after a fixed time: a loaded machine only
	// makes it longer.
	got := map[string]int{}
	missing := 0
	for _, n := range want {
		missing += n
	}
	deadline := time.After(budget(time.Minute))
	for missing > 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("tail exited early")
			}
			if l.CorrelationID != corr {
				t.Errorf("line of %s has correlation id %q, want %q: %s", l.Function, l.CorrelationID, corr, l.Message)
			}
			got[l.RequestID]++
			switch {
			case want[l.RequestID] == 0:
				t.Fatalf("tail printed a line of request %s, which the store does not hold: %s", l.RequestID, l.Message)
			case got[l.RequestID] > want[l.RequestID]:
				t.Fatalf("tail printed %d lines of request %s, the store holds %d: a line came twice", got[l.RequestID], l.RequestID, want[l.RequestID])
			}
			missing--
		case <-deadline:
			t.Fatalf("tail printed %v lines per request of flow %s, the store holds %v", got, corr, want)
		}
	}
	if len(want) != 4 {
		t.Errorf("the store holds lines of %d requests, want 4", len(want))
	}
}

// tail --correlation takes a unique prefix of a correlation id, as git
// takes a short SHA, and finds the flow in the project's store; a prefix
// that two ids share is a usage error (exit 2) that lists them.
func TestTailCorrelationByPrefix(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	dir := writeProject(t, flakyProject, map[string]string{"fns/worker/index.js": flakyHandler})
	must(t, dir, "deploy")
	ids := []string{"c0ffee00-aaaa-4000-8000-000000000001", "c0ffee00-aaaa-4000-8000-000000000002", "c0ffee00-bbbb-4000-8000-000000000003"}
	var events strings.Builder
	for _, id := range ids {
		events.WriteString(`{"source":"test","detail-type":"T","detail":{"mode":"ok","correlationId":"` + id + `"}}` + "\n")
	}
	if r := run(t, dir, events.String(), "send", "-", "--wait"); r.code != 0 {
		t.Fatalf("send: exit %d\n%s", r.code, r.stderr)
	}

	r := must(t, dir, "tail", "--correlation", "c0ffee00-b", "--follow=false", "--since", "1h", "-o", "json")
	var worked, reports int
	for _, l := range records(t, r.stdout, "log") {
		if l["correlationId"] != ids[2] {
			t.Errorf("tail --correlation c0ffee00-b printed a line of %v: %v", l["correlationId"], l["message"])
		}
		msg, _ := l["message"].(string)
		switch {
		case strings.Contains(msg, "worked"):
			worked++
		case strings.HasPrefix(msg, "REPORT RequestId: "):
			reports++
		}
	}
	if worked != 1 || reports != 1 {
		t.Fatalf("tail --correlation c0ffee00-b: %d handler lines and %d REPORT lines of %s, want 1 of each\n%s", worked, reports, ids[2], r.stdout)
	}

	r = run(t, dir, "", "tail", "--correlation", "c0ffee00-aaaa", "--follow=false", "--since", "1h")
	if r.code != 2 || !strings.Contains(r.stderr, `"c0ffee00-aaaa" is ambiguous: 2 correlation IDs start with it`) ||
		!strings.Contains(r.stderr, ids[0]) || !strings.Contains(r.stderr, ids[1]) || strings.Contains(r.stderr, ids[2]) {
		t.Fatalf("tail with an ambiguous prefix: exit %d, want 2 listing both ids\n%s", r.code, r.stderr)
	}
}
