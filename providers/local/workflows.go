package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/evcli/evcli/internal/asl"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/bus"
	"github.com/evcli/evcli/providers/local/store"
)

// workflowAbility runs workflows with the asl executor in this process,
// calling the project's functions through the same Invoke as `evcli
// invoke` (a running `local serve`, or an engine in this process).
//
// Durability: the execution's row is written before it starts, and before
// each top-level state runs the store records that state and its input
// (synchronous=FULL). A process that dies mid-execution leaves the row
// RUNNING; each running execution holds a lease (an OS file lock) in
// .evcli/leases, so any later process sees the lease free and knows the
// execution is orphaned: WaitExecution (workflow describe --wait, workflow
// start --wait of another execution does not) finishes it from the
// recorded state. The state that was running when the process died runs
// again from its start, so its Task is called at least once and may be
// called twice; Parallel branches and Map items restart whole.
type workflowAbility driver

// workflows runs executions in this process and keeps track of them: the
// driver has one (workflow start, describe --wait) and so does an engine
// (an event whose rule targets a workflow).
type workflows struct {
	db     *store.DB
	dir    string // the state directory, for leases
	invoke func(ctx context.Context, fn string, payload []byte) (providers.InvokeResult, error)
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	warnf  func(format string, args ...any)
	logf   func(format string, args ...any)

	mu      sync.Mutex
	running map[string]chan struct{} // closed when the run returns
	notify  chan struct{}            // closed and replaced after every event
	ctx     context.Context          // the runs' context: cancelled at Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newWorkflows(db *store.DB, dir string, invoke func(context.Context, string, []byte) (providers.InvokeResult, error),
	now func() time.Time, sleep func(context.Context, time.Duration) error, warnf, logf func(string, ...any)) *workflows {
	ctx, cancel := context.WithCancel(context.Background())
	return &workflows{db: db, dir: dir, invoke: invoke, now: now, sleep: sleep, warnf: warnf, logf: logf,
		running: map[string]chan struct{}{}, notify: make(chan struct{}), ctx: ctx, cancel: cancel}
}

func (a *workflowAbility) wf() (*workflows, error) {
	d := (*driver)(a)
	db, err := d.store()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.workflows == nil {
		d.workflows = newWorkflows(db, d.o.Dir, (*busAbility)(d).Invoke, d.now, d.sleep, d.warnf, d.logf)
	}
	return d.workflows, nil
}

func (w *workflows) signal() {
	w.mu.Lock()
	close(w.notify)
	w.notify = make(chan struct{})
	w.mu.Unlock()
}

func (w *workflows) changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.notify
}

// close waits for the executions running in this process; when ctx ends
// first it stops them, leaving them RUNNING for the next process.
func (w *workflows) close(ctx context.Context) {
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		w.cancel()
		<-done
	}
	w.cancel()
}

func executionID(workflow, name string) string {
	return "arn:aws:states:local:000000000000:execution:" + workflow + ":" + name
}

func (a *workflowAbility) StartExecution(ctx context.Context, s providers.WorkflowStart) (providers.WorkflowExecution, error) {
	d := (*driver)(a)
	sm, diags := asl.Parse(s.Definition, asl.Options{})
	if len(diags) > 0 {
		return providers.WorkflowExecution{}, &providers.Error{Code: providers.InvalidArgument, Resource: s.Workflow,
			Err: fmt.Errorf("workflow %s: invalid definition: %s", s.Workflow, diags[0].Msg)}
	}
	input := s.Input
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	var in any
	if err := json.Unmarshal(input, &in); err != nil {
		return providers.WorkflowExecution{}, &providers.Error{Code: providers.InvalidArgument, Resource: s.Workflow,
			Err: fmt.Errorf("workflow %s: the input is not JSON: %v", s.Workflow, err)}
	}
	name := s.Name
	if name == "" {
		name = bus.NewUUID()
	}
	w, err := a.wf()
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	db := w.db
	x := store.Execution{ID: executionID(s.Workflow, name), Name: name, Workflow: s.Workflow, Definition: s.Definition,
		Input: input, CorrelationID: s.CorrelationID, Started: d.now()}
	if old, ok, err := db.GetExecution(ctx, x.ID); err != nil {
		return providers.WorkflowExecution{}, err
	} else if ok && old.ID == x.ID {
		return providers.WorkflowExecution{}, &providers.Error{Code: providers.Conflict, Resource: x.ID,
			Err: fmt.Errorf("an execution named %s of %s exists already (%s)", name, s.Workflow, old.Status)}
	}
	lease, err := AcquireLease(d.o.Dir, "execution "+x.ID)
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	if err := db.CreateExecution(ctx, x); err != nil {
		lease.Release()
		return providers.WorkflowExecution{}, err
	}
	w.launch(sm, x, lease, "", in, "")
	return portableExecution(x, "RUNNING"), nil
}

