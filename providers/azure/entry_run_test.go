package azure

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
)

// unpack writes the zip b under a new directory, with the stub packages
// under stubs (testdata/entry/stubs/<stubs>) copied in at stubDir.
func unpack(t *testing.T, b []byte, stubs, stubDir string) string {
	t.Helper()
	dir := t.TempDir()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join("testdata", "entry", "stubs", stubs)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		to := filepath.Join(dir, stubDir, rel)
		os.MkdirAll(filepath.Dir(to), 0o755)
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestNodeEntryRuns runs the generated entrypoint under node against a
// stub @azure/functions: it registers events and evcli-invoke (and not the
// code's own Event Grid function), events runs the code's handler with
// the CloudEvent, the guard acknowledges an event no rule matches without
// running it, and evcli-invoke answers the handler's result as JSON, or
// 500 with errorType and errorMessage when it throws.
func TestNodeEntryRuns(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Skip(t, "node", "install Node.js 20 or later: evcli's Azure entrypoint runs under it")
	}
	fd := providers.FunctionDeployment{Name: "payment", Runtime: "nodejs20.x", Handler: "index.payment"}
	pkg, err := entryZip(fd, testZip(t, nodeFiles), true)
	if err != nil {
		t.Fatal(err)
	}
	dir := unpack(t, pkg, "node", "node_modules")
	const script = `const path = require('path');
const main = require(path.join(process.argv[1], require(process.argv[1] + '/package.json').main));
const { registered } = require(process.argv[1] + '/node_modules/@azure/functions');
const ctx = { invocationId: 'inv-1', log: (...a) => console.log(...a), error: (...a) => console.log('ERROR', ...a) };
const ce = (id, amount, extra) => ({ specversion: '1.0', id, source: 'shop.orders', type: 'OrderCreated', time: '2026-01-01T00:00:00Z', data: { amount, ...extra } });
(async () => {
  console.log('REGISTERED ' + Object.keys(registered).sort().map((k) => k + ':' + registered[k].type).join(','));
  const inv = registered['evcli-invoke'];
  console.log('ROUTE ' + inv.route + ' ' + inv.authLevel + ' ' + inv.methods.join(','));
  console.log('RESULT big ' + JSON.stringify(await registered.events.handler(ce('big', 500), ctx)));
  console.log('RESULT small ' + JSON.stringify(await registered.events.handler(ce('small', 5), ctx)));
  const req = (ev) => ({ text: async () => JSON.stringify(ev) });
  let r = await inv.handler(req(ce('inv', 5)), ctx);
  console.log('INVOKE ' + r.status + ' ' + r.body + ' ' + r.headers['X-Evcli-Invocation-Id']);
  r = await inv.handler(req(ce('boom', 500, { fail: true })), ctx);
  console.log('INVOKE ' + r.status + ' ' + r.body);
  // evcli invoke sends the bus's event (an EventBridge envelope): the
  // handler gets it as Event Grid would deliver it, a CloudEvent.
  r = await inv.handler(req({ version: '0', id: 'env', source: 'shop.orders', 'detail-type': 'OrderCreated', time: '2026-01-01T00:00:00Z', resources: [], detail: { amount: 5 } }), ctx);
  console.log('INVOKE ' + r.status + ' ' + r.body);
})().catch((e) => { console.log('FAILED ' + e.stack); process.exit(1); });`
	cmd := exec.Command("node", "--no-warnings", "-e", script, dir)
	cmd.Env = append(os.Environ(), "EVCLI_HANDLER=index.payment", "EVCLI_FUNCTION=payment", "EVCLI_GUARD=in-function",
		`EVCLI_RULES=[{"id":"payment-0","pattern":{"source":["shop.orders"],"detail":{"amount":[{"numeric":[">",100]}]}}}]`)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	for _, w := range []string{
		"REGISTERED evcli-invoke:http,events:eventGrid",
		"ROUTE evcli-invoke function POST",
		"HANDLED big inv-1",
		`RESULT big {"ok":"big","type":"OrderCreated"}`,
		"evcli guard: event small matches no rule of payment; acknowledged without running the handler",
		"HANDLED inv inv-1", // invoke is not filtered
		`INVOKE 200 {"ok":"inv","type":"OrderCreated"} inv-1`,
		`INVOKE 500 {"errorType":"TypeError","errorMessage":"bad order boom"}`,
		`INVOKE 200 {"ok":"env","type":"OrderCreated"}`,
	} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "HANDLED small") {
		t.Errorf("the handler ran for an event no rule matches:\n%s", out)
	}

	// Without the engine in the package, EVCLI_GUARD fails at load, not per event.
	pkg, err = entryZip(fd, testZip(t, nodeFiles), false)
	if err != nil {
		t.Fatal(err)
	}
	dir = unpack(t, pkg, "node", "node_modules")
	cmd = exec.Command("node", "--no-warnings", "-e", `require(process.argv[1] + '/evcli_entry.js')`, dir)
	cmd.Env = append(os.Environ(), "EVCLI_HANDLER=index.payment", "EVCLI_GUARD=in-function")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no evcli_guard_engine.js") {
		t.Errorf("a guard without its engine: err %v\n%s", err, out)
	}
}

