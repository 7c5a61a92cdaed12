package awstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/evcli/evcli/internal/asl"
)

// Step Functions (the JSON 1.0 protocol, X-Amz-Target AWSStepFunctions.*):
// CreateStateMachine, UpdateStateMachine, DescribeStateMachine,
// DeleteStateMachine, ListStateMachines, ListTagsForResource, TagResource,
// StartExecution, DescribeExecution, GetExecutionHistory, ListExecutions,
// RedriveExecution. An EXPRESS state machine's executions have
// arn:...:express:... ARNs and ListExecutions refuses it
// (StateMachineTypeNotSupported), as Step Functions keeps no list of them. Executions run
// for real, with evcli's ASL executor, calling the fake's Lambda functions
// (the InvokeFunc, or an echo); they finish within StartExecution's answer,
// so a following DescribeExecution sees the end.

type stateMachine struct {
	name, arn, definition, roleArn, typ string
	tags                                []Tag
	logging                             json.RawMessage
	created                             time.Time
	revision                            int
	executions                          []*sfnExecution
}

type sfnExecution struct {
	arn, name, status string
	input, output     string
	errName, cause    string
	started, stopped  time.Time
	history           []map[string]any
	resumeAt          string
	resumeInput       any
	redriveCount      int
}

// StateMachine is what the fake holds of one state machine, for tests.
type StateMachine struct {
	Name, Arn, Definition, RoleArn, Type string
	Logging                              json.RawMessage
	Revision                             int
	Tags                                 map[string]string
	// Executions are the names of its executions, oldest first.
	Executions []string
}

// StateMachines returns the fake's state machines by name.
func (s *Server) StateMachines() map[string]StateMachine {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]StateMachine{}
	for n, m := range s.machines {
		sm := StateMachine{Name: m.name, Arn: m.arn, Definition: m.definition, RoleArn: m.roleArn, Type: m.typ, Logging: m.logging,
			Revision: m.revision, Tags: tagMap(m.tags)}
		for _, ex := range m.executions {
			sm.Executions = append(sm.Executions, ex.name)
		}
		out[n] = sm
	}
	return out
}

type statesService struct{ s *Server }

func (statesService) writeError(w http.ResponseWriter, _ string, e *apiError, _ string) {
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(e.Status)
	w.Write(jsonBody(map[string]string{"__type": "com.amazonaws.swf.service.v2.model#" + e.Code, "message": e.Message}))
}

func json10(v any) (reply, *apiError) {
	return reply{status: 200, contentType: "application/x-amz-json-1.0", body: jsonBody(v)}, nil
}

func (x statesService) parse(r *http.Request, body []byte) (op, *apiError) {
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil && len(body) > 0 {
		return op{action: action}, errf(400, "SerializationException", "Could not parse the request body: %v", err)
	}
	name, _ := str(in, "name")
	smArn, _ := str(in, "stateMachineArn")
	exArn, _ := str(in, "executionArn")
	resArn, _ := str(in, "resourceArn")
	run := map[string]struct {
		res string
		f   func() (reply, *apiError)
	}{
		"CreateStateMachine":   {name, func() (reply, *apiError) { return x.create(name, in) }},
		"UpdateStateMachine":   {lastPart(smArn), func() (reply, *apiError) { return x.update(smArn, in) }},
		"DescribeStateMachine": {lastPart(smArn), func() (reply, *apiError) { return x.describe(smArn) }},
		"ListStateMachines":    {"", func() (reply, *apiError) { return x.list() }},
		"DeleteStateMachine":   {lastPart(smArn), func() (reply, *apiError) { return x.deleteMachine(smArn) }},
		"ListTagsForResource":  {lastPart(resArn), func() (reply, *apiError) { return x.listTags(resArn) }},
		"TagResource":          {lastPart(resArn), func() (reply, *apiError) { return x.tagResource(resArn, in) }},
		"StartExecution":       {lastPart(smArn), func() (reply, *apiError) { return x.start(smArn, in) }},
		"DescribeExecution":    {lastPart(exArn), func() (reply, *apiError) { return x.describeExecution(exArn) }},
		"GetExecutionHistory":  {lastPart(exArn), func() (reply, *apiError) { return x.history(exArn) }},
		"ListExecutions":       {lastPart(smArn), func() (reply, *apiError) { return x.listExecutions(smArn) }},
		"RedriveExecution":     {lastPart(exArn), func() (reply, *apiError) { return x.redrive(exArn) }},
	}[action]
	if run.f == nil {
		return op{action: action}, errf(400, "UnknownOperationException", "awstest: unsupported Step Functions operation %q", action)
	}
	return op{action, run.res, run.f}, nil
}

