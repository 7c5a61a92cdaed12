package main

import (
	"os"
	"regexp"
	"testing"
)

// requestLine is a line local serve prints per request: time, operation,
// HTTP status, duration.
var requestLine = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d (\S+(?: \S+)?)\s+(\d{3}) \S+$`)

// serveRequests starts `evcli local serve` with args in dir, makes an
// invoke and a send through it, stops it with Ctrl-C and returns the
// operations of the request lines it printed.
func serveRequests(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	serve, w := startEvcli(t, dir, "", append([]string{"local", "serve"}, args...)...)
	within(t, w.await("listening on", 1), "local serve starting", w)
	must(t, dir, "invoke", "worker", "--payload", `{"mode":"ok"}`)
	if r := run(t, dir, `{"source":"test","detail-type":"T","detail":{"mode":"ok"}}`, "send", "-", "--wait"); r.code != 0 {
		t.Fatalf("send through local serve: exit %d\n%s", r.code, r.stderr)
	}
	stopped := w.await("provider stopped", 1)
	_ = serve.Process.Signal(os.Interrupt)
	within(t, stopped, "local serve stopping", w)
	var ops []string
	for _, m := range requestLine.FindAllStringSubmatch(w.String(), -1) {
		ops = append(ops, m[1]+" "+m[2])
	}
	return ops
}

// local serve prints one line per request it answers (health checks
// aside), and --quiet prints none.
func TestServePrintsOneLinePerRequest(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	dir := writeProject(t, flakyProject, map[string]string{"fns/worker/index.js": flakyHandler})
	must(t, dir, "deploy")

	ops := serveRequests(t, dir)
	want := map[string]bool{"invoke 200": false, "send 200": false, "wait 200": false}
	for _, op := range ops {
		if _, ok := want[op]; ok {
			want[op] = true
		}
	}
	for op, seen := range want {
		if !seen {
			t.Errorf("no %q request line; request lines: %q", op, ops)
		}
	}
	if ops := serveRequests(t, dir, "--quiet"); len(ops) != 0 {
		t.Errorf("local serve --quiet printed request lines %q", ops)
	}
}
