package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Failure is an error as States Language names it: the Error and Cause a
// Catch sees, and what a failed execution reports.
type Failure struct {
	Name  string `json:"Error"`
	Cause string `json:"Cause"`
	// TimedOut: the execution ran past the machine's TimeoutSeconds
	// (Step Functions' TIMED_OUT status, not FAILED).
	TimedOut bool `json:"-"`
}

func (f *Failure) Error() string {
	if f.Cause == "" {
		return f.Name
	}
	return f.Name + ": " + f.Cause
}

// AsFailure returns err as a *Failure: itself, or States.TaskFailed with the
// error's text as the cause.
func AsFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return &Failure{Name: "States.TaskFailed", Cause: err.Error()}
}

// LambdaFailure turns the payload of a function error (Lambda's
// {"errorType","errorMessage","stackTrace"}) into the failure Step
// Functions reports: the errorType as Error ("Lambda.Unknown" when there is
// none) and the payload as Cause.
func LambdaFailure(payload []byte) *Failure {
	var p struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(payload, &p)
	name := p.ErrorType
	if name == "" {
		name = "Lambda.Unknown"
	}
	return &Failure{Name: name, Cause: string(payload)}
}

// Invoker runs a Task's function. An error that is a *Failure (e.g. from
// LambdaFailure) is the function's failure; any other error is reported as
// States.TaskFailed, unless ctx ended.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// EventType names one entry of an execution's history.
type EventType string

const (
	ExecutionStarted   EventType = "ExecutionStarted"
	ExecutionResumed   EventType = "ExecutionResumed"
	StateEntered       EventType = "StateEntered"
	StateExited        EventType = "StateExited"
	StateFailed        EventType = "StateFailed"
	TaskScheduled      EventType = "TaskScheduled"
	TaskSucceeded      EventType = "TaskSucceeded"
	TaskFailed         EventType = "TaskFailed"
	RetryScheduled     EventType = "RetryScheduled"
	CatchMatched       EventType = "CatchMatched"
	ExecutionSucceeded EventType = "ExecutionSucceeded"
	ExecutionFailed    EventType = "ExecutionFailed"
)

