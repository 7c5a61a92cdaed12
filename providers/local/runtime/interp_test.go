package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles creates a code directory from name -> content.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
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

func needInterpreter(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed", name)
	}
}

var nodeFiles = map[string]string{
	"index.js": `
exports.handler = async (event, context) => {
  console.log("got", JSON.stringify(event));
  console.warn("two\nlines");
  return {
    ok: true, id: context.awsRequestId, fn: context.functionName, mem: context.memoryLimitInMB,
    arn: context.invokedFunctionArn, remaining: context.getRemainingTimeInMillis() > 0,
    stream: context.logStreamName === process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    trace: (process.env._X_AMZN_TRACE_ID || "").startsWith("Root=1-"),
  };
};
exports.throws = async () => { throw new TypeError("bad input"); };
exports.nested = { deeper: async () => "nested" };
exports.undef = async () => undefined;
exports.uncaught = async () => { setTimeout(() => { throw new Error("later"); }, 5); return new Promise(() => {}); };
exports.rejects = async () => { Promise.reject(new Error("nobody catches me")); return new Promise(() => {}); };
exports.notfn = 42;
`,
	"cb.js": `
exports.handler = (event, context, callback) => { setTimeout(() => callback(null, { cb: event.n }), 5); };
exports.fails = (event, context, callback) => callback(new Error("cb fail"));
exports.sync = (event) => ({ sync: event.n });
`,
	"loop.js": `
exports.waits = (event, context, callback) => { setTimeout(() => console.log("timer fired"), 30); callback(null, "answered"); };
exports.nowait = (event, context, callback) => { context.callbackWaitsForEmptyEventLoop = false; setTimeout(() => console.log("timer fired"), 5000); callback(null, "answered"); };
exports.legacy = (event, context, callback) => { setTimeout(() => console.log("timer fired"), 5000); context.succeed("answered"); };
exports.asyncfn = async () => { setTimeout(() => console.log("timer fired"), 5000); return "answered"; };
exports.cberr = (event, context, callback) => { setTimeout(() => console.log("timer fired"), 5000); callback(new Error("at once")); };
`,
	"esm.mjs":               `export const handler = async (event) => ({ esm: true, n: event.n });`,
	"mod/package.json":      `{"type":"module"}`,
	"mod/app.js":            `import { hello } from "./lib.js"; export async function handler() { return { module: hello() }; }`,
	"mod/lib.js":            `export const hello = () => "hi";`,
	"src/orders/create.cjs": `module.exports.handler = async () => "created";`,
	"syntax.js":             `exports.handler = async () => { return ; ;; }}`,
	"initfail.js":           `throw new Error("config missing");`,
	"needsdep.js":           `const eb = require("@aws-sdk/client-eventbridge"); exports.handler = async () => 1;`,
	"needsesm.mjs":          `import { x } from "left-pad-not-installed"; export const handler = async () => x;`,
}

