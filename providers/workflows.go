package providers

import (
	"context"
	"encoding/json"
	"time"
)

// Workflows runs a project's orchestrated workflows (Amazon States
// Language state machines): on AWS Step Functions, on the local provider
// its own executor.
type Workflows interface {
	// StartExecution starts one execution and returns it RUNNING. The
	// execution goes on without the caller: WaitExecution follows it, and
	// a provider that runs it in this process lets Close wait for it.
	StartExecution(ctx context.Context, s WorkflowStart) (WorkflowExecution, error)
	// WaitExecution reports the history events of an execution after the
	// first `after` ones as they happen, until it ends, and returns it. A
	// provider whose executions can be orphaned (the local one, after a
	// kill -9) finishes an orphaned execution here.
	WaitExecution(ctx context.Context, id string, after int, onEvent func(WorkflowEvent)) (WorkflowExecution, error)
	// ListExecutions lists executions of workflow ("" = every workflow of
	// the project), newest first.
	ListExecutions(ctx context.Context, workflow string) ([]WorkflowExecution, error)
	// DescribeExecution returns an execution (by id or name) and its
	// history; NotFound when there is none.
	DescribeExecution(ctx context.Context, id string) (WorkflowExecution, []WorkflowEvent, error)
	// RedriveExecution restarts a FAILED, TIMED_OUT or ABORTED execution
	// from the state that did not succeed, with Step Functions' redrive
	// semantics (the same execution, its redrive count one more);
	// Conflict when the execution is in another status.
	RedriveExecution(ctx context.Context, id string) (WorkflowExecution, error)
}

// WorkflowStart is what StartExecution needs.
type WorkflowStart struct {
	// Workflow is the workflow's name in evcli.yaml.
	Workflow string
	// Definition is its ASL as evcli renders it, Tasks naming the
	// project's functions by name; the provider runs it or checks that
	// the deployed state machine is the same.
	Definition []byte
	Input      json.RawMessage
	// Name is the execution's name ("" = a new UUID).
	Name string
	// CorrelationID ties the execution to the functions' log lines (tail).
	CorrelationID string
}

// WorkflowExecution is one execution.
type WorkflowExecution struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Workflow string `json:"workflow"`
	// Status is RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED, as Step
	// Functions says.
	Status        string          `json:"status"`
	Input         json.RawMessage `json:"input,omitempty"`
	Output        json.RawMessage `json:"output,omitempty"`
	Error         string          `json:"error,omitempty"`
	Cause         string          `json:"cause,omitempty"`
	CorrelationID string          `json:"correlationId,omitempty"`
	RedriveCount  int             `json:"redriveCount,omitempty"`
	Started       time.Time       `json:"started"`
	Stopped       time.Time       `json:"stopped,omitzero"`
}

// WorkflowEvent is one event of an execution's history.
type WorkflowEvent struct {
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	// Type: ExecutionStarted, ExecutionResumed, ExecutionRedriven,
	// StateEntered, StateExited, StateFailed, TaskScheduled,
	// TaskSucceeded, TaskFailed, RetryScheduled, CatchMatched,
	// ExecutionSucceeded, ExecutionFailed.
	Type string `json:"type"`
	// Scope places a state in a Parallel branch ("Fan/0") or a Map item
	// ("Each[3]"); "" at the top.
	Scope      string          `json:"scope,omitempty"`
	State      string          `json:"state,omitempty"`
	StateType  string          `json:"stateType,omitempty"`
	Function   string          `json:"function,omitempty"`
	Attempt    int             `json:"attempt,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	Cause      string          `json:"cause,omitempty"`
	Next       string          `json:"next,omitempty"`
	DelayMs    float64         `json:"delayMs,omitempty"`
	DurationMs float64         `json:"durationMs,omitempty"`
}

// Finished reports whether the execution has ended.
func (x WorkflowExecution) Finished() bool { return x.Status != "" && x.Status != "RUNNING" }

// WorkflowSpec is one workflow of the project as a driver deploys it.
type WorkflowSpec struct {
	Name string
	// Type is STANDARD or EXPRESS.
	Type string
	// Definition is the ASL as evcli renders it (Tasks naming the
	// project's functions); the driver points them at its functions.
	Definition []byte
	// Rules start an execution with the matching event as its input.
	Rules []RuleSpec
	// Correlation is the JSON path of the correlation id in an
	// execution's input ("" = none).
	Correlation string
}