// Event is one entry of an execution's history.
type Event struct {
	Type EventType `json:"type"`
	Time time.Time `json:"time"`
	// Scope places a state inside a Parallel branch or a Map iteration:
	// "" at the top, "Fan/0" for branch 0 of Fan, "Each[3]" for item 3.
	Scope     string          `json:"scope,omitempty"`
	State     string          `json:"state,omitempty"`
	StateType string          `json:"stateType,omitempty"`
	Function  string          `json:"function,omitempty"`
	Attempt   int             `json:"attempt,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
	Error     string          `json:"error,omitempty"`
	Cause     string          `json:"cause,omitempty"`
	Next      string          `json:"next,omitempty"`
	DelayMs   float64         `json:"delayMs,omitempty"`
	// DurationMs is how long the state (StateExited, StateFailed) or the
	// task attempt (TaskSucceeded, TaskFailed) took.
	DurationMs float64 `json:"durationMs,omitempty"`
}

// Executor runs state machines. Its zero value is not usable: Invoker is
// required; Now and Sleep default to the real clock.
type Executor struct {
	Invoker Invoker
	Now     func() time.Time
	Sleep   func(ctx context.Context, d time.Duration) error
	// Rand drives JitterStrategy FULL, States.MathRandom and States.UUID;
	// nil is random.
	Rand *rand.Rand
	// OnEvent receives each history event as it happens, one at a time.
	OnEvent func(Event)
	// Checkpoint is called before each top-level state runs with its name
	// and raw input; an error stops the execution (a durable store
	// records where to resume).
	Checkpoint func(state string, input any) error
	// Serial runs Parallel branches and Map items one at a time, in order:
	// the history is then deterministic (tests, debugging).
	Serial bool

	mu sync.Mutex
}

// Execution names one run of a state machine (the context object's
// Execution and StateMachine).
type Execution struct {
	ID, Name         string
	StateMachineID   string
	StateMachineName string
	StartTime        time.Time
	Input            any
}

// Run runs sm on input from StartAt, or from the state resumeAt when it is
// set (a resumed execution: input is then that state's raw input). It
// returns the execution's output, or a *Failure when it failed, or ctx's
// error (or Checkpoint's) when it was interrupted.
func (e *Executor) Run(ctx context.Context, sm *StateMachine, ex Execution, resumeAt string, input any) (any, error) {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Sleep == nil {
		e.Sleep = sleepCtx
	}
	if resumeAt == "" {
		e.emit(Event{Type: ExecutionStarted, Input: raw(input)})
	} else {
		if sm.States[resumeAt] == nil {
			return nil, fmt.Errorf("cannot resume at %q: the state machine has no such state", resumeAt)
		}
		e.emit(Event{Type: ExecutionResumed, State: resumeAt, Input: raw(input)})
	}
	if sm.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, time.Duration(sm.TimeoutSeconds)*time.Second, errExecTimeout)
		defer cancel()
	}
	start := sm.StartAt
	if resumeAt != "" {
		start = resumeAt
	}
	out, err := e.machine(ctx, sm, ex, "", start, input, nil, true)
	if err != nil && context.Cause(ctx) == errExecTimeout {
		err = &Failure{Name: "States.Timeout", Cause: fmt.Sprintf("the execution ran longer than TimeoutSeconds (%d)", sm.TimeoutSeconds), TimedOut: true}
	}
	var f *Failure
	switch {
	case err == nil:
		e.emit(Event{Type: ExecutionSucceeded, Output: raw(out)})
	case errors.As(err, &f):
		e.emit(Event{Type: ExecutionFailed, Error: f.Name, Cause: f.Cause})
	}
	return out, err
}

var errExecTimeout = errors.New("execution timed out")

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Executor) emit(ev Event) {
	if e.OnEvent == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev.Time.IsZero() {
		ev.Time = e.Now()
	}
	e.OnEvent(ev)
}

func raw(v any) json.RawMessage {
	b, err := MarshalJSON(v)
	if err != nil {
		return nil
	}
	return b
}

func (e *Executor) random() *rand.Rand {
	if e.Rand != nil {
		return e.Rand
	}
	return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
}

// machine runs the states of sm from start until one ends the machine.
func (e *Executor) machine(ctx context.Context, sm *StateMachine, ex Execution, scope, start string, input any, mapItem map[string]any, top bool) (any, error) {
	name := start
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st := sm.States[name]
		if top && e.Checkpoint != nil {
			if err := e.Checkpoint(name, input); err != nil {
				return nil, err
			}
		}
		began := e.Now()
		e.emit(Event{Type: StateEntered, Scope: scope, State: name, StateType: st.Type, Input: raw(input)})
		cx := contextObject(ex, name, began, mapItem)
		out, next, err := e.state(ctx, st, ex, scope, input, cx)
		ms := float64(e.Now().Sub(began).Microseconds()) / 1000
		if err != nil {
			if f, ok := err.(*Failure); ok {
				e.emit(Event{Type: StateFailed, Scope: scope, State: name, StateType: st.Type, Error: f.Name, Cause: f.Cause, DurationMs: ms})
			}
			return nil, err
		}
		e.emit(Event{Type: StateExited, Scope: scope, State: name, StateType: st.Type, Output: raw(out), Next: next, DurationMs: ms})
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

func contextObject(ex Execution, state string, entered time.Time, mapItem map[string]any) map[string]any {
	c := map[string]any{
		"Execution": map[string]any{
			"Id": ex.ID, "Name": ex.Name, "Input": ex.Input,
			"StartTime": ex.StartTime.UTC().Format("2006-01-02T15:04:05.000Z"),
		},
		"State": map[string]any{
			"Name": state, "EnteredTime": entered.UTC().Format("2006-01-02T15:04:05.000Z"), "RetryCount": 0.0,
		},
		"StateMachine": map[string]any{"Id": ex.StateMachineID, "Name": ex.StateMachineName},
	}
	if mapItem != nil {
		c["Map"] = map[string]any{"Item": mapItem}
	}
	return c
}

// state runs one state: input processing, the state's work with its
// retriers and catchers, output processing. It returns the output and the
// next state ("" when the machine ends).
func (e *Executor) state(ctx context.Context, st *State, ex Execution, scope string, input any, cx map[string]any) (any, string, error) {
	switch st.Type {
	case "Fail":
		f := &Failure{Name: st.Error, Cause: st.Cause}
		if st.ErrorPath != nil {
			v, err := st.ErrorPath.Select(input, cx)
			s, ok := v.(string)
			if err != nil || !ok {
				return nil, "", &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("ErrorPath %s did not select a string", st.ErrorPath)}
			}
			f.Name = s
		}
		if st.CausePath != nil {
			v, err := st.CausePath.Select(input, cx)
			s, ok := v.(string)
			if err != nil || !ok {
				return nil, "", &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("CausePath %s did not select a string", st.CausePath)}
			}
			f.Cause = s
		}
		return nil, "", f
	}
	eff, err := applyInputPath(st.InputPath, input, cx)
	if err != nil {
		return nil, "", err
	}
	var out any
	next := st.Next
	switch st.Type {
	case "Succeed":
		out, next = eff, ""
	case "Wait":
		if err := e.wait(ctx, st, eff, cx); err != nil {
			return nil, "", err
		}
		out = eff
	case "Choice":
		next = ""
		for _, r := range st.Choices {
			ok, err := r.Eval(eff, cx)
			if err != nil {
				return nil, "", err
			}
			if ok {
				next = r.Next
				break
			}
		}
		if next == "" {
			next = st.Default
		}
		if next == "" {
			return nil, "", &Failure{Name: "States.NoChoiceMatched", Cause: fmt.Sprintf("no Choices rule matched and no Default is specified in state %q", st.Name)}
		}
		out = eff
	case "Pass":
		var result any = eff
		if st.Parameters != nil {
			if result, err = e.evalTemplate(st.Parameters, eff, cx); err != nil {
				return nil, "", err
			}
		}
		if st.HasResult {
			result = st.Result
		}
		if out, err = applyResultPath(st.ResultPath, input, result); err != nil {
			return nil, "", err
		}
	default: // Task, Parallel, Map: retriers and catchers
		counts := make([]int, len(st.Retry))
		for attempt := 1; ; attempt++ {
			cx["State"].(map[string]any)["RetryCount"] = float64(attempt - 1)
			out, err = e.work(ctx, st, ex, scope, eff, cx, attempt)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			f := AsFailure(err)
			if i := matchRetrier(st.Retry, f.Name); i >= 0 && counts[i] < st.Retry[i].MaxAttempts {
				d := e.backoff(st.Retry[i], counts[i])
				counts[i]++
				e.emit(Event{Type: RetryScheduled, Scope: scope, State: st.Name, StateType: st.Type, Attempt: attempt + 1, Error: f.Name, DelayMs: float64(d.Milliseconds())})
				if err := e.Sleep(ctx, d); err != nil {
					return nil, "", err
				}
				continue
			}
			for _, c := range st.Catch {
				if !matches(c.ErrorEquals, f.Name) {
					continue
				}
				caught, err := applyResultPath(c.ResultPath, input, map[string]any{"Error": f.Name, "Cause": f.Cause})
				if err != nil {
					return nil, "", err
				}
				e.emit(Event{Type: CatchMatched, Scope: scope, State: st.Name, StateType: st.Type, Error: f.Name, Cause: f.Cause, Next: c.Next})
				return caught, c.Next, nil
			}
			return nil, "", f
		}
		if st.ResultSelector != nil {
			if out, err = e.evalTemplate(st.ResultSelector, out, cx); err != nil {
				return nil, "", err
			}
		}
		if out, err = applyResultPath(st.ResultPath, input, out); err != nil {
			return nil, "", err
		}
	}
	if st.Type == "Succeed" || st.End {
		next = ""
	}
	if st.OutputPath.Null {
		return map[string]any{}, next, nil
	}
	if st.OutputPath.Path != nil {
		v, err := st.OutputPath.Path.Select(out, cx)
		if err != nil {
			return nil, "", &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("OutputPath: %v", err)}
		}
		out = v
	}
	return out, next, nil
}

func applyInputPath(p OptPath, input any, cx map[string]any) (any, error) {
	if p.Null {
		return map[string]any{}, nil
	}
	if p.Path == nil {
		return input, nil
	}
	v, err := p.Path.Select(input, cx)
	if err != nil {
		return nil, &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("InputPath: %v", err)}
	}
	return v, nil
}

func applyResultPath(p OptPath, input, result any) (any, error) {
	if p.Null {
		return input, nil
	}
	if p.Path == nil || len(p.Path.segs) == 0 {
		return result, nil
	}
	v, err := p.Path.Set(input, result)
	if err != nil {
		return nil, &Failure{Name: "States.ResultPathMatchFailure", Cause: err.Error()}
	}
	return v, nil
}

func (e *Executor) evalTemplate(t *Template, input any, cx map[string]any) (any, error) {
	v, err := t.Eval(&Env{Input: input, Context: cx, Rand: e.Rand})
	if err != nil {
		var ie *IntrinsicError
		if errors.As(err, &ie) {
			return nil, &Failure{Name: "States.IntrinsicFailure", Cause: err.Error()}
		}
		return nil, &Failure{Name: "States.Runtime", Cause: err.Error()}
	}
	return v, nil
}

// matches says whether an error name is one of names: States.ALL matches
// any error but States.Runtime and States.DataLimitExceeded, and
// States.TaskFailed any but those and States.Timeout.
func matches(names []string, err string) bool {
	for _, n := range names {
		switch {
		case n == err:
			return true
		case n == "States.ALL" && err != "States.Runtime" && err != "States.DataLimitExceeded":
			return true
		case n == "States.TaskFailed" && err != "States.Timeout" && err != "States.Runtime" && err != "States.DataLimitExceeded":
			return true
		}
	}
	return false
}

func matchRetrier(rs []Retrier, err string) int {
	for i, r := range rs {
		if matches(r.ErrorEquals, err) {
			return i
		}
	}
	return -1
}

// backoff is the delay before retry n+1 of r: IntervalSeconds ×
// BackoffRate^n, capped at MaxDelaySeconds, and with JitterStrategy FULL a
// random duration between 0 and that.
func (e *Executor) backoff(r Retrier, n int) time.Duration {
	s := r.IntervalSeconds * math.Pow(r.BackoffRate, float64(n))
	if r.MaxDelaySeconds > 0 {
		s = min(s, r.MaxDelaySeconds)
	}
	s = min(s, 365*24*3600) // Step Functions caps an execution at a year
	if r.JitterFull {
		e.mu.Lock()
		s *= e.random().Float64()
		e.mu.Unlock()
	}
	return time.Duration(s * float64(time.Second))
}

func (e *Executor) wait(ctx context.Context, st *State, input any, cx map[string]any) error {
	var d time.Duration
	switch {
	case st.Seconds != nil:
		d = time.Duration(*st.Seconds * float64(time.Second))
	case st.SecondsPath != nil:
		v, err := st.SecondsPath.Select(input, cx)
		n, ok := v.(float64)
		if err != nil || !ok || n < 0 {
			return &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("SecondsPath %s did not select a non-negative number", st.SecondsPath)}
		}
		d = time.Duration(n * float64(time.Second))
	default:
		ts := st.Timestamp
		if st.TimestampPath != nil {
			v, err := st.TimestampPath.Select(input, cx)
			s, ok := v.(string)
			if err != nil || !ok || !isTimestamp(s) {
				return &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("TimestampPath %s did not select an RFC 3339 timestamp", st.TimestampPath)}
			}
			ts = s
		}
		t, _ := time.Parse(time.RFC3339Nano, ts)
		d = t.Sub(e.Now())
	}
	if d <= 0 {
		return nil
	}
	return e.Sleep(ctx, d)
}

// work does the part of a Task, Parallel or Map state that a retrier
// repeats: it returns the raw result.
func (e *Executor) work(ctx context.Context, st *State, ex Execution, scope string, eff any, cx map[string]any, attempt int) (any, error) {
	switch st.Type {
	case "Task":
		payload := eff
		if st.Parameters != nil {
			var err error
			if payload, err = e.evalTemplate(st.Parameters, eff, cx); err != nil {
				return nil, err
			}
		}
		fn := st.Function
		if st.LambdaInvoke {
			m, _ := payload.(map[string]any)
			if name, ok := m["FunctionName"].(string); ok {
				if f, _, ok := FunctionOfResource(name); ok {
					fn = f
				}
			}
			payload = m["Payload"]
			if _, ok := m["Payload"]; !ok {
				payload = map[string]any{}
			}
		}
		body, err := MarshalJSON(payload)
		if err != nil {
			return nil, &Failure{Name: "States.Runtime", Cause: err.Error()}
		}
		e.emit(Event{Type: TaskScheduled, Scope: scope, State: st.Name, StateType: st.Type, Function: fn, Attempt: attempt, Input: body})
		tctx, cancel := context.WithTimeout(ctx, time.Duration(st.TimeoutSeconds)*time.Second)
		began := e.Now()
		res, err := e.Invoker.Invoke(tctx, fn, body)
		timedOut := errors.Is(tctx.Err(), context.DeadlineExceeded)
		cancel()
		ms := float64(e.Now().Sub(began).Microseconds()) / 1000
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			f := AsFailure(err)
			if timedOut {
				f = &Failure{Name: "States.Timeout", Cause: fmt.Sprintf("the task ran longer than TimeoutSeconds (%d)", st.TimeoutSeconds)}
			}
			e.emit(Event{Type: TaskFailed, Scope: scope, State: st.Name, StateType: st.Type, Function: fn, Attempt: attempt, Error: f.Name, Cause: f.Cause, DurationMs: ms})
			return nil, f
		}
		e.emit(Event{Type: TaskSucceeded, Scope: scope, State: st.Name, StateType: st.Type, Function: fn, Attempt: attempt, Output: res, DurationMs: ms})
		var out any
		if len(res) > 0 {
			if err := json.Unmarshal(res, &out); err != nil {
				return nil, &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("the function %s returned invalid JSON", fn)}
			}
		}
		if st.LambdaInvoke {
			out = map[string]any{"ExecutedVersion": "$LATEST", "Payload": out, "StatusCode": 200.0}
		}
		return out, nil
	case "Parallel":
		in := eff
		if st.Parameters != nil {
			var err error
			if in, err = e.evalTemplate(st.Parameters, eff, cx); err != nil {
				return nil, err
			}
		}
		jobs := make([]func(context.Context) (any, error), len(st.Branches))
		for i, b := range st.Branches {
			sc := fmt.Sprintf("%s%s/%d", prefix(scope), st.Name, i)
			jobs[i] = func(ctx context.Context) (any, error) {
				return e.machine(ctx, b, ex, sc, b.StartAt, in, nil, false)
			}
		}
		return e.fanOut(ctx, jobs, 0)
	case "Map":
		itemsIn := eff
		if st.ItemsPath.Path != nil {
			v, err := st.ItemsPath.Path.Select(eff, cx)
			if err != nil {
				return nil, &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("ItemsPath: %v", err)}
			}
			itemsIn = v
		}
		items, ok := itemsIn.([]any)
		if !ok {
			return nil, &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("the Map state's items must be an array, not %s", typeName(itemsIn))}
		}
		limit := st.MaxConcurrency
		if st.MaxConcurrencyPath != nil {
			v, err := st.MaxConcurrencyPath.Select(eff, cx)
			n, ok := v.(float64)
			if err != nil || !ok || n < 0 || n != math.Trunc(n) {
				return nil, &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("MaxConcurrencyPath %s did not select a non-negative integer", st.MaxConcurrencyPath)}
			}
			limit = int(n)
		}
		jobs := make([]func(context.Context) (any, error), len(items))
		for i, item := range items {
			sc := fmt.Sprintf("%s%s[%d]", prefix(scope), st.Name, i)
			mi := map[string]any{"Index": float64(i), "Value": item}
			jobs[i] = func(ctx context.Context) (any, error) {
				in := item
				if st.ItemSelector != nil {
					icx := contextObject(ex, st.Name, e.Now(), mi)
					var err error
					if in, err = e.evalTemplate(st.ItemSelector, eff, icx); err != nil {
						return nil, err
					}
				}
				return e.machine(ctx, st.Processor, ex, sc, st.Processor.StartAt, in, mi, false)
			}
		}
		return e.fanOut(ctx, jobs, limit)
	}
	return nil, &Failure{Name: "States.Runtime", Cause: "unknown state type " + st.Type}
}

func prefix(scope string) string {
	if scope == "" {
		return ""
	}
	return scope + "/"
}

// fanOut runs jobs, at most limit at once (0: all), and returns their
// results in order; the first failure cancels the others and is returned.
func (e *Executor) fanOut(ctx context.Context, jobs []func(context.Context) (any, error), limit int) (any, error) {
	out := make([]any, len(jobs))
	if e.Serial {
		for i, j := range jobs {
			v, err := j(ctx)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	if limit <= 0 {
		limit = len(jobs)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, max(limit, 1))
	for i, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v, err := j(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// a failure is reported over the cancellations it caused
				var f *Failure
				isF := errors.As(err, &f)
				var prevF *Failure
				if firstErr == nil || (isF && !errors.As(firstErr, &prevF)) {
					firstErr = err
					cancel()
				}
				return
			}
			out[i] = v
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
