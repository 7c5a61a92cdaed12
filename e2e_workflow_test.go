package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// seedASL is the seed's orchestrated saga, as written for Step Functions:
// Lambda ARNs (evcli runs the project function each names).
const seedASL = `{
  "Comment": "Order saga: payment, inventory, shipment; compensations on failure",
  "StartAt": "ProcessPayment",
  "States": {
    "ProcessPayment": {
      "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:payment", "ResultPath": "$.payment",
      "Retry": [{"ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}],
      "Catch": [{"ErrorEquals": ["PaymentError"], "ResultPath": "$.error", "Next": "FailOrderState"}],
      "Next": "ReserveInventory"
    },
    "ReserveInventory": {
      "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:inventory", "ResultPath": "$.inventory",
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RefundPayment"}],
      "Next": "CreateShipment"
    },
    "CreateShipment": {
      "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:shipment", "ResultPath": "$.shipment",
      "Catch": [{"ErrorEquals": ["ShipmentError"], "ResultPath": "$.error", "Next": "ReleaseInventory"}],
      "Next": "CompleteOrder"
    },
    "CompleteOrder": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:complete", "End": true},
    "ReleaseInventory": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:release", "ResultPath": "$.release", "Next": "RefundPayment"},
    "RefundPayment": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:refund", "ResultPath": "$.refund", "Next": "FailOrderState"},
    "FailOrderState": {"Type": "Fail", "Error": "OrderFailed", "Cause": "the order could not be completed"}
  }
}
`

const workflowYAML = `project: wf
functions:
  payment: {source: functions/payment, runtime: nodejs20.x, handler: index.handler, timeout: 60}
  inventory: {source: functions/inventory, runtime: nodejs20.x, handler: index.handler, timeout: 60}
  shipment: {source: functions/shipment, runtime: nodejs20.x, handler: index.handler, timeout: 120}
  complete: {source: functions/complete, runtime: nodejs20.x, handler: index.handler, timeout: 60}
  refund: {source: functions/refund, runtime: nodejs20.x, handler: index.handler, timeout: 60}
  release: {source: functions/release, runtime: nodejs20.x, handler: index.handler, timeout: 60}
workflows:
  order:
    definition: order.asl.json
    correlation: $.orderId
`

// The shipment handler, given a gate path, counts its calls in gate.calls
// and waits for the gate file to exist: the test holds an execution in
// CreateShipment for as long as it likes, with no timing.
var workflowHandlers = map[string]string{
	"payment": `exports.handler = async (e) => {
  if (e.failPayment) { const err = new Error("card declined"); err.name = "PaymentError"; throw err; }
  return {paymentId: "p-" + e.orderId};
};`,
	"shipment": `const fs = require("fs");
exports.handler = async (e) => {
  if (e.failShipment) { const err = new Error("no carrier available"); err.name = "ShipmentError"; throw err; }
  if (e.gate) {
    fs.appendFileSync(e.gate + ".calls", "x");
    while (!fs.existsSync(e.gate)) { await new Promise((r) => setTimeout(r, 20)); }
  }
  return {trackingId: "t-" + e.orderId};
};`,
}

func writeWorkflowProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"evcli.yaml": workflowYAML, "order.asl.json": seedASL}
	for _, fn := range []string{"payment", "inventory", "shipment", "complete", "refund", "release"} {
		body := workflowHandlers[fn]
		if body == "" {
			body = `exports.handler = async (e) => ({done: "` + fn + `"});`
		}
		files["functions/"+fn+"/index.js"] = body + "\n"
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// transitions are the state names of the transition lines run printed.
func transitions(out string) []string {
	var states []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasSuffix(f[0], "Z") && strings.Contains(f[0], "T") {
			f = f[1:] // describe's time column
		}
		if len(f) >= 2 && (f[1] == "Task" || f[1] == "Fail" || f[1] == "Pass") {
			states = append(states, f[0])
		}
	}
	return states
}