// launch runs x in the background under lease: from its start, or from
// resumeAt with input (kind says why: "resumed", "redriven").
func (w *workflows) launch(sm *asl.StateMachine, x store.Execution, lease *Lease, resumeAt string, input any, kind string) {
	db := w.db
	done := make(chan struct{})
	w.mu.Lock()
	w.running[x.ID] = done
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() {
			w.mu.Lock()
			delete(w.running, x.ID)
			w.mu.Unlock()
			close(done)
			lease.Release()
			w.signal()
		}()
		ctx := w.ctx
		var xin any
		_ = json.Unmarshal(x.Input, &xin)
		exec := &asl.Executor{
			Invoker: taskInvoker{invoke: w.invoke},
			Now:     w.now,
			Sleep:   w.sleep,
			OnEvent: func(ev asl.Event) {
				if kind == "redriven" && ev.Type == asl.ExecutionResumed {
					ev.Type = "ExecutionRedriven"
				}
				b, _ := json.Marshal(ev)
				// the history is diagnostics: an event that cannot be
				// written does not stop the execution
				if _, err := db.AppendExecutionEvent(ctx, x.ID, ev.Time, b); err != nil {
					w.warnf("workflow %s: history of %s: %v", x.Workflow, x.Name, err)
				}
				if l, ok := transitionLine(x, ev); ok {
					_ = db.AppendLogs(ctx, []providers.LogLine{l})
				}
				w.signal()
			},
			Checkpoint: func(state string, input any) error {
				b, err := asl.MarshalJSON(input)
				if err != nil {
					return err
				}
				return db.CheckpointExecution(ctx, x.ID, state, b)
			},
		}
		ex := asl.Execution{ID: x.ID, Name: x.Name, StateMachineID: "arn:aws:states:local:000000000000:stateMachine:" + x.Workflow,
			StateMachineName: x.Workflow, StartTime: x.Started, Input: xin}
		out, err := exec.Run(ctx, sm, ex, resumeAt, input)
		var f *asl.Failure
		switch {
		case err == nil:
			b, _ := asl.MarshalJSON(out)
			err = db.FinishExecution(context.Background(), x.ID, "SUCCEEDED", b, "", "", w.now())
		case errors.As(err, &f):
			status := "FAILED"
			if f.TimedOut {
				status = "TIMED_OUT"
			}
			err = db.FinishExecution(context.Background(), x.ID, status, nil, f.Name, f.Cause, w.now())
		default:
			// interrupted (Close's deadline, a store error): left
			// RUNNING, for the next process to finish
			w.logf("workflow %s: execution %s interrupted: %v", x.Workflow, x.Name, err)
			return
		}
		if err != nil {
			w.warnf("workflow %s: execution %s: %v", x.Workflow, x.Name, err)
		}
	}()
}

