package providertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
)

// workflowDef is a saga in miniature over the suite's echo function: the
// Task fails when the input has "fail" (a Python RuntimeError), a Catch
// sends that to a compensating Pass and then a Fail state.
const workflowDef = `{
  "StartAt": "Work",
  "States": {
    "Work": {"Type": "Task", "Resource": "${function:%[1]s}", "ResultPath": "$.work",
      "Catch": [{"ErrorEquals": ["RuntimeError"], "ResultPath": "$.error", "Next": "Compensate"}], "Next": "Done"},
    "Done": {"Type": "Pass", "Parameters": {"mark.$": "$.work.mark"}, "End": true},
    "Compensate": {"Type": "Pass", "Result": "compensated", "ResultPath": "$.compensation", "Next": "Failed"},
    "Failed": {"Type": "Fail", "Error": "OrderFailed", "Cause": "compensated"}
  }
}`

func testWorkflows(t *testing.T, e *env) {
	const proj = "ctwf"
	p := e.open(proj)
	if !p.Has(providers.AbilityDeploy) {
		t.Skip("workflows call a function the suite deploys: the provider cannot deploy")
	}
	fn := e.fn(proj, "ctwf-echo", 1)
	e.cleanup(p, fn.Name)
	e.deploy(p, []providers.FunctionDeployment{fn}, false)
	def := []byte(fmt.Sprintf(workflowDef, fn.Name))
	opts := providers.OpenOptions{Project: proj, Bus: busOf(proj),
		Workflows: []providers.WorkflowSpec{{Name: "ctwf-saga", Type: "STANDARD", Definition: def}}}
	p = e.openWith(opts)
	if p.Shared != nil {
		// a provider that deploys state machines: deploy it, then a second
		// deploy plans it unchanged
		changes, err := p.Shared.PlanShared(e.ctx, false)
		if err != nil {
			t.Fatalf("PlanShared: %v", err)
		}
		if err := p.Shared.ApplyShared(e.ctx, changes, nil); err != nil {
			t.Fatalf("ApplyShared: %v", err)
		}
		again, err := e.openWith(opts).Shared.PlanShared(e.ctx, false)
		if err != nil {
			t.Fatalf("PlanShared again: %v", err)
		}
		for _, c := range again {
			if c.Kind == "statemachine" && c.Action != "unchanged" {
				t.Errorf("after a deploy, the state machine plans %s %v, want unchanged", c.Action, c.Fields)
			}
		}
		p = e.openWith(opts)
	}

	run := func(t *testing.T, name, input string) (providers.WorkflowExecution, []string) {
		t.Helper()
		x, err := p.Workflows.StartExecution(e.ctx, providers.WorkflowStart{Workflow: "ctwf-saga", Definition: def, Input: json.RawMessage(input), Name: name})
		if err != nil {
			t.Fatalf("StartExecution: %v", err)
		}
		if x.Status != "RUNNING" || x.ID == "" {
			t.Fatalf("StartExecution returned %+v, want a RUNNING execution with an id", x)
		}
		var seen []string
		done, err := p.Workflows.WaitExecution(e.ctx, x.ID, 0, func(ev providers.WorkflowEvent) {
			if ev.Type == "StateEntered" {
				seen = append(seen, ev.State)
			}
		})
		if err != nil {
			t.Fatalf("WaitExecution: %v", err)
		}
		return done, seen
	}

	t.Run("SucceedsThroughTheFunction", func(t *testing.T) {
		x, states := run(t, "ok-1", `{"mark":"wf-1"}`)
		if x.Status != "SUCCEEDED" || !equalJSON(x.Output, []byte(`{"mark":"wf-1"}`)) {
			t.Errorf("execution %s with output %s, want SUCCEEDED with {\"mark\":\"wf-1\"}", x.Status, x.Output)
		}
		if got := strings.Join(states, ","); got != "Work,Done" {
			t.Errorf("states entered %s, want Work,Done", got)
		}
	})

	t.Run("CatchRunsTheCompensation", func(t *testing.T) {
		x, states := run(t, "fail-1", `{"mark":"wf-2","fail":"no stock"}`)
		if x.Status != "FAILED" || x.Error != "OrderFailed" {
			t.Errorf("execution %s error %q, want FAILED with OrderFailed", x.Status, x.Error)
		}
		if got := strings.Join(states, ","); got != "Work,Compensate,Failed" {
			t.Errorf("states entered %s, want Work,Compensate,Failed", got)
		}
	})

	t.Run("DescribeAndList", func(t *testing.T) {
		x, hist, err := p.Workflows.DescribeExecution(e.ctx, "fail-1")
		if err != nil {
			t.Fatalf("DescribeExecution by name: %v", err)
		}
		if x.Status != "FAILED" || len(hist) == 0 || hist[0].Type != "ExecutionStarted" || hist[len(hist)-1].Type != "ExecutionFailed" {
			t.Errorf("described %s with %d events", x.Status, len(hist))
		}
		var caught bool
		for _, ev := range hist {
			caught = caught || (ev.Type == "CatchMatched" && ev.Error == "RuntimeError" && ev.Next == "Compensate")
		}
		if !caught {
			t.Error("the history has no CatchMatched RuntimeError -> Compensate")
		}
		list, err := p.Workflows.ListExecutions(e.ctx, "ctwf-saga")
		if err != nil || len(list) != 2 {
			t.Errorf("ListExecutions: %d executions, %v; want 2", len(list), err)
		}
		if _, _, err := p.Workflows.DescribeExecution(e.ctx, "no-such-execution"); providers.CodeOf(err) != providers.NotFound {
			t.Errorf("DescribeExecution of an unknown execution = %v, want NotFound", err)
		}
	})

	t.Run("RedriveOnlyWhatStopped", func(t *testing.T) {
		if _, err := p.Workflows.RedriveExecution(e.ctx, "ok-1"); providers.CodeOf(err) != providers.Conflict {
			t.Errorf("redrive of a SUCCEEDED execution = %v, want Conflict", err)
		}
		x, err := p.Workflows.RedriveExecution(e.ctx, "fail-1")
		if err != nil {
			t.Fatalf("redrive of a FAILED execution: %v", err)
		}
		done, err := p.Workflows.WaitExecution(e.ctx, x.ID, 0, nil)
		if err != nil || done.RedriveCount != 1 || !done.Finished() {
			t.Errorf("redriven execution %+v, %v; want it finished with RedriveCount 1", done, err)
		}
	})
}