// TestPythonEntryRuns runs the generated entrypoint under python3 against
// a stub azure.functions: events and evcli-invoke are registered on its
// own FunctionApp, events runs the code's Event Grid function with the
// event as its trigger argument, evcli-invoke answers the result as JSON
// or 500 with errorType and errorMessage.
func TestPythonEntryRuns(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		testenv.Skip(t, "python3", "install Python 3: evcli's Azure entrypoint runs under it")
	}
	fd := providers.FunctionDeployment{Name: "payment", Runtime: "python3.12", Handler: "function_app.payment"}
	pkg, err := entryZip(fd, testZip(t, map[string]string{"function_app.py": pythonHandlerPy}), false)
	if err != nil {
		t.Fatal(err)
	}
	dir := unpack(t, pkg, "python", "")
	const script = `import json, sys
sys.path.insert(0, sys.argv[1])
import evcli_entry as e
import azure.functions as func
fns = {f.get_function_name(): f for f in e.app.get_functions()}
print("REGISTERED " + ",".join("%s:%s" % (n, fns[n].get_trigger().type) for n in sorted(fns)))
tr = fns["evcli-invoke"].get_trigger()
print("ROUTE %s %s %s" % (tr.settings["route"], tr.settings["auth_level"].value, ",".join(tr.settings["methods"])))
ev = e._grid_event({"specversion": "1.0", "id": "g1", "source": "shop.orders", "type": "OrderCreated", "time": "2026-01-01T00:00:00Z", "data": {"amount": 5}})
fns["events"].get_user_function()(ev)
inv = fns["evcli-invoke"].get_user_function()
for body in (b'{"specversion":"1.0","id":"inv","source":"s","type":"OrderCreated","data":{}}', b'{"id":"boom","type":"T","data":{"fail":true}}',
             b'{"version":"0","id":"env","source":"s","detail-type":"OrderCreated","detail":{}}'):
    r = inv(func.HttpRequest("POST", "/api/evcli-invoke", body=body))
    print("INVOKE %d %s" % (r.status_code, r.get_body().decode()))
`
	cmd := exec.Command("python3", "-c", script, dir)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "EVCLI_HANDLER=function_app.payment", "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	for _, w := range []string{
		"REGISTERED evcli-invoke:httpTrigger,events:eventGridTrigger",
		"ROUTE evcli-invoke function POST",
		"HANDLED g1 OrderCreated",
		`INVOKE 200 {"ok": "inv", "type": "OrderCreated"}`,
		`INVOKE 500 {"errorType": "ValueError", "errorMessage": "bad order boom"}`,
		`INVOKE 200 {"ok": "env", "type": "OrderCreated"}`, // an EventBridge envelope, as evcli invoke sends it
	} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "REGISTERED payment") || strings.Contains(string(out), ",payment:") {
		t.Errorf("the code's own function is registered on evcli's app:\n%s", out)
	}
}
