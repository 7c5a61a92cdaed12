package main

import (
	"strings"
	"testing"
)

// pyProject's one function runs one invocation at a time (one instance,
// one log stream), so an invocation that raises follows one that logged
// its correlation id on the same stream.
const pyProject = `project: pyerr
bus: pyerr-bus
functions:
  stock:
    source: fns/stock
    runtime: python3.12
    handler: app.handler
    timeout: 60
    concurrency: 1
    events:
      - pattern: {source: [test]}
`

const pyHandler = `import json

def handler(event, context):
    d = event.get("detail", event)
    if d.get("mode") == "raise":
        raise ValueError("bad sku " + d.get("sku", ""))
    print(json.dumps({"msg": "reserved", "sku": d.get("sku"), "correlationId": d.get("correlationId")}))
    return {"ok": True}
`

// A Python handler that raises before it logs its correlation id: the
// uncaught exception's line ([ERROR] ValueError … Traceback) keeps the
// request id of the invocation that raised and the correlation id of the
// delivery it served (the store has it from the bus), so tail puts it in
// that invocation's flow, c-raise, at level error, and never in the flow
// of the invocation before it on the same stream.
func TestPythonExceptionStaysInItsInvocationsFlow(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "python")
	dir := writeProject(t, pyProject, map[string]string{"fns/stock/app.py": pyHandler})
	must(t, dir, "deploy")
	events := `{"source":"test","detail-type":"T","detail":{"mode":"ok","sku":"s-1","correlationId":"c-ok"}}
{"source":"test","detail-type":"T","detail":{"mode":"raise","sku":"s-2","correlationId":"c-raise"}}
`
	if r := run(t, dir, events, "send", "-", "--wait"); r.code != 1 {
		t.Fatalf("send: exit %d, want 1 (the raising delivery fails)\n%s", r.code, r.stderr)
	}

	r := must(t, dir, "tail", "--follow=false", "--since", "1h", "-o", "json")
	okRequest := ""
	var raised []map[string]any
	starts := map[string]bool{}
	for _, l := range records(t, r.stdout, "log") {
		msg, _ := l["message"].(string)
		switch {
		case l["correlationId"] == "c-ok" && strings.Contains(msg, "reserved"):
			okRequest, _ = l["requestId"].(string)
		case strings.Contains(msg, "ValueError: bad sku s-2"):
			raised = append(raised, l)
		case strings.HasPrefix(msg, "START RequestId: "):
			starts[l["requestId"].(string)] = true
		}
	}
	if okRequest == "" {
		t.Fatalf("no line of the c-ok invocation with its request id:\n%s", r.stdout)
	}
	if len(raised) == 0 {
		t.Fatalf("no line of the ValueError:\n%s", r.stdout)
	}
	for _, l := range raised {
		req, _ := l["requestId"].(string)
		if req == "" || req == okRequest || !starts[req] {
			t.Errorf("the ValueError line has request id %q (the c-ok invocation's is %s); want its own invocation's: %v", req, okRequest, l)
		}
		if l["correlationId"] != "c-raise" {
			t.Errorf("the ValueError line joined flow %v; want its invocation's own, c-raise", l["correlationId"])
		}
		if lvl, _ := l["level"].(string); !strings.EqualFold(lvl, "error") {
			t.Errorf("the ValueError line has level %v, want error", l["level"])
		}
	}

	// The flow of c-ok does not show the exception; --level error does.
	if r := must(t, dir, "tail", "--correlation", "c-ok", "--follow=false", "--since", "1h"); strings.Contains(r.stdout, "ValueError") {
		t.Errorf("tail --correlation c-ok shows the exception of the next invocation:\n%s", r.stdout)
	}
	if r := must(t, dir, "tail", "--level", "error", "--follow=false", "--since", "1h"); !strings.Contains(r.stdout, "ValueError: bad sku s-2") {
		t.Errorf("tail --level error does not show the exception:\n%s", r.stdout)
	}
}
