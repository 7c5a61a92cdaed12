package runtime

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The handlers of host_test: each logs the CloudEvent attributes it got and
// the envelope's detail (on gcp data is the whole envelope, as the gcp driver
// publishes it; on azure data is the detail, as Event Grid carries evcli's
// CloudEvents), answers with the event id, and fails when the detail says so.
var hostHandlers = map[string]map[string]string{
	"gcp/node": {"index.js": `
const functions = require('@google-cloud/functions-framework');
functions.cloudEvent('payment', async (ce) => {
  console.log(JSON.stringify({ got: ce.type, id: ce.id, source: ce.source, specversion: ce.specversion, detail: ce.data.detail }));
  if (ce.data.detail.fail) throw new TypeError('card declined');
});
functions.http('web', (req, res) => res.send('no'));
`},
	"gcp/python": {"main.py": `
import json
import functions_framework

@functions_framework.cloud_event
def payment(cloud_event):
    print(json.dumps({"got": cloud_event["type"], "id": cloud_event["id"], "source": cloud_event["source"],
                      "specversion": cloud_event["specversion"], "detail": cloud_event.data["detail"]}))
    if cloud_event.data["detail"].get("fail"):
        raise ValueError("card declined")
`},
	"azure/node": {"index.js": `
const { app } = require('@azure/functions');
app.eventGrid('payment', {
  handler: async (event, context) => {
    context.log(JSON.stringify({ got: event.type, id: event.id, source: event.source, specversion: event.specversion, detail: event.data }));
    if (event.data.fail) throw new TypeError('card declined');
    return { id: event.id };
  },
});
`},
	"azure/python": {"function_app.py": `
import json
import azure.functions as func

app = func.FunctionApp()

@app.event_grid_trigger(arg_name="event")
def payment(event: func.EventGridEvent):
    body = event.get_json()
    print(json.dumps({"got": event.event_type, "id": event.id, "source": event.topic, "specversion": event.data_version,
                      "detail": body}))
    if body.get("fail"):
        raise ValueError("card declined")
    return {"id": event.id}
`},
}