func (a *workflowAbility) WaitExecution(ctx context.Context, id string, after int, onEvent func(providers.WorkflowEvent)) (providers.WorkflowExecution, error) {
	w, err := a.wf()
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	db := w.db
	for {
		changed := w.changed()
		x, ok, err := db.GetExecution(ctx, id)
		if err != nil {
			return providers.WorkflowExecution{}, err
		}
		if !ok {
			return providers.WorkflowExecution{}, notFoundExecution(id)
		}
		id = x.ID
		evs, err := db.ExecutionEvents(ctx, x.ID, after)
		if err != nil {
			return providers.WorkflowExecution{}, err
		}
		for _, e := range evs {
			after = e.Seq
			if onEvent != nil {
				onEvent(portableEvent(e))
			}
		}
		if x.Status != "RUNNING" {
			return portableExecution(x, x.Status), nil
		}
		w.mu.Lock()
		_, here := w.running[x.ID]
		w.mu.Unlock()
		if !here {
			if err := a.resumeOrphan(ctx, db, x); err != nil {
				return providers.WorkflowExecution{}, err
			}
		}
		select {
		case <-ctx.Done():
			return providers.WorkflowExecution{}, ctx.Err()
		case <-changed:
		case <-time.After(100 * time.Millisecond): // another process's execution
		}
	}
}

// resumeOrphan finishes x in this process when no process holds its lease
// (the one running it died); it does nothing when another holds it.
func (a *workflowAbility) resumeOrphan(ctx context.Context, db *store.DB, x store.Execution) error {
	lease, err := AcquireLease((*driver)(a).o.Dir, "execution "+x.ID)
	var held *HeldError
	if errors.As(err, &held) {
		return nil
	}
	if err != nil {
		return err
	}
	// re-read under the lease: it may have ended meanwhile
	x, _, err = db.GetExecution(ctx, x.ID)
	if err != nil || x.Status != "RUNNING" {
		lease.Release()
		return err
	}
	sm, diags := asl.Parse(x.Definition, asl.Options{})
	if len(diags) > 0 {
		lease.Release()
		return fmt.Errorf("execution %s: its stored definition does not parse: %s", x.Name, diags[0].Msg)
	}
	resumeAt, input := x.ResumeState, any(nil)
	if resumeAt == "" {
		_ = json.Unmarshal(x.Input, &input)
	} else {
		_ = json.Unmarshal(x.ResumeInput, &input)
	}
	(*driver)(a).notef("workflow %s: execution %s was interrupted; resuming it at %s (the state that was running runs again)", x.Workflow, x.Name, orStart(resumeAt))
	kind := "resumed"
	w, err := a.wf()
	if err != nil {
		lease.Release()
		return err
	}
	w.launch(sm, x, lease, resumeAt, input, kind)
	return nil
}

func orStart(s string) string {
	if s == "" {
		return "its start"
	}
	return s
}

func notFoundExecution(id string) error {
	return &providers.Error{Code: providers.NotFound, Resource: id,
		Err: fmt.Errorf("no workflow execution %q", id)}
}

func (a *workflowAbility) ListExecutions(ctx context.Context, workflow string) ([]providers.WorkflowExecution, error) {
	db, err := (*driver)(a).store()
	if err != nil {
		return nil, err
	}
	xs, err := db.ListExecutions(ctx, workflow, 0)
	if err != nil {
		return nil, err
	}
	out := make([]providers.WorkflowExecution, len(xs))
	for i, x := range xs {
		out[i] = portableExecution(x, x.Status)
	}
	return out, nil
}

func (a *workflowAbility) DescribeExecution(ctx context.Context, id string) (providers.WorkflowExecution, []providers.WorkflowEvent, error) {
	db, err := (*driver)(a).store()
	if err != nil {
		return providers.WorkflowExecution{}, nil, err
	}
	x, ok, err := db.GetExecution(ctx, id)
	if err != nil {
		return providers.WorkflowExecution{}, nil, err
	}
	if !ok {
		return providers.WorkflowExecution{}, nil, notFoundExecution(id)
	}
	evs, err := db.ExecutionEvents(ctx, x.ID, 0)
	if err != nil {
		return providers.WorkflowExecution{}, nil, err
	}
	out := make([]providers.WorkflowEvent, len(evs))
	for i, e := range evs {
		out[i] = portableEvent(e)
	}
	return portableExecution(x, x.Status), out, nil
}