// The seed's ASL, unchanged apart from its ARNs, runs on the local
// provider: the happy path ends in CompleteOrder; a ShipmentError runs
// ReleaseInventory then RefundPayment then FailOrderState; a PaymentError
// goes straight to FailOrderState. Each transition is printed.
func TestWorkflowSeedSagaPaths(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	dir := writeWorkflowProject(t)
	must(t, dir, "deploy")
	for _, c := range []struct {
		name, input string
		code        int
		want        string
		also        []string
	}{
		{"happy", `{"orderId":"o-1"}`, 0, "ProcessPayment ReserveInventory CreateShipment CompleteOrder",
			[]string{"execution happy SUCCEEDED", `output: {"done":"complete"}`}},
		{"shipment-fails", `{"orderId":"o-2","failShipment":true}`, 1, "ProcessPayment ReserveInventory CreateShipment ReleaseInventory RefundPayment FailOrderState",
			[]string{"failed: ShipmentError (no carrier available), caught -> ReleaseInventory", "[compensating ShipmentError in CreateShipment]",
				"compensations run: ReleaseInventory, RefundPayment (for ShipmentError in CreateShipment)", "FAILED"}},
		{"payment-fails", `{"orderId":"o-3","failPayment":true}`, 1, "ProcessPayment FailOrderState",
			[]string{"failed: PaymentError (card declined), caught -> FailOrderState", "OrderFailed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, dir, "", "workflow", "run", "order", "--input", c.input, "--name", c.name)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, c.code, r.stdout, r.stderr)
			}
			if got := strings.Join(transitions(r.stdout), " "); got != c.want {
				t.Errorf("transitions %s\nwant        %s\n%s", got, c.want, r.stdout)
			}
			for _, s := range c.also {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
		})
	}
	r := must(t, dir, "workflow", "executions", "order", "-o", "json")
	if recs := records(t, r.stdout, "execution"); len(recs) != 3 {
		t.Errorf("%d executions listed, want 3", len(recs))
	}
	// tail shows the transitions under the input's correlation id
	r = must(t, dir, "tail", "--correlation", "o-2", "--follow=false", "--since", "1h")
	for _, want := range []string{"workflow:order", `"event":"CatchMatched"`, `"state":"ReleaseInventory"`, `"error":"ShipmentError"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("tail --correlation o-2 lacks %q:\n%s", want, r.stdout)
		}
	}
}

// kill -9 of the process running an execution, while CreateShipment's
// function runs: the execution stays RUNNING, and `workflow describe
// --wait` in a new process finishes it from CreateShipment (called again:
// at-least-once), with the whole history kept.
func TestWorkflowResumesAfterKill9(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	dir := writeWorkflowProject(t)
	must(t, dir, "deploy")
	gate := filepath.Join(dir, "gate")
	cmd := exec.Command(evcliBin, "workflow", "run", "order", "--name", "o-k", "--input", `{"orderId":"o-k","gate":"`+gate+`"}`)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if b, _ := os.ReadFile(gate + ".calls"); len(b) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("CreateShipment never ran")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	r := run(t, dir, "", "workflow", "describe", "o-k", "-o", "json")
	if ex := records(t, r.stdout, "execution"); len(ex) != 1 || ex[0]["status"] != "RUNNING" {
		t.Fatalf("after kill -9: %v\n%s", ex, r.stderr)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, dir, "", "workflow", "describe", "o-k", "--wait")
	if r.code != 0 {
		t.Fatalf("describe --wait: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"resumed at CreateShipment", "CompleteOrder", "execution o-k SUCCEEDED"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "was interrupted; resuming it at CreateShipment") {
		t.Errorf("stderr does not say it resumes:\n%s", r.stderr)
	}
	// the history kept what happened before the kill
	if got := strings.Join(transitions(r.stdout), " "); got != "ProcessPayment ReserveInventory CreateShipment CompleteOrder" {
		t.Errorf("history %s", got)
	}
	if b, _ := os.ReadFile(gate + ".calls"); len(b) < 2 {
		t.Errorf("shipment called %d times, want the interrupted call and its rerun", len(b))
	}
}

// evcli init --template saga-orchestrated, in each language: the workflow
// runs its sample inputs, the shipment failure showing its compensations.
func TestWorkflowTemplate(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"go", "node", "python"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			needInterpreter(t, lang)
			root := t.TempDir()
			r := must(t, root, "init", "shop", "--template", "saga-orchestrated", "--lang", lang)
			if !strings.Contains(r.stdout+r.stderr, "evcli workflow run order --input @inputs/order.json") {
				t.Errorf("init does not say how to run the workflow:\n%s%s", r.stdout, r.stderr)
			}
			dir := filepath.Join(root, "shop")
			must(t, dir, "deploy")
			r = must(t, dir, "workflow", "run", "order", "--input", "@inputs/order.json")
			if got := strings.Join(transitions(r.stdout), " "); got != "ProcessPayment ReserveInventory CreateShipment CompleteOrder" {
				t.Errorf("happy path: %s\n%s", got, r.stdout)
			}
			r = run(t, dir, "", "workflow", "run", "order", "--input", "@inputs/order-shipment-fails.json")
			if got := strings.Join(transitions(r.stdout), " "); r.code != 1 || got != "ProcessPayment ReserveInventory CreateShipment ReleaseInventory RefundPayment FailOrderState" {
				t.Errorf("shipment fails: exit %d, %s\n%s\n%s", r.code, got, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "failed: ShipmentError (no carrier available), caught -> ReleaseInventory") {
				t.Errorf("the handler's error is not ShipmentError:\n%s", r.stdout)
			}
			r = run(t, dir, "", "workflow", "run", "order", "--input", "@inputs/order-payment-fails.json")
			if got := strings.Join(transitions(r.stdout), " "); r.code != 1 || got != "ProcessPayment FailOrderState" {
				t.Errorf("payment fails: exit %d, %s\n%s", r.code, got, r.stdout)
			}
		})
	}
}

// A rule of evcli.yaml targets the workflow: an event sent to the bus
// starts an execution (named after the event, with the envelope as its
// input), which send --wait lets finish; a second send of the same event
// starts nothing twice.
func TestWorkflowStartsFromAnEvent(t *testing.T) {
	t.Parallel()
	needInterpreter(t, "node")
	dir := writeWorkflowProject(t)
	yaml := strings.Replace(workflowYAML, "    correlation: $.orderId\n",
		"    correlation: $.detail.orderId\n    events:\n      - pattern: {source: [shop.orders], detail-type: [OrderCreated]}\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	// the functions read the order from the event's detail
	asl := strings.ReplaceAll(seedASL, `"ResultPath": "$.payment",`, `"InputPath": "$.detail", "ResultPath": "$.payment",`)
	if err := os.WriteFile(filepath.Join(dir, "order.asl.json"), []byte(asl), 0o644); err != nil {
		t.Fatal(err)
	}
	r := must(t, dir, "deploy")
	if !strings.Contains(r.stdout+r.stderr, "workflow order") {
		t.Errorf("deploy does not show the workflow:\n%s%s", r.stdout, r.stderr)
	}
	ev := `{"id":"ev-order-1","source":"shop.orders","detail-type":"OrderCreated","detail":{"orderId":"o-ev"}}`
	evFile := filepath.Join(dir, "order.json")
	if err := os.WriteFile(evFile, []byte(ev), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, dir, "send", evFile, "--wait")
	must(t, dir, "send", evFile, "--wait")
	r = must(t, dir, "workflow", "executions", "order", "-o", "json")
	ex := records(t, r.stdout, "execution")
	if len(ex) != 1 || ex[0]["name"] != "ev-order-1" || ex[0]["status"] != "SUCCEEDED" || ex[0]["correlationId"] != "o-ev" {
		t.Fatalf("executions after two sends of one event: %v", ex)
	}
	r = must(t, dir, "deploy")
	if !strings.Contains(r.stdout+r.stderr, "unchanged") {
		t.Errorf("a second deploy changes something:\n%s%s", r.stdout, r.stderr)
	}
}
