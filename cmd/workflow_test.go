package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/internal/asl"
	"github.com/evcli/evcli/providers"
)

const workflowProject = `project: shop
functions:
  payment: {source: functions/payment, runtime: nodejs22.x, handler: index.handler}
  inventory: {source: functions/inventory, runtime: nodejs22.x, handler: index.handler}
  shipment: {source: functions/shipment, runtime: nodejs22.x, handler: index.handler}
  complete: {source: functions/complete, runtime: nodejs22.x, handler: index.handler}
  refund: {source: functions/refund, runtime: nodejs22.x, handler: index.handler}
  release: {source: functions/release, runtime: nodejs22.x, handler: index.handler}
workflows:
  order:
    correlation: $.orderId
    saga:
      steps:
        - {name: ProcessPayment, function: payment, compensation: {name: RefundPayment, function: refund}, catch: [PaymentError],
           retry: {errors: [Lambda.TooManyRequestsException], attempts: 2, interval: 1}}
        - {name: ReserveInventory, function: inventory, compensation: {name: ReleaseInventory, function: release}}
        - {name: CreateShipment, function: shipment, catch: [ShipmentError]}
      success: {name: CompleteOrder, function: complete}
      failure: {name: FailOrderState, error: OrderFailed, cause: the order could not be completed}
`

// fakeWorkflows runs executions with the asl executor in the test's
// goroutine, over functions that fail as the input says, on a clock that
// moves 5 ms per reading: the history is the same every run.
type fakeWorkflows struct {
	mu      sync.Mutex
	execs   map[string]*fakeExec
	order   []string
	started []providers.WorkflowStart
}

type fakeExec struct {
	x    providers.WorkflowExecution
	hist []providers.WorkflowEvent
}

type inputFunctions struct{ in map[string]any }

func (f inputFunctions) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	if typ, _ := f.in["fail_"+fn].(string); typ != "" {
		b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": fn + " says no"})
		if n, _ := f.in["throttle_"+fn].(float64); n > 0 {
			f.in["throttle_"+fn] = n - 1
			b, _ = json.Marshal(map[string]string{"errorType": "Lambda.TooManyRequestsException", "errorMessage": "slow down"})
		}
		return nil, asl.LambdaFailure(b)
	}
	return json.Marshal(map[string]string{"by": fn})
}

func (w *fakeWorkflows) StartExecution(ctx context.Context, s providers.WorkflowStart) (providers.WorkflowExecution, error) {
	sm, err := asl.ParseFile(s.Workflow, s.Definition, asl.Options{})
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	t := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { t = t.Add(5 * time.Millisecond); return t }
	x := providers.WorkflowExecution{ID: "arn:local:" + s.Name, Name: s.Name, Workflow: s.Workflow, Status: "RUNNING",
		Input: s.Input, CorrelationID: s.CorrelationID, Started: t}
	fe := &fakeExec{x: x}
	var in map[string]any
	_ = json.Unmarshal(s.Input, &in)
	e := &asl.Executor{Invoker: inputFunctions{in}, Now: now, Sleep: func(context.Context, time.Duration) error { return nil },
		OnEvent: func(ev asl.Event) {
			b, _ := json.Marshal(ev)
			var pe providers.WorkflowEvent
			_ = json.Unmarshal(b, &pe)
			pe.Seq = len(fe.hist) + 1
			fe.hist = append(fe.hist, pe)
		}}
	out, err := e.Run(ctx, sm, asl.Execution{Name: s.Name}, "", in)
	var f *asl.Failure
	switch {
	case err == nil:
		fe.x.Status, fe.x.Output = "SUCCEEDED", json.RawMessage(mustJSON(out))
	case errors.As(err, &f):
		fe.x.Status, fe.x.Error, fe.x.Cause = "FAILED", f.Name, f.Cause
	default:
		return providers.WorkflowExecution{}, err
	}
	fe.x.Stopped = now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.execs[s.Name] = fe
	w.order = append(w.order, s.Name)
	w.started = append(w.started, s)
	return x, nil
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func (w *fakeWorkflows) get(id string) (*fakeExec, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fe := w.execs[strings.TrimPrefix(id, "arn:local:")]
	if fe == nil {
		return nil, &providers.Error{Code: providers.NotFound, Err: fmt.Errorf("no execution %s", id)}
	}
	return fe, nil
}

func (w *fakeWorkflows) WaitExecution(ctx context.Context, id string, after int, onEvent func(providers.WorkflowEvent)) (providers.WorkflowExecution, error) {
	fe, err := w.get(id)
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	for _, ev := range fe.hist[after:] {
		onEvent(ev)
	}
	return fe.x, nil
}

func (w *fakeWorkflows) ListExecutions(ctx context.Context, workflow string) ([]providers.WorkflowExecution, error) {
	var out []providers.WorkflowExecution
	for i := len(w.order) - 1; i >= 0; i-- {
		out = append(out, w.execs[w.order[i]].x)
	}
	return out, nil
}

func (w *fakeWorkflows) DescribeExecution(ctx context.Context, id string) (providers.WorkflowExecution, []providers.WorkflowEvent, error) {
	fe, err := w.get(id)
	if err != nil {
		return providers.WorkflowExecution{}, nil, err
	}
	return fe.x, fe.hist, nil
}

func (w *fakeWorkflows) RedriveExecution(ctx context.Context, id string) (providers.WorkflowExecution, error) {
	fe, err := w.get(id)
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	return providers.WorkflowExecution{}, &providers.Error{Code: providers.Conflict, Err: fmt.Errorf("execution %s is %s: only a FAILED, TIMED_OUT or ABORTED execution can be redriven", fe.x.Name, fe.x.Status)}
}

func newWorkflowEnv(t *testing.T) (*awsCmdEnv, *fakeWorkflows) {
	e := newAWSCmdEnv(t)
	if err := os.WriteFile(filepath.Join(e.dir, "evcli.yaml"), []byte(workflowProject), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"payment", "inventory", "shipment", "complete", "refund", "release"} {
		os.MkdirAll(filepath.Join(e.dir, "functions", fn), 0o755)
		os.WriteFile(filepath.Join(e.dir, "functions", fn, "index.js"), []byte("exports.handler = async () => ({});\n"), 0o644)
	}
	w := &fakeWorkflows{execs: map[string]*fakeExec{}}
	e.f.OpenProvider = openAs(func() *providers.Provider { return &providers.Provider{Workflows: w} })
	return e, w
}

// TestWorkflowRun: the seed's three paths as a user sees them (golden
// files): the happy path ends in CompleteOrder; a ShipmentError runs
// ReleaseInventory then RefundPayment, each marked with why; a PaymentError
// (after a throttled retry) goes straight to FailOrderState. A failed
// execution exits 1.
func TestWorkflowRun(t *testing.T) {
	for _, c := range []struct {
		name, input string
		code        int
	}{
		{"happy", `{"orderId":"o-1"}`, 0},
		{"shipment-fails", `{"orderId":"o-2","fail_shipment":"ShipmentError"}`, 1},
		{"payment-fails", `{"orderId":"o-3","fail_payment":"PaymentError","throttle_payment":1}`, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, w := newWorkflowEnv(t)
			if code := e.run("workflow", "run", "order", "--input", c.input, "--name", c.name); code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, e.errOut)
			}
			assertGolden(t, "testdata/workflow/run-"+c.name+".golden", e.out.String())
			if got := w.started[0].CorrelationID; !strings.HasPrefix(got, "o-") {
				t.Errorf("correlation id %q, want the input's orderId", got)
			}
		})
	}
}