func TestNodeHandlers(t *testing.T) {
	needInterpreter(t, "node")
	dir := writeFiles(t, nodeFiles)
	m, rec := newTestManager(t, Options{})
	tests := []struct {
		handler, payload string
		want             string // exact payload, or
		errorType        string
		errorContains    string
	}{
		{handler: "cb.handler", payload: `{"n":7}`, want: `{"cb":7}`},
		{handler: "cb.sync", payload: `{"n":8}`, want: `{"sync":8}`},
		{handler: "esm.handler", payload: `{"n":1}`, want: `{"esm":true,"n":1}`},
		{handler: "mod/app.handler", want: `{"module":"hi"}`},
		{handler: "src/orders/create.handler", want: `"created"`},
		{handler: "index.nested.deeper", want: `"nested"`},
		{handler: "index.undef", want: `null`},
		{handler: "index.throws", errorType: "TypeError", errorContains: `"errorMessage":"bad input","trace":["TypeError: bad input"`},
		{handler: "cb.fails", errorType: "Error", errorContains: `"errorMessage":"cb fail"`},
		{handler: "index.uncaught", errorType: "Error", errorContains: `"errorMessage":"later"`},
		{handler: "index.rejects", errorType: "Runtime.UnhandledPromiseRejection", errorContains: `"errorMessage":"Error: nobody catches me"`},
		{handler: "missing.handler", errorType: "Runtime.ImportModuleError", errorContains: `Cannot find module 'missing'`},
		// A missing package names the package and the fix, not the handler file.
		{handler: "needsdep.handler", errorType: "Runtime.ImportModuleError", errorContains: `Cannot find module '@aws-sdk/client-eventbridge' imported by needsdep: the handler imports '@aws-sdk/client-eventbridge', which is not installed: run npm install`},
		{handler: "needsesm.handler", errorType: "Runtime.ImportModuleError", errorContains: `the handler imports 'left-pad-not-installed', which is not installed`},
		{handler: "index.nothere", errorType: "Runtime.HandlerNotFound", errorContains: `"errorMessage":"index.nothere is undefined or not exported"`},
		{handler: "index.notfn", errorType: "Runtime.HandlerNotFound", errorContains: `index.notfn is not a function`},
		{handler: "syntax.handler", errorType: "Runtime.UserCodeSyntaxError", errorContains: `SyntaxError: Unexpected token`},
		{handler: "initfail.handler", errorType: "Error", errorContains: `"errorMessage":"config missing"`},
	}
	for i, tt := range tests {
		t.Run(tt.handler, func(t *testing.T) {
			name := "node" + string(rune('a'+i))
			deploy(t, m, FunctionSpec{Name: name, Runtime: NodeJS20, CodeDir: dir, Handler: tt.handler})
			r := invoke(t, m, name, tt.payload)
			if tt.errorType == "" {
				if r.FunctionError != "" || string(r.Payload) != tt.want {
					t.Errorf("got %q %s, want %s", r.FunctionError, r.Payload, tt.want)
				}
				return
			}
			if r.FunctionError != "Unhandled" || r.ErrorType != tt.errorType || !strings.Contains(string(r.Payload), tt.errorContains) {
				t.Errorf("got %q %q %s\nwant Unhandled %q containing %s", r.FunctionError, r.ErrorType, r.Payload, tt.errorType, tt.errorContains)
			}
		})
	}

	deploy(t, m, FunctionSpec{Name: "nodectx", Runtime: NodeJS22, CodeDir: dir, Handler: "index.handler", MemoryMB: 256})
	r := invoke(t, m, "nodectx", `{"k":"v"}`)
	c := jsonOf(t, r.Payload)
	for k, v := range map[string]any{"ok": true, "id": r.RequestID, "fn": "nodectx", "mem": "256", "remaining": true, "stream": true, "trace": true,
		"arn": "arn:aws:lambda:us-east-1:000000000000:function:nodectx"} {
		if c[k] != v {
			t.Errorf("context %s = %v, want %v", k, c[k], v)
		}
	}
	golden(t, "node_logs", normalize(rec.linesOf(r.RequestID), r.RequestID))
	again := invoke(t, m, "nodectx", `{}`)
	if again.InstanceID != r.InstanceID {
		t.Error("node instance not reused")
	}
}

// TestNodeCallbackWaitsForEmptyEventLoop: as Lambda's Node.js runtime, a
// callback handler's answer waits until the event loop is empty (the timer
// it left fires inside the invocation), unless it sets
// context.callbackWaitsForEmptyEventLoop = false; callback(err), the legacy
// context.succeed and async handlers answer at once (their 5 s timer does not
// fire inside the invocation).
func TestNodeCallbackWaitsForEmptyEventLoop(t *testing.T) {
	needInterpreter(t, "node")
	dir := writeFiles(t, nodeFiles)
	m, _ := newTestManager(t, Options{})
	for _, c := range []struct {
		handler, want string
		waits         bool
	}{
		{"loop.waits", `"answered"`, true},
		{"loop.nowait", `"answered"`, false},
		{"loop.legacy", `"answered"`, false},
		{"loop.asyncfn", `"answered"`, false},
		{"loop.cberr", `{"errorType":"Error","errorMessage":"at once"`, false},
	} {
		t.Run(c.handler, func(t *testing.T) {
			name := strings.ReplaceAll(c.handler, ".", "-")
			deploy(t, m, FunctionSpec{Name: name, Runtime: NodeJS22, CodeDir: dir, Handler: c.handler, TimeoutS: 30})
			r := invoke(t, m, name, `{}`)
			if !strings.HasPrefix(string(r.Payload), c.want) {
				t.Errorf("payload %s, want %s…", r.Payload, c.want)
			}
			if fired := slices.ContainsFunc(r.Logs, func(l string) bool { return strings.HasSuffix(l, "timer fired") }); fired != c.waits {
				t.Errorf("timer fired inside the invocation: %v, want %v; lines %q", fired, c.waits, r.Logs)
			}
		})
	}
}