// TestHostShims: a Node.js or Python function written for Cloud Functions
// (functions-framework, cloudEvent) or Azure Functions (v4 app.eventGrid,
// v2 @app.event_grid_trigger) runs without those packages installed: the
// envelope arrives as a CloudEvent (id, source, type = detail-type), its
// output is in the invocation's logs between START and REPORT, the result
// comes back, and a thrown error fails the invocation with its type.
func TestHostShims(t *testing.T) {
	for _, tc := range []struct {
		key, runtime, handler, kind, wantType string
		env                                   map[string]string
	}{
		{"gcp/node", "nodejs20.x", "index.payment", "node", "TypeError", map[string]string{"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "payment"}},
		{"gcp/python", "python3.12", "main.payment", "python3", "ValueError", map[string]string{"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "payment"}},
		{"azure/node", "nodejs20.x", "index.payment", "node", "TypeError", map[string]string{"FUNCTIONS_WORKER_RUNTIME": "node"}},
		{"azure/python", "python3.12", "function_app.payment", "python3", "ValueError", map[string]string{"FUNCTIONS_WORKER_RUNTIME": "python"}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			needInterpreter(t, tc.kind)
			m, _ := newTestManager(t, Options{})
			deploy(t, m, FunctionSpec{Name: "payment", Runtime: tc.runtime, Handler: tc.handler,
				CodeDir: writeFiles(t, hostHandlers[tc.key]), Env: tc.env, TimeoutS: 30})
			env := `{"version":"0","id":"ev-1","source":"shop.orders","detail-type":"OrderCreated","time":"2026-12-07T10:00:00Z","detail":{"orderId":"o-1"}}`
			for i := 0; i < 2; i++ { // cold, then warm
				r := invoke(t, m, "payment", env)
				if r.FunctionError != "" {
					t.Fatalf("invocation %d failed: %s\n%s", i, r.Payload, strings.Join(r.Logs, "\n"))
				}
				if strings.HasPrefix(tc.key, "azure/") && string(r.Payload) != `{"id":"ev-1"}` {
					t.Errorf("result = %s, want {\"id\":\"ev-1\"}", r.Payload)
				}
				var got map[string]any
				for _, l := range r.Logs {
					if strings.HasPrefix(l, "{") {
						_ = json.Unmarshal([]byte(l), &got)
					}
				}
				want := map[string]any{"got": "OrderCreated", "id": "ev-1", "source": "shop.orders", "specversion": "1.0",
					"detail": map[string]any{"orderId": "o-1"}}
				if b1, b2 := jsonText(got), jsonText(want); b1 != b2 {
					t.Errorf("the handler saw %s, want %s\nlogs:\n%s", b1, b2, strings.Join(r.Logs, "\n"))
				}
				if !strings.HasPrefix(r.Logs[0], "START RequestId: "+r.RequestID) || !strings.HasPrefix(r.Logs[len(r.Logs)-1], "REPORT RequestId: "+r.RequestID) {
					t.Errorf("logs are not framed by START and REPORT:\n%s", strings.Join(r.Logs, "\n"))
				}
				if (i == 0) != (r.InitDurationMs > 0) {
					t.Errorf("invocation %d: init duration %v", i, r.InitDurationMs)
				}
			}
			r := invoke(t, m, "payment", strings.Replace(env, `"orderId":"o-1"`, `"orderId":"o-1","fail":true`, 1))
			if r.FunctionError != "Unhandled" || r.ErrorType != tc.wantType || !strings.Contains(string(r.Payload), "card declined") {
				t.Errorf("failing invocation: error %q type %q payload %s, want Unhandled %s card declined", r.FunctionError, r.ErrorType, r.Payload, tc.wantType)
			}
			if logs := strings.Join(r.Logs, "\n"); !strings.Contains(logs, "card declined") {
				t.Errorf("the error is not in the logs:\n%s", logs)
			}
			// The instance survives a handler error.
			if r := invoke(t, m, "payment", env); r.FunctionError != "" {
				t.Errorf("after a failure: %s", r.Payload)
			}
		})
	}
}

// TestHostShimInitErrors: a target that is not registered, or registered
// with another trigger, fails the invocation and says what to write.
func TestHostShimInitErrors(t *testing.T) {
	needInterpreter(t, "node")
	needInterpreter(t, "python3")
	for _, tc := range []struct {
		name, runtime, handler string
		files, env             map[string]string
		want                   string
	}{
		{"node unknown target", "nodejs20.x", "index.refund", hostHandlers["gcp/node"],
			map[string]string{"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "refund"}, "functions.cloudEvent('refund', fn)"},
		{"node http function", "nodejs20.x", "index.web", hostHandlers["gcp/node"],
			map[string]string{"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "web"}, "registered with http"},
		{"python unknown target", "python3.12", "function_app.refund", hostHandlers["azure/python"],
			map[string]string{"FUNCTIONS_WORKER_RUNTIME": "python"}, "@app.event_grid_trigger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestManager(t, Options{})
			deploy(t, m, FunctionSpec{Name: "fn", Runtime: tc.runtime, Handler: tc.handler,
				CodeDir: writeFiles(t, tc.files), Env: tc.env, TimeoutS: 30})
			r := invoke(t, m, "fn", `{}`)
			if r.FunctionError == "" || !strings.Contains(strings.Join(r.Logs, "\n"), tc.want) {
				t.Errorf("error %q type %q, logs:\n%s\nwant a failure whose logs say %q", r.FunctionError, r.ErrorType, strings.Join(r.Logs, "\n"), tc.want)
			}
		})
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFreePort: the function's server port is outside the ephemeral range
// and free.
func TestFreePort(t *testing.T) {
	for range 20 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(p)
		if n < 20000 || n >= 32000 {
			t.Fatalf("freePort() = %s, want 20000-31999", p)
		}
	}
}

// TestHostServerNotAnswering: a process that lives but does not serve its
// port fails the invocation and is replaced, so the next invocation, on a
// fresh instance, succeeds.
func TestHostServerNotAnswering(t *testing.T) {
	needInterpreter(t, "node")
	m, _ := newTestManager(t, Options{})
	dir := t.TempDir()
	marker := filepath.Join(dir, "started-once")
	code := `
const fs = require('fs');
const functions = require('@google-cloud/functions-framework');
functions.cloudEvent('fn', async () => {});
if (!fs.existsSync(` + "`" + marker + "`" + `)) {
  fs.writeFileSync(` + "`" + marker + "`" + `, 'x');
  // Serve the port for a moment (the host sees it listening), then stop
  // serving it while the process lives on.
  const http = require('http');
  const orig = http.createServer;
  http.createServer = (...a) => { const s = orig(...a); const l = s.listen.bind(s); s.listen = (...b) => { l(...b); setTimeout(() => s.close(), 200); return s; }; return s; };
  setInterval(() => {}, 1000);
}
`
	deploy(t, m, FunctionSpec{Name: "fn", Runtime: "nodejs20.x", Handler: "index.fn", TimeoutS: 30,
		CodeDir: writeFiles(t, map[string]string{"index.js": code}),
		Env:     map[string]string{"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "fn"}})
	var r Result
	for i := 0; i < 20; i++ { // until the server has stopped serving
		if r = invoke(t, m, "fn", `{}`); r.FunctionError != "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.FunctionError == "" {
		t.Fatal("the invocations kept succeeding after the server stopped serving")
	}
	if r := invoke(t, m, "fn", `{}`); r.FunctionError != "" {
		t.Errorf("the next invocation failed too (the broken instance was kept): %s %s", r.ErrorType, r.Payload)
	}
}