func (a *workflowAbility) RedriveExecution(ctx context.Context, id string) (providers.WorkflowExecution, error) {
	d := (*driver)(a)
	db, err := d.store()
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	x, ok, err := db.GetExecution(ctx, id)
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	if !ok {
		return providers.WorkflowExecution{}, notFoundExecution(id)
	}
	lease, err := AcquireLease(d.o.Dir, "execution "+x.ID)
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	redriven, err := db.RedriveExecution(ctx, x.ID, "FAILED", "TIMED_OUT", "ABORTED")
	if err != nil || !redriven {
		lease.Release()
		if err == nil {
			err = &providers.Error{Code: providers.Conflict, Resource: x.ID,
				Err: fmt.Errorf("execution %s is %s: only a FAILED, TIMED_OUT or ABORTED execution can be redriven", x.Name, x.Status)}
		}
		return providers.WorkflowExecution{}, err
	}
	sm, diags := asl.Parse(x.Definition, asl.Options{})
	if len(diags) > 0 {
		lease.Release()
		return providers.WorkflowExecution{}, fmt.Errorf("execution %s: its stored definition does not parse: %s", x.Name, diags[0].Msg)
	}
	var input any
	resumeAt := x.ResumeState
	if resumeAt == "" {
		_ = json.Unmarshal(x.Input, &input)
		resumeAt = sm.StartAt
	} else {
		_ = json.Unmarshal(x.ResumeInput, &input)
	}
	x.RedriveCount++
	w, err := a.wf()
	if err != nil {
		lease.Release()
		return providers.WorkflowExecution{}, err
	}
	w.launch(sm, x, lease, resumeAt, input, "redriven")
	return portableExecution(x, "RUNNING"), nil
}

func portableExecution(x store.Execution, status string) providers.WorkflowExecution {
	return providers.WorkflowExecution{ID: x.ID, Name: x.Name, Workflow: x.Workflow, Status: status, Input: x.Input,
		Output: x.Output, Error: x.Error, Cause: x.Cause, CorrelationID: x.CorrelationID, RedriveCount: x.RedriveCount,
		Started: x.Started, Stopped: x.Stopped}
}

func portableEvent(e store.ExecutionEvent) providers.WorkflowEvent {
	var ev providers.WorkflowEvent
	_ = json.Unmarshal(e.Payload, &ev)
	ev.Seq, ev.Time = e.Seq, e.Time
	return ev
}

// taskInvoker calls a Task's function and reports a failure as Step
// Functions does.
type taskInvoker struct {
	invoke func(ctx context.Context, fn string, payload []byte) (providers.InvokeResult, error)
}

func (t taskInvoker) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	res, err := t.invoke(ctx, fn, payload)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if providers.CodeOf(err) == providers.NotFound {
			return nil, &asl.Failure{Name: "Lambda.ResourceNotFoundException", Cause: err.Error()}
		}
		return nil, &asl.Failure{Name: "Lambda.ServiceException", Cause: err.Error()}
	}
	if res.FunctionError != "" {
		return nil, asl.LambdaFailure(res.Payload)
	}
	return res.Payload, nil
}

var _ providers.Workflows = (*workflowAbility)(nil)

func (d *driver) logf(format string, args ...any) {
	if d.o.Logf != nil {
		d.o.Logf(format, args...)
	}
}

func (d *driver) warnf(format string, args ...any) {
	if d.o.Warnf != nil {
		d.o.Warnf(format, args...)
	}
}

// notef says what a command is doing on the user's behalf (stderr).
func (d *driver) notef(format string, args ...any) {
	if d.o.Warnf != nil {
		d.o.Warnf(format, args...)
	}
}

// transitionLine is the log line tail shows for a transition of x: under
// the function name "workflow:NAME", the execution as request id, and a
// JSON message with the execution's correlation id, so that tail groups
// the transitions with the functions' own lines of the same flow.
func transitionLine(x store.Execution, ev asl.Event) (providers.LogLine, bool) {
	msg := map[string]any{"workflow": x.Workflow, "execution": x.Name, "event": ev.Type}
	switch ev.Type {
	case asl.StateExited, asl.StateFailed:
		msg["state"], msg["stateType"], msg["durationMs"] = ev.State, ev.StateType, ev.DurationMs
		if ev.Next != "" {
			msg["next"] = ev.Next
		}
	case asl.CatchMatched, asl.RetryScheduled:
		msg["state"] = ev.State
	case asl.ExecutionStarted, asl.ExecutionResumed, asl.ExecutionSucceeded, asl.ExecutionFailed, "ExecutionRedriven":
		if ev.State != "" {
			msg["state"] = ev.State
		}
	default:
		return providers.LogLine{}, false
	}
	if ev.Scope != "" {
		msg["scope"] = ev.Scope
	}
	if ev.Error != "" {
		msg["error"] = ev.Error
	}
	if x.CorrelationID != "" {
		msg["correlationId"] = x.CorrelationID
	}
	b, _ := json.Marshal(msg)
	return providers.LogLine{Time: ev.Time, Provider: "local", Function: "workflow:" + x.Workflow, RequestID: x.Name,
		Stream: x.Name, Message: string(b)}, true
}

