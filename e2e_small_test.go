package main

// End-to-end tests of the smaller items of issue #15.

import (
	"strings"
	"testing"
	"time"
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
