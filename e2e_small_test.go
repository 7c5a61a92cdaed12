package main

// End-to-end tests of the smaller items of issue #15.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers/local/store"
)

// send --wait --timeout 1s gives up after about a second, also in Close:
// it does not wait for the deliveries still running (10.7 s before), and
// says they are left to the next process.
func TestSendWaitTimeoutEndsTheCommand(t *testing.T) {
	needInterpreter(t, "python")
	dir := writeProject(t, `project: slow
functions:
  slow:
    source: fns/slow
    runtime: python3.12
    handler: app.handler
    timeout: 60
    events:
      - pattern: {source: [shop]}
`, map[string]string{
		"fns/slow/app.py": "import time\n\ndef handler(event, context):\n    time.sleep(30)\n    return {}\n",
		"ev.json":         `{"source":"shop","detail-type":"X","detail":{}}`,
	})
	must(t, dir, "deploy")
	start := time.Now()
	r := run(t, dir, "", "send", "ev.json", "--wait", "--timeout", "1s")
	took := time.Since(start)
	if r.code != 1 || !strings.Contains(r.stderr, "gave up waiting after 1s (--timeout)") || !strings.Contains(r.stderr, "stopped with 1 delivery pending") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("exit %d, want 1, the timeout and what is pending\n%s", r.code, r.stderr)
	}
	t.Logf("send --wait --timeout 1s took %s (the handler sleeps 30 s)", took.Round(10*time.Millisecond))
}

// A send file with one entry over 256 KB is refused whole on local, as on
// AWS: exit 2, the entry named, no event stored.
func TestSendRefusesAFileWithAnEntryOver256KB(t *testing.T) {
	big := `{"source":"shop","detail-type":"Big","detail":{"pad":"` + strings.Repeat("x", 300*1024) + `"}}`
	dir := writeProject(t, `project: big
functions:
  f:
    source: fns/f
    runtime: python3.12
    handler: app.handler
    events:
      - pattern: {source: [shop]}
`, map[string]string{
		"fns/f/app.py": "def handler(event, context):\n    return {}\n",
		"events.ndjson": `{"source":"shop","detail-type":"Small","detail":{}}` + "\n" + big + "\n" +
			`{"source":"shop","detail-type":"Small","detail":{}}` + "\n",
	})
	r := run(t, dir, "", "send", "events.ndjson")
	if r.code != 2 || !strings.Contains(r.stderr, "event 1 (shop Big) is ") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Fatalf("exit %d, want 2 naming event 1\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".evcli", "state.db")); err == nil {
		db, err := store.Open(filepath.Join(dir, ".evcli"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if n, _ := db.LastEventSeq(context.Background()); n != 0 {
			t.Fatalf("%d events stored after a refused send", n)
		}
	}
}