// workflowTarget prefixes the rule target of a workflow: a rule whose
// function is "workflow:NAME" starts an execution of NAME.
const workflowTarget = "workflow:"

// kvWorkflows is the store namespace of the deployed workflows (local
// deploy writes them; an engine reads them when a rule targets one).
const kvWorkflows = "workflows"

type deployedWorkflow struct {
	Definition  json.RawMessage `json:"definition"`
	Correlation string          `json:"correlation,omitempty"`
}

// wait waits for the executions running in this process, or ctx.
func (w *workflows) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// workflowRunner is the engine's runner of executions that rules start;
// nil until the first one when create is false.
func (e *Engine) workflowRunner(create bool) *workflows {
	e.wfMu.Lock()
	defer e.wfMu.Unlock()
	if e.wf == nil && create {
		e.wf = newWorkflows(e.db, e.o.Dir, e.Invoke, time.Now, providers.Sleep, e.o.Warnf, e.o.Logf)
	}
	return e.wf
}

// startWorkflow starts an execution of the deployed workflow name with the
// event envelope as its input. The execution is named after the event, so
// a redelivered event starts nothing twice.
func (e *Engine) startWorkflow(ctx context.Context, name string, event []byte) error {
	raw, ok, err := e.db.GetKV(ctx, kvWorkflows, name)
	if err != nil {
		return err
	}
	if !ok {
		return &bus.FinalError{Err: fmt.Errorf("workflow %s is not deployed: run evcli deploy", name)}
	}
	var dw deployedWorkflow
	if err := json.Unmarshal(raw, &dw); err != nil {
		return &bus.FinalError{Err: fmt.Errorf("workflow %s: %v", name, err)}
	}
	sm, diags := asl.Parse(dw.Definition, asl.Options{})
	if len(diags) > 0 {
		return &bus.FinalError{Err: fmt.Errorf("workflow %s: invalid definition: %s", name, diags[0].Msg)}
	}
	var env struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(event, &env)
	xname := env.ID
	if xname == "" {
		xname = bus.NewUUID()
	}
	var in any
	_ = json.Unmarshal(event, &in)
	w := e.workflowRunner(true)
	x := store.Execution{ID: executionID(name, xname), Name: xname, Workflow: name, Definition: dw.Definition,
		Input: event, CorrelationID: correlationOf(in, dw.Correlation), Started: w.now()}
	if _, exists, err := e.db.GetExecution(ctx, x.ID); err != nil {
		return err
	} else if exists {
		return nil // started by an earlier delivery of this event
	}
	lease, err := AcquireLease(e.o.Dir, "execution "+x.ID)
	if err != nil {
		return err
	}
	if err := e.db.CreateExecution(ctx, x); err != nil {
		lease.Release()
		return err
	}
	w.launch(sm, x, lease, "", in, "")
	return nil
}

// correlationOf is the value at path in input, as a string ("" when none).
func correlationOf(input any, path string) string {
	if path == "" {
		return ""
	}
	p, err := asl.ParsePath(path)
	if err != nil {
		return ""
	}
	v, err := p.Select(input, nil)
	if err != nil {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return fmt.Sprint(t)
	}
	return ""
}

// workflowShared deploys the project's workflows locally: their
// definitions in the store and the rules that start them.
type workflowShared driver