func lastPart(arn string) string {
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func (x statesService) machine(arn string) (*stateMachine, *apiError) {
	for _, m := range x.s.machines {
		if m.arn == arn {
			return m, nil
		}
	}
	return nil, errf(400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
}

func (x statesService) validate(def string) *apiError {
	if _, diags := asl.Parse([]byte(def), asl.Options{}); len(diags) > 0 {
		return errf(400, "InvalidDefinition", "Invalid State Machine Definition: '%s'", diags[0].Msg)
	}
	return nil
}

func (x statesService) create(name string, in map[string]json.RawMessage) (reply, *apiError) {
	def, _ := str(in, "definition")
	role, _ := str(in, "roleArn")
	typ, _ := str(in, "type")
	if typ == "" {
		typ = "STANDARD"
	}
	if e := x.validate(def); e != nil {
		return reply{}, e
	}
	if m := x.s.machines[name]; m != nil {
		if m.definition == def && m.roleArn == role {
			return json10(map[string]any{"stateMachineArn": m.arn, "creationDate": epoch(m.created)})
		}
		return reply{}, errf(400, "StateMachineAlreadyExists", "State Machine Already Exists: '%s'", m.arn)
	}
	m := &stateMachine{name: name, arn: fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", x.s.region, x.s.account, name),
		definition: def, roleArn: role, typ: typ, logging: in["loggingConfiguration"], created: x.s.requestTime(), revision: 1,
		tags: sfnTags(in)}
	x.s.machines[name] = m
	return json10(map[string]any{"stateMachineArn": m.arn, "creationDate": epoch(m.created)})
}

// sfnTags reads Step Functions' tags ([{"key":..,"value":..}]).
func sfnTags(in map[string]json.RawMessage) []Tag {
	var raw []struct{ Key, Value string }
	_ = json.Unmarshal(in["tags"], &raw)
	var out []Tag
	for _, t := range raw {
		out = setTags(out, []Tag{{Key: t.Key, Value: t.Value}})
	}
	return out
}

func (x statesService) deleteMachine(arn string) (reply, *apiError) {
	m, e := x.machine(arn)
	if e != nil {
		return json10(map[string]any{}) // deleting what is gone succeeds, as Step Functions does
	}
	delete(x.s.machines, m.name)
	return json10(map[string]any{})
}

func (x statesService) listTags(arn string) (reply, *apiError) {
	m, e := x.machine(arn)
	if e != nil {
		return reply{}, errf(400, "ResourceNotFound", "Resource not found: '%s'", arn)
	}
	out := []map[string]string{}
	for _, t := range m.tags {
		out = append(out, map[string]string{"key": t.Key, "value": t.Value})
	}
	return json10(map[string]any{"tags": out})
}

func (x statesService) tagResource(arn string, in map[string]json.RawMessage) (reply, *apiError) {
	m, e := x.machine(arn)
	if e != nil {
		return reply{}, errf(400, "ResourceNotFound", "Resource not found: '%s'", arn)
	}
	m.tags = setTags(m.tags, sfnTags(in))
	return json10(map[string]any{})
}

func (x statesService) update(arn string, in map[string]json.RawMessage) (reply, *apiError) {
	m, e := x.machine(arn)
	if e != nil {
		return reply{}, e
	}
	if def, ok := str(in, "definition"); ok {
		if e := x.validate(def); e != nil {
			return reply{}, e
		}
		m.definition = def
	}
	if role, ok := str(in, "roleArn"); ok {
		m.roleArn = role
	}
	if l, ok := in["loggingConfiguration"]; ok {
		m.logging = l
	}
	m.revision++
	return json10(map[string]any{"updateDate": epoch(x.s.requestTime()), "revisionId": fmt.Sprint(m.revision)})
}

func (x statesService) describe(arn string) (reply, *apiError) {
	m, e := x.machine(arn)
	if e != nil {
		return reply{}, e
	}
	out := map[string]any{"stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE", "definition": m.definition,
		"roleArn": m.roleArn, "type": m.typ, "creationDate": epoch(m.created), "revisionId": fmt.Sprint(m.revision)}
	if len(m.logging) > 0 {
		out["loggingConfiguration"] = m.logging
	}
	return json10(out)
}

func (x statesService) list() (reply, *apiError) {
	var names []string
	for n := range x.s.machines {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []map[string]any
	for _, n := range names {
		m := x.s.machines[n]
		out = append(out, map[string]any{"stateMachineArn": m.arn, "name": m.name, "type": m.typ, "creationDate": epoch(m.created)})
	}
	return json10(map[string]any{"stateMachines": out})
}

func (x statesService) execution(arn string) (*stateMachine, *sfnExecution, *apiError) {
	for _, m := range x.s.machines {
		for _, ex := range m.executions {
			if ex.arn == arn {
				return m, ex, nil
			}
		}
	}
	return nil, nil, errf(400, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
}

func (x statesService) start(arn string, in map[string]json.RawMessage) (reply, *apiError) {
	m, e := x.machine(arn)
	if e != nil {
		return reply{}, e
	}
	name, _ := str(in, "name")
	if name == "" {
		x.s.seq++
		name = fmt.Sprintf("00000000-0000-4000-9000-%012d", x.s.seq)
	}
	input, ok := str(in, "input")
	if !ok {
		input = "{}"
	}
	var v any
	if json.Unmarshal([]byte(input), &v) != nil {
		return reply{}, errf(400, "InvalidExecutionInput", "Invalid execution input")
	}
	for _, ex := range m.executions {
		if ex.name == name {
			return reply{}, errf(400, "ExecutionAlreadyExists", "Execution Already Exists: '%s'", ex.arn)
		}
	}
	exArn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", x.s.region, x.s.account, m.name, name)
	if m.typ == "EXPRESS" { // express executions have ARNs of their own
		exArn = fmt.Sprintf("arn:aws:states:%s:%s:express:%s:%s:%08x-0000-4000-8000-%012x", x.s.region, x.s.account, m.name, name, x.s.seq, x.s.seq)
	}
	ex := &sfnExecution{arn: exArn,
		name: name, status: "RUNNING", input: input, started: x.s.requestTime()}
	m.executions = append(m.executions, ex)
	def := m.definition
	return reply{then: func() (reply, *apiError) {
		x.run(m, ex, def, "", v)
		return json10(map[string]any{"executionArn": ex.arn, "startDate": epoch(ex.started)})
	}}, nil
}

// run executes ex outside the lock (the functions may call the Server),
// recording its history in Step Functions' event format.
func (x statesService) run(m *stateMachine, ex *sfnExecution, def, resumeAt string, input any) {
	sm, _ := asl.Parse([]byte(def), asl.Options{})
	var hist []map[string]any
	add := func(typ string, details string, d map[string]any) {
		x.s.mu.Lock()
		t := x.s.requestTime()
		x.s.mu.Unlock()
		ev := map[string]any{"id": len(ex.history) + len(hist) + 1, "type": typ, "timestamp": epoch(t)}
		if len(hist) > 0 || len(ex.history) > 0 {
			ev["previousEventId"] = ev["id"].(int) - 1
		}
		if details != "" {
			ev[details] = d
		}
		hist = append(hist, ev)
	}
	exec := &asl.Executor{Invoker: fakeLambda{x.s}, Sleep: func(context.Context, time.Duration) error { return nil },
		OnEvent: func(e asl.Event) {
			switch e.Type {
			case asl.ExecutionStarted:
				add("ExecutionStarted", "executionStartedEventDetails", map[string]any{"input": string(e.Input), "roleArn": m.roleArn})
			case asl.ExecutionResumed:
				add("ExecutionRedriven", "executionRedrivenEventDetails", map[string]any{"redriveCount": ex.redriveCount})
			case asl.StateEntered:
				add(e.StateType+"StateEntered", "stateEnteredEventDetails", map[string]any{"name": e.State, "input": string(e.Input)})
			case asl.StateExited:
				add(e.StateType+"StateExited", "stateExitedEventDetails", map[string]any{"name": e.State, "output": string(e.Output)})
			case asl.TaskScheduled:
				add("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", map[string]any{"resource": x.s.functionArn(e.Function), "input": string(e.Input)})
				add("LambdaFunctionStarted", "", nil)
			case asl.TaskSucceeded:
				add("LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", map[string]any{"output": string(e.Output)})
			case asl.TaskFailed:
				add("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", map[string]any{"error": e.Error, "cause": e.Cause})
			case asl.ExecutionSucceeded:
				add("ExecutionSucceeded", "executionSucceededEventDetails", map[string]any{"output": string(e.Output)})
			case asl.ExecutionFailed:
				add("ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": e.Error, "cause": e.Cause})
			}
		},
		Checkpoint: func(state string, in any) error {
			ex.resumeAt, ex.resumeInput = state, in
			return nil
		}}
	ctxObj := asl.Execution{ID: ex.arn, Name: ex.name, StateMachineID: m.arn, StateMachineName: m.name, StartTime: ex.started}
	out, err := exec.Run(context.Background(), sm, ctxObj, resumeAt, input)
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	ex.history = append(ex.history, hist...)
	ex.stopped = x.s.requestTime()
	var f *asl.Failure
	switch {
	case err == nil:
		b, _ := asl.MarshalJSON(out)
		ex.status, ex.output = "SUCCEEDED", string(b)
	case errors.As(err, &f):
		ex.status, ex.errName, ex.cause = "FAILED", f.Name, f.Cause
	default:
		ex.status, ex.errName, ex.cause = "FAILED", "States.Runtime", err.Error()
	}
}

// fakeLambda calls the fake's Lambda functions for the executor.
type fakeLambda struct{ s *Server }

func (l fakeLambda) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	l.s.mu.Lock()
	f := l.s.functions[fn]
	invoke := l.s.invoke
	if f != nil {
		f.invocations = append(f.invocations, Invocation{Function: fn, Version: "$LATEST", InvocationType: "RequestResponse", Payload: append([]byte(nil), payload...)})
	}
	l.s.mu.Unlock()
	if f == nil {
		return nil, &asl.Failure{Name: "Lambda.ResourceNotFoundException", Cause: "Function not found: " + l.s.functionArn(fn)}
	}
	if invoke == nil {
		return payload, nil
	}
	out, err := invoke(fn, payload)
	if err != nil {
		var fe *FunctionError
		doc := map[string]string{"errorMessage": err.Error()}
		if errors.As(err, &fe) {
			doc = map[string]string{"errorType": fe.Type, "errorMessage": fe.Message}
		}
		b, _ := json.Marshal(doc)
		return nil, asl.LambdaFailure(b)
	}
	return out, nil
}

func (x statesService) executionJSON(m *stateMachine, ex *sfnExecution) map[string]any {
	out := map[string]any{"executionArn": ex.arn, "stateMachineArn": m.arn, "name": ex.name, "status": ex.status,
		"startDate": epoch(ex.started), "input": ex.input, "redriveCount": ex.redriveCount}
	if ex.status != "RUNNING" {
		out["stopDate"] = epoch(ex.stopped)
	}
	if ex.status == "SUCCEEDED" {
		out["output"] = ex.output
	}
	if ex.errName != "" {
		out["error"], out["cause"] = ex.errName, ex.cause
	}
	return out
}

func (x statesService) describeExecution(arn string) (reply, *apiError) {
	m, ex, e := x.execution(arn)
	if e != nil {
		return reply{}, e
	}
	return json10(x.executionJSON(m, ex))
}

func (x statesService) history(arn string) (reply, *apiError) {
	_, ex, e := x.execution(arn)
	if e != nil {
		return reply{}, e
	}
	return json10(map[string]any{"events": ex.history})
}

func (x statesService) listExecutions(arn string) (reply, *apiError) {
	m, e := x.machine(arn)
	if e != nil {
		return reply{}, e
	}
	if m.typ == "EXPRESS" {
		return reply{}, errf(400, "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine")
	}
	var out []map[string]any
	for i := len(m.executions) - 1; i >= 0; i-- {
		ex := m.executions[i]
		j := x.executionJSON(m, ex)
		delete(j, "input")
		delete(j, "output")
		out = append(out, j)
	}
	return json10(map[string]any{"executions": out})
}

func (x statesService) redrive(arn string) (reply, *apiError) {
	m, ex, e := x.execution(arn)
	if e != nil {
		return reply{}, e
	}
	if ex.status != "FAILED" && ex.status != "TIMED_OUT" && ex.status != "ABORTED" {
		return reply{}, errf(400, "ExecutionNotRedrivable", "Execution '%s' is %s and cannot be redriven", arn, ex.status)
	}
	ex.status, ex.errName, ex.cause, ex.output = "RUNNING", "", "", ""
	ex.redriveCount++
	def, at, in := m.definition, ex.resumeAt, ex.resumeInput
	return reply{then: func() (reply, *apiError) {
		x.run(m, ex, def, at, in)
		return json10(map[string]any{"redriveDate": epoch(time.Now())})
	}}, nil
}