var pythonFiles = map[string]string{
	"app.py": `
import json, logging, os
logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("module loaded")

def handler(event, context):
    print("got", json.dumps(event))
    logger.info("two\nlines")
    return {
        "id": context.aws_request_id, "fn": context.function_name, "mem": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn, "remaining": context.get_remaining_time_in_millis() > 0,
        "group": context.log_group_name, "trace": os.environ.get("_X_AMZN_TRACE_ID", "").startswith("Root=1-"),
    }

def fails(event, context):
    raise ValueError("bad value")

def unserializable(event, context):
    return {"s": {1, 2}}

def exits(event, context):
    os._exit(4)
`,
	"pkg/__init__.py": ``,
	"pkg/orders.py":   `def handler(event, context): return ["order", event.get("n")]`,
	"syntax.py":       "def handler(event, context)\n    return 1\n",
	"raises.py":       "raise RuntimeError('at import')\n",
}

func TestPythonHandlers(t *testing.T) {
	needInterpreter(t, "python3")
	dir := writeFiles(t, pythonFiles)
	m, rec := newTestManager(t, Options{})
	tests := []struct {
		handler, payload string
		want             string
		errorType        string
		errorContains    string
	}{
		{handler: "pkg/orders.handler", payload: `{"n":3}`, want: `["order", 3]`},
		{handler: "app.fails", errorType: "ValueError", errorContains: `"errorMessage": "bad value", "errorType": "ValueError", "requestId": "`},
		{handler: "app.unserializable", errorType: "Runtime.MarshalError", errorContains: `Unable to marshal response: Object of type set is not JSON serializable`},
		{handler: "app.exits", errorType: "Runtime.ExitError", errorContains: `Runtime exited with error: exit status 4`},
		{handler: "nomodule.handler", errorType: "Runtime.ImportModuleError", errorContains: `"errorMessage": "Unable to import module 'nomodule': No module named 'nomodule'"`},
		{handler: "app.nothere", errorType: "Runtime.HandlerNotFound", errorContains: `"errorMessage": "Handler 'nothere' missing on module 'app'"`},
		{handler: "syntax.handler", errorType: "Runtime.UserCodeSyntaxError", errorContains: `Syntax error in module 'syntax'`},
		{handler: "raises.handler", errorType: "RuntimeError", errorContains: `"errorMessage": "at import"`},
		{handler: "apphandler", errorType: "Runtime.MalformedHandlerName", errorContains: `Bad handler 'apphandler'`},
	}
	for i, tt := range tests {
		t.Run(tt.handler, func(t *testing.T) {
			name := "py" + string(rune('a'+i))
			spec := FunctionSpec{Name: name, Runtime: Python312, CodeDir: dir, Handler: tt.handler}
			if tt.errorType == "Runtime.MalformedHandlerName" {
				// Deploy refuses it; start the instance anyway to see the runtime's own check.
				spec.Handler = "app.handler"
				deploy(t, m, spec)
				m.mu.Lock()
				m.fns[name].spec.Handler = tt.handler
				m.mu.Unlock()
			} else {
				deploy(t, m, spec)
			}
			r := invoke(t, m, name, tt.payload)
			if tt.errorType == "" {
				if r.FunctionError != "" || string(r.Payload) != tt.want {
					t.Errorf("got %q %s, want %s", r.FunctionError, r.Payload, tt.want)
				}
				return
			}
			if r.FunctionError != "Unhandled" || r.ErrorType != tt.errorType || !strings.Contains(string(r.Payload), tt.errorContains) {
				t.Errorf("got %q %q %s\nwant Unhandled %q containing %s", r.FunctionError, r.ErrorType, r.Payload, tt.errorType, tt.errorContains)
			}
		})
	}

	deploy(t, m, FunctionSpec{Name: "pyctx", Runtime: Python313, CodeDir: dir, Handler: "app.handler"})
	r := invoke(t, m, "pyctx", `{"k":"v"}`)
	c := jsonOf(t, r.Payload)
	for k, v := range map[string]any{"id": r.RequestID, "fn": "pyctx", "mem": "128", "remaining": true, "group": "/aws/lambda/pyctx", "trace": true,
		"arn": "arn:aws:lambda:us-east-1:000000000000:function:pyctx"} {
		if c[k] != v {
			t.Errorf("context %s = %v, want %v", k, c[k], v)
		}
	}
	golden(t, "python_logs", normalize(rec.linesOf(r.RequestID), r.RequestID))

	fail := invoke(t, m, "pyb", `{}`)
	golden(t, "python_error_logs", strings.ReplaceAll(normalize(rec.linesOf(fail.RequestID), fail.RequestID), dir, "<codedir>"))
}