func (a *workflowShared) PlanShared(ctx context.Context, prune bool) ([]providers.ResourceChange, error) {
	d := (*driver)(a)
	if len(d.workflowSpecs) == 0 && !prune {
		return nil, nil
	}
	db, err := d.store()
	if err != nil {
		return nil, err
	}
	rules, err := db.Rules(ctx)
	if err != nil {
		return nil, err
	}
	var out []providers.ResourceChange
	for _, w := range d.workflowSpecs {
		c := providers.ResourceChange{Kind: "workflow", Name: w.Name, Action: "unchanged"}
		raw, ok, err := db.GetKV(ctx, kvWorkflows, w.Name)
		if err != nil {
			return nil, err
		}
		want, _ := json.Marshal(deployedWorkflow{Definition: compactJSON(w.Definition), Correlation: w.Correlation})
		switch {
		case !ok:
			c.Action = "create"
		case string(raw) != string(want):
			c.Action, c.Fields = "update", []string{"definition"}
		}
		var have []providers.RuleSpec
		for _, r := range rules {
			if r.Function == workflowTarget+w.Name {
				have = append(have, providers.RuleSpec{ID: r.ID, Bus: r.Bus, Pattern: r.Pattern})
			}
		}
		if !sameRules(have, w.Rules) && c.Action != "create" {
			c.Action, c.Fields = "update", append(c.Fields, "rules")
		}
		out = append(out, c)
	}
	if prune {
		// A workflow evcli.yaml no longer has: its definition and the
		// rules that start it go; its executions' history stays.
		deployed, err := db.ListKV(ctx, kvWorkflows)
		if err != nil {
			return nil, err
		}
		var gone []string
		for name := range deployed {
			if !slices.ContainsFunc(d.workflowSpecs, func(w providers.WorkflowSpec) bool { return w.Name == name }) {
				gone = append(gone, name)
			}
		}
		slices.Sort(gone)
		for _, name := range gone {
			out = append(out, providers.ResourceChange{Kind: "workflow", Name: name, Action: "delete"})
		}
	}
	return out, nil
}

func compactJSON(b []byte) json.RawMessage {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return b
	}
	out, _ := asl.MarshalJSON(v)
	return out
}

func sameRules(a, b []providers.RuleSpec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		bus := b[i].Bus
		if bus == "" {
			bus = store.DefaultBus
		}
		if a[i].ID != b[i].ID || a[i].Bus != bus || string(compactJSON(a[i].Pattern)) != string(compactJSON(b[i].Pattern)) {
			return false
		}
	}
	return true
}

func (a *workflowShared) ApplyShared(ctx context.Context, changes []providers.ResourceChange, step func(resource, step string)) error {
	d := (*driver)(a)
	if step == nil {
		step = func(string, string) {}
	}
	db, err := d.store()
	if err != nil {
		return err
	}
	for _, c := range changes {
		if c.Kind != "workflow" || c.Action == "unchanged" {
			continue
		}
		if c.Action == "delete" {
			res := "workflow " + c.Name
			step(res, "rules")
			if err := db.SetRules(ctx, workflowTarget+c.Name, nil); err != nil {
				return err
			}
			step(res, "delete definition")
			if err := db.DeleteKV(ctx, kvWorkflows, c.Name); err != nil {
				return err
			}
			if err := ReloadServer(d.o.Dir)(ctx, ""); err != nil {
				return err
			}
			continue
		}
		for _, w := range d.workflowSpecs {
			if w.Name != c.Name {
				continue
			}
			res := "workflow " + w.Name
			step(res, "store definition")
			b, _ := json.Marshal(deployedWorkflow{Definition: compactJSON(w.Definition), Correlation: w.Correlation})
			if err := db.PutKV(ctx, kvWorkflows, w.Name, b); err != nil {
				return err
			}
			rules := make([]store.Rule, len(w.Rules))
			for i, r := range w.Rules {
				rules[i] = store.Rule{ID: r.ID, Bus: r.Bus, Function: workflowTarget + w.Name, Pattern: r.Pattern}
			}
			step(res, "rules")
			if err := db.SetRules(ctx, workflowTarget+w.Name, rules); err != nil {
				return err
			}
			if err := ReloadServer(d.o.Dir)(ctx, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

var _ providers.SharedDeployer = (*workflowShared)(nil)