func TestWorkflowJSONAndDescribe(t *testing.T) {
	e, _ := newWorkflowEnv(t)
	if code := e.run("workflow", "start", "order", "--input", `{"orderId":"o-2","fail_shipment":"ShipmentError"}`, "--name", "o-2", "--wait", "-o", "json"); code != 1 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	lines := strings.Split(strings.TrimSpace(e.out.String()), "\n")
	var first, last map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if first["type"] != "version" || last["type"] != "execution" || last["status"] != "FAILED" || last["error"] != "OrderFailed" {
		t.Errorf("first %v, last %v", first, last)
	}
	if code := e.run("workflow", "describe", "o-2"); code != 1 {
		t.Fatalf("describe exit %d\n%s", code, e.errOut)
	}
	assertGolden(t, "testdata/workflow/describe.golden", e.out.String())
	if code := e.run("workflow", "executions", "order"); code != 0 {
		t.Fatalf("executions exit %d\n%s", code, e.errOut)
	}
	if !strings.Contains(e.out.String(), "o-2") || !strings.Contains(e.out.String(), "FAILED") {
		t.Errorf("executions:\n%s", e.out)
	}
}

func TestWorkflowShow(t *testing.T) {
	e, _ := newWorkflowEnv(t)
	if code := e.run("workflow", "show", "order"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	assertGolden(t, "testdata/workflow/show.golden", e.out.String())
	if code := e.run("workflow", "show", "order", "--asl"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	if _, err := asl.ParseFile("show", []byte(e.out.String()), asl.Options{}); err != nil {
		t.Errorf("show --asl does not print valid ASL: %v", err)
	}
}

func TestWorkflowErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"workflow", "run", "ordr"}, 2, `no workflow "ordr"`},
		{[]string{"workflow", "run", "order", "--input", "{nope"}, 2, "--input: {nope is not valid JSON"},
		{[]string{"workflow", "describe", "nope"}, 2, `no execution "nope"`},
		{[]string{"workflow", "show"}, 2, "accepts 1 arg(s)"},
	} {
		e, _ := newWorkflowEnv(t)
		if code := e.run(c.args...); code != c.code || !strings.Contains(e.errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, e.errOut, c.code, c.want)
		}
	}
	// a provider without the ability says so in one sentence, exit 2
	e, _ := newWorkflowEnv(t)
	e.f.OpenProvider = openAs(func() *providers.Provider {
		return &providers.Provider{Name: "aws", Missing: map[providers.Ability]string{providers.AbilityWorkflow: "Step Functions state machines are not deployed by evcli yet"}}
	})
	if code := e.run("workflow", "run", "order"); code != cmdutil.ExitUsage || !strings.Contains(e.errOut.String(), "workflows is not available on aws: Step Functions") {
		t.Errorf("exit %d, stderr %q", code, e.errOut)
	}
}

// TestWorkflowCompletion: the workflow commands complete the project's
// workflow names.
func TestWorkflowCompletion(t *testing.T) {
	e, _ := newWorkflowEnv(t)
	if code := e.run("__complete", "workflow", "run", ""); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	if !strings.HasPrefix(e.out.String(), "order\n") {
		t.Errorf("completion:\n%s", e.out)
	}
}
