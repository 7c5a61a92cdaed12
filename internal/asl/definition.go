package asl

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/evcli/evcli/internal/suggest"
)

// StateMachine is a parsed, validated definition (or one branch of a
// Parallel state, or a Map state's item processor).
type StateMachine struct {
	Comment        string
	StartAt        string
	States         map[string]*State
	Order          []string // state names as written
	TimeoutSeconds int
}

// State is one state of any type; the fields a type does not use are zero.
type State struct {
	Name    string
	Type    string
	Comment string
	Next    string
	End     bool

	InputPath, OutputPath, ResultPath OptPath
	Parameters, ResultSelector        *Template
	Result                            any
	HasResult                         bool

	// Task
	Resource         string
	Function         string // the project function a Lambda task calls ("" if not one)
	LambdaInvoke     bool   // arn:aws:states:::lambda:invoke: the result is wrapped
	TimeoutSeconds   int
	HeartbeatSeconds int
	Retry            []Retrier
	Catch            []Catcher

	// Choice
	Choices []*ChoiceRule
	Default string

	// Wait
	Seconds       *float64
	Timestamp     string
	SecondsPath   *Path
	TimestampPath *Path

	// Fail
	Error, Cause         string
	ErrorPath, CausePath *Path

	// Parallel
	Branches []*StateMachine

	// Map
	Processor          *StateMachine
	ItemsPath          OptPath
	ItemSelector       *Template
	MaxConcurrency     int
	MaxConcurrencyPath *Path
}

// OptPath is a path field: absent (the default, "$"), null (discard), or a
// path.
type OptPath struct {
	Null bool
	Path *Path // nil: "$"
}

// Retrier is one element of a Retry field.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds float64 // 0: no cap
	JitterFull      bool
}

// Catcher is one element of a Catch field.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  OptPath
}

// ChoiceRule is a Choice rule: a comparison, or And/Or/Not of rules.
type ChoiceRule struct {
	Next     string // top-level rules only
	And, Or  []*ChoiceRule
	Not      *ChoiceRule
	Variable *Path
	Op       string // e.g. "NumericLessThan", "IsPresent"
	Value    any    // the operand; a *Path for the ...Path operators
	matcher  *regexp.Regexp
}

// Diag is one problem in a definition: the byte offset it points at, the
// place in the definition (States.Pay.Retry[0].BackoffRate), what is wrong
// and what would be right.
type Diag struct {
	Off  int
	Path string
	Msg  string
	Hint string
}

// Options tune validation.
type Options struct {
	// Functions, when not nil, are the project's functions: a Task naming
	// another is an error (with a did-you-mean).
	Functions []string
}

// stateFields lists the fields each state type accepts.
var commonFields = []string{"Type", "Comment"}

var stateFields = map[string][]string{
	"Pass":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	"Task":     {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch", "Credentials"},
	"Choice":   {"InputPath", "OutputPath", "Choices", "Default"},
	"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"},
	"Succeed":  {"InputPath", "OutputPath"},
	"Fail":     {"Error", "Cause", "ErrorPath", "CausePath"},
	"Parallel": {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Branches", "Retry", "Catch"},
	"Map":      {"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "ItemsPath", "ItemSelector", "Iterator", "ItemProcessor", "MaxConcurrency", "MaxConcurrencyPath", "Retry", "Catch"},
}

var stateTypes = []string{"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}

// knownErrors are the States.* error names a Retry or Catch may name.
var knownErrors = []string{"States.ALL", "States.DataLimitExceeded", "States.ExceedToleratedFailureThreshold",
	"States.HeartbeatTimeout", "States.Http.Socket", "States.IntrinsicFailure", "States.ItemReaderFailed",
	"States.NoChoiceMatched", "States.ParameterPathFailure", "States.Permissions", "States.ResultPathMatchFailure",
	"States.ResultWriterFailed", "States.Runtime", "States.TaskFailed", "States.Timeout", "States.BranchFailed",
	"States.QueryEvaluationError"}

// Parse parses and validates a definition. It returns every problem at
// once (sorted by position); the machine is nil when there is any.
func Parse(src []byte, o Options) (*StateMachine, []Diag) {
	root, err := ParseJSON(src)
	if err != nil {
		se := err.(*SyntaxError)
		return nil, []Diag{{Off: se.Off, Msg: "invalid JSON: " + se.Msg}}
	}
	v := &validator{opts: o}
	sm := v.machine(root, "", true)
	if len(v.diags) > 0 {
		sort.SliceStable(v.diags, func(i, j int) bool { return v.diags[i].Off < v.diags[j].Off })
		return nil, v.diags
	}
	return sm, nil
}

type validator struct {
	opts  Options
	diags []Diag
}

func (v *validator) errf(n *Node, off int, path, hint, format string, args ...any) {
	if off < 0 && n != nil {
		off = n.Off
	}
	v.diags = append(v.diags, Diag{Off: max(off, 0), Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownFields reports the members of n not in allowed.
func (v *validator) unknownFields(n *Node, path string, allowed []string, what string) {
	for _, m := range n.Members {
		if slices.Contains(allowed, m.Key) {
			continue
		}
		hint := ""
		if s := suggest.Closest(m.Key, allowed); s != "" {
			hint = fmt.Sprintf("did you mean %q?", s)
		}
		v.errf(nil, m.KeyOff, join(path, m.Key), hint, "%s has no field %q", what, m.Key)
	}
}

func keyOff(n *Node, key string) int {
	for _, m := range n.Members {
		if m.Key == key {
			return m.KeyOff
		}
	}
	return n.Off
}

func (v *validator) str(n *Node, key, path string, required bool) (string, bool) {
	x := n.Get(key)
	if x == nil {
		if required {
			v.errf(n, -1, path, "", "%s is required", key)
		}
		return "", false
	}
	if x.Kind != String {
		v.errf(x, -1, join(path, key), "", "%s must be a string, not %s", key, x.Kind)
		return "", false
	}
	return x.Str, true
}

func (v *validator) posInt(n *Node, key, path string, minimum int) (int, bool) {
	x := n.Get(key)
	if x == nil {
		return 0, false
	}
	if x.Kind != Number || x.Num != math.Trunc(x.Num) || x.Num < float64(minimum) || x.Num > 99999999 {
		v.errf(x, -1, join(path, key), "", "%s must be an integer of at least %d", key, minimum)
		return 0, false
	}
	return int(x.Num), true
}

func (v *validator) path(n *Node, key, path string, reference bool) *Path {
	x := n.Get(key)
	if x == nil {
		return nil
	}
	if x.Kind != String {
		v.errf(x, -1, join(path, key), "", "%s must be a JSONPath string, not %s", key, x.Kind)
		return nil
	}
	return v.pathStr(x, join(path, key), reference)
}

func (v *validator) pathStr(x *Node, path string, reference bool) *Path {
	p, err := ParsePath(x.Str)
	if err != nil {
		pe := err.(*PathError)
		v.errf(x, x.Off+1+pe.Off, path, "", "%v", err)
		return nil
	}
	if reference && !p.IsReference() {
		v.errf(x, -1, path, "a reference path has only .name, ['name'] and [index] segments", "%q is not a reference path", x.Str)
		return nil
	}
	return p
}

// optPath reads InputPath, OutputPath, ResultPath, ItemsPath.
func (v *validator) optPath(n *Node, key, path string, reference bool) OptPath {
	x := n.Get(key)
	if x == nil {
		return OptPath{}
	}
	if x.Kind == Null {
		if key == "ItemsPath" {
			v.errf(x, -1, join(path, key), "", "ItemsPath cannot be null")
		}
		return OptPath{Null: true}
	}
	p := v.path(n, key, path, reference)
	if p != nil && p.context && key == "ResultPath" {
		v.errf(x, -1, join(path, key), "", "ResultPath cannot write to the context object ($$)")
	}
	return OptPath{Path: p}
}

func (v *validator) machine(n *Node, path string, top bool) *StateMachine {
	if n.Kind != Object {
		v.errf(n, -1, path, "", "a state machine must be an object, not %s", n.Kind)
		return nil
	}
	allowed := []string{"StartAt", "States", "Comment"}
	if top {
		allowed = append(allowed, "TimeoutSeconds", "Version", "QueryLanguage")
	} else {
		allowed = append(allowed, "ProcessorConfig")
	}
	v.unknownFields(n, path, allowed, "a state machine")
	sm := &StateMachine{States: map[string]*State{}}
	sm.Comment, _ = v.str(n, "Comment", path, false)
	if ql, ok := v.str(n, "QueryLanguage", path, false); ok && ql != "JSONPath" {
		v.errf(n.Get("QueryLanguage"), -1, join(path, "QueryLanguage"), "write the definition with JSONPath", "QueryLanguage %q is not supported by evcli's executor", ql)
	}
	if t, ok := v.posInt(n, "TimeoutSeconds", path, 1); ok {
		sm.TimeoutSeconds = t
	}
	if pc := n.Get("ProcessorConfig"); pc != nil {
		if mode := pc.Get("Mode"); mode != nil && (mode.Kind != String || mode.Str != "INLINE") {
			v.errf(mode, -1, join(path, "ProcessorConfig.Mode"), "evcli runs inline Map states only", "Mode must be INLINE")
		}
	}
	start, hasStart := v.str(n, "StartAt", path, true)
	states := n.Get("States")
	if states == nil {
		v.errf(n, -1, path, "", "States is required")
		return sm
	}
	if states.Kind != Object || len(states.Members) == 0 {
		v.errf(states, -1, join(path, "States"), "", "States must be an object with at least one state")
		return sm
	}
	offs := map[string]int{}
	for _, m := range states.Members {
		if len(m.Key) == 0 || len(m.Key) > 80 {
			v.errf(nil, m.KeyOff, join(path, "States"), "", "a state name has 1 to 80 characters: %q", m.Key)
		}
		sp := join(path, "States."+m.Key)
		st := v.state(m.Val, m.Key, sp)
		if st != nil {
			sm.States[m.Key] = st
		}
		sm.Order = append(sm.Order, m.Key)
		offs[m.Key] = m.KeyOff
	}
	sm.StartAt = start
	names := sm.Order
	target := func(off int, p, name string) {
		if slices.Contains(names, name) {
			return
		}
		hint := ""
		if s := suggest.Closest(name, names); s != "" {
			hint = fmt.Sprintf("did you mean %q?", s)
		} else {
			hint = "states here: " + strings.Join(names, ", ")
		}
		v.errf(nil, off, p, hint, "no state named %q", name)
	}
	if hasStart {
		target(n.Get("StartAt").Off, join(path, "StartAt"), start)
	}
	// transitions, checked against this machine's states
	for _, m := range states.Members {
		st := sm.States[m.Key]
		if st == nil {
			continue
		}
		sp := join(path, "States."+m.Key)
		if st.Next != "" {
			target(m.Val.Get("Next").Off, join(sp, "Next"), st.Next)
		}
		if st.Default != "" {
			target(m.Val.Get("Default").Off, join(sp, "Default"), st.Default)
		}
		for i, c := range st.Catch {
			cn := m.Val.Get("Catch").Elems[i]
			target(cn.Get("Next").Off, fmt.Sprintf("%s.Catch[%d].Next", sp, i), c.Next)
		}
		if cs := m.Val.Get("Choices"); cs != nil && cs.Kind == Array {
			for i, r := range st.Choices {
				if r != nil && r.Next != "" {
					target(cs.Elems[i].Get("Next").Off, fmt.Sprintf("%s.Choices[%d].Next", sp, i), r.Next)
				}
			}
		}
	}
	// reachability
	if hasStart && sm.States[start] != nil {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(name string) {
			st := sm.States[name]
			if st == nil || seen[name] {
				return
			}
			seen[name] = true
			walk(st.Next)
			walk(st.Default)
			for _, c := range st.Catch {
				walk(c.Next)
			}
			for _, r := range st.Choices {
				if r != nil {
					walk(r.Next)
				}
			}
		}
		walk(start)
		for _, name := range sm.Order {
			if !seen[name] && sm.States[name] != nil {
				v.errf(nil, offs[name], join(path, "States."+name), "a Next, Default, Choices or Catch field must lead to it, or remove it", "state %q is unreachable from StartAt %q", name, start)
			}
		}
	}
	return sm
}

func (v *validator) state(n *Node, name, path string) *State {
	if n.Kind != Object {
		v.errf(n, -1, path, "", "a state must be an object, not %s", n.Kind)
		return nil
	}
	typ, ok := v.str(n, "Type", path, true)
	if !ok {
		return nil
	}
	fields, known := stateFields[typ]
	if !known {
		hint := "types: " + strings.Join(stateTypes, ", ")
		if s := suggest.Closest(typ, stateTypes); s != "" {
			hint = fmt.Sprintf("did you mean %q?", s)
		}
		v.errf(n.Get("Type"), -1, join(path, "Type"), hint, "unknown state type %q", typ)
		return nil
	}
	v.unknownFields(n, path, append(slices.Clone(commonFields), fields...), "a "+typ+" state")
	st := &State{Name: name, Type: typ}
	st.Comment, _ = v.str(n, "Comment", path, false)

	// Next / End
	if slices.Contains(fields, "Next") {
		next, hasNext := v.str(n, "Next", path, false)
		end := n.Get("End")
		if end != nil && (end.Kind != Bool) {
			v.errf(end, -1, join(path, "End"), "", "End must be true or false")
		}
		st.End = end != nil && end.Kind == Bool && end.Bool
		switch {
		case hasNext && st.End:
			v.errf(n, keyOff(n, "End"), path, "remove one of them", "a state has either Next or \"End\": true, not both")
		case !hasNext && !st.End:
			v.errf(n, -1, path, "add \"Next\": \"<state>\" or \"End\": true", "a %s state needs Next or \"End\": true", typ)
		}
		st.Next = next
	}
	st.InputPath = v.optPath(n, "InputPath", path, false)
	st.OutputPath = v.optPath(n, "OutputPath", path, false)
	if slices.Contains(fields, "ResultPath") {
		st.ResultPath = v.optPath(n, "ResultPath", path, true)
	}
	if x := n.Get("Parameters"); x != nil {
		st.Parameters = v.template(x, join(path, "Parameters"))
	}
	if x := n.Get("ResultSelector"); x != nil {
		if x.Kind != Object {
			v.errf(x, -1, join(path, "ResultSelector"), "", "ResultSelector must be an object")
		}
		st.ResultSelector = v.template(x, join(path, "ResultSelector"))
	}
	if x := n.Get("Result"); x != nil {
		st.Result, st.HasResult = x.Value(), true
	}
	if slices.Contains(fields, "Retry") {
		st.Retry = v.retry(n, path)
		st.Catch = v.catch(n, path)
	}
	switch typ {
	case "Task":
		v.task(n, st, path)
	case "Choice":
		v.choice(n, st, path)
	case "Wait":
		v.wait(n, st, path)
	case "Fail":
		v.fail(n, st, path)
	case "Parallel":
		b := n.Get("Branches")
		if b == nil || b.Kind != Array || len(b.Elems) == 0 {
			v.errf(n, keyOff(n, "Branches"), join(path, "Branches"), "", "a Parallel state needs Branches: an array of state machines")
			break
		}
		for i, e := range b.Elems {
			if sm := v.machine(e, fmt.Sprintf("%s.Branches[%d]", path, i), false); sm != nil {
				st.Branches = append(st.Branches, sm)
			}
		}
	case "Map":
		v.mapState(n, st, path)
	}
	return st
}

func (v *validator) task(n *Node, st *State, path string) {
	res, ok := v.str(n, "Resource", path, true)
	if !ok {
		return
	}
	st.Resource = res
	st.TimeoutSeconds = 60
	if t, ok := v.posInt(n, "TimeoutSeconds", path, 1); ok {
		st.TimeoutSeconds = t
	}
	if h, ok := v.posInt(n, "HeartbeatSeconds", path, 1); ok {
		st.HeartbeatSeconds = h
		if h >= st.TimeoutSeconds {
			v.errf(n.Get("HeartbeatSeconds"), -1, join(path, "HeartbeatSeconds"), "", "HeartbeatSeconds (%d) must be smaller than TimeoutSeconds (%d)", h, st.TimeoutSeconds)
		}
	}
	fn, invoke, known := FunctionOfResource(res)
	if invoke {
		st.LambdaInvoke = true
		// the function is Parameters.FunctionName
		fnNode := n.Get("Parameters").Get("FunctionName")
		if fnNode == nil || fnNode.Kind != String {
			if n.Get("Parameters").Get("FunctionName.$") == nil {
				v.errf(n, keyOff(n, "Parameters"), join(path, "Parameters"), "", "arn:aws:states:::lambda:invoke needs Parameters.FunctionName")
			}
			return
		}
		fn, _, known = FunctionOfResource(fnNode.Str)
		if !known {
			fn = fnNode.Str
		}
		st.Function = fn
		v.checkFunction(fnNode, join(path, "Parameters.FunctionName"), fn)
		return
	}
	if !known {
		v.errf(n.Get("Resource"), -1, join(path, "Resource"), "use a Lambda function of the project: ${function:NAME}, its name or its ARN", "evcli runs Lambda tasks only, not %q", res)
		return
	}
	st.Function = fn
	v.checkFunction(n.Get("Resource"), join(path, "Resource"), fn)
}

func (v *validator) checkFunction(n *Node, path, fn string) {
	if v.opts.Functions == nil || slices.Contains(v.opts.Functions, fn) {
		return
	}
	hint := "functions: " + strings.Join(v.opts.Functions, ", ")
	if s := suggest.Closest(fn, v.opts.Functions); s != "" {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	v.errf(n, -1, path, hint, "no function %q in the project", fn)
}

// compiled on first use: every evcli command links this package, and
// start-up time matters (README, Performance)
var (
	lambdaARN = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]*:[0-9]*:function:([A-Za-z0-9_-]+)(:[A-Za-z0-9$_-]+)?$`)
	})
	placeholder = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\$\{function:([A-Za-z0-9_-]+)\}$`) })
	plainName   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]+$`) })
)

// FunctionOfResource says which function a Task's Resource calls: an
// evcli placeholder ${function:NAME}, a plain function name, or a Lambda
// function ARN. invoke is true for arn:aws:states:::lambda:invoke (the
// function is then in Parameters.FunctionName).
func FunctionOfResource(res string) (fn string, invoke, ok bool) {
	if res == "arn:aws:states:::lambda:invoke" {
		return "", true, true
	}
	if m := placeholder().FindStringSubmatch(res); m != nil {
		return m[1], false, true
	}
	if m := lambdaARN().FindStringSubmatch(res); m != nil {
		return m[1], false, true
	}
	if plainName().MatchString(res) {
		return res, false, true
	}
	return "", false, false
}

func (v *validator) errorNames(n *Node, path string) []string {
	x := n.Get("ErrorEquals")
	if x == nil || x.Kind != Array || len(x.Elems) == 0 {
		v.errf(n, keyOff(n, "ErrorEquals"), join(path, "ErrorEquals"), `e.g. "ErrorEquals": ["States.ALL"]`, "ErrorEquals must be a non-empty array of error names")
		return nil
	}
	var out []string
	for i, e := range x.Elems {
		if e.Kind != String || e.Str == "" {
			v.errf(e, -1, fmt.Sprintf("%s.ErrorEquals[%d]", path, i), "", "an error name is a non-empty string")
			continue
		}
		if strings.HasPrefix(e.Str, "States.") && !slices.Contains(knownErrors, e.Str) {
			hint := ""
			if s := suggest.Closest(e.Str, knownErrors); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			v.errf(e, -1, fmt.Sprintf("%s.ErrorEquals[%d]", path, i), hint, "unknown error name %q (States. is reserved)", e.Str)
		}
		if e.Str == "States.ALL" && len(x.Elems) > 1 {
			v.errf(e, -1, fmt.Sprintf("%s.ErrorEquals[%d]", path, i), "", "States.ALL must appear alone in ErrorEquals")
		}
		out = append(out, e.Str)
	}
	return out
}

func (v *validator) retry(n *Node, path string) []Retrier {
	x := n.Get("Retry")
	if x == nil {
		return nil
	}
	if x.Kind != Array {
		v.errf(x, -1, join(path, "Retry"), "", "Retry must be an array of retriers")
		return nil
	}
	var out []Retrier
	for i, e := range x.Elems {
		p := fmt.Sprintf("%s.Retry[%d]", path, i)
		if e.Kind != Object {
			v.errf(e, -1, p, "", "a retrier must be an object")
			continue
		}
		v.unknownFields(e, p, []string{"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"}, "a retrier")
		r := Retrier{ErrorEquals: v.errorNames(e, p), IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2}
		if slices.Contains(r.ErrorEquals, "States.ALL") && i != len(x.Elems)-1 {
			v.errf(e, -1, p, "move it last", "a retrier with States.ALL must be the last one")
		}
		if s, ok := v.posInt(e, "IntervalSeconds", p, 1); ok {
			r.IntervalSeconds = float64(s)
		}
		if m, ok := v.posInt(e, "MaxAttempts", p, 0); ok {
			r.MaxAttempts = m
		}
		if b := e.Get("BackoffRate"); b != nil {
			if b.Kind != Number || b.Num < 1 {
				v.errf(b, -1, join(p, "BackoffRate"), "", "BackoffRate must be a number of at least 1.0")
			} else {
				r.BackoffRate = b.Num
			}
		}
		if d, ok := v.posInt(e, "MaxDelaySeconds", p, 1); ok {
			r.MaxDelaySeconds = float64(d)
		}
		if j, ok := v.str(e, "JitterStrategy", p, false); ok {
			switch j {
			case "FULL":
				r.JitterFull = true
			case "NONE":
			default:
				v.errf(e.Get("JitterStrategy"), -1, join(p, "JitterStrategy"), "", "JitterStrategy is FULL or NONE, not %q", j)
			}
		}
		out = append(out, r)
	}
	return out
}

func (v *validator) catch(n *Node, path string) []Catcher {
	x := n.Get("Catch")
	if x == nil {
		return nil
	}
	if x.Kind != Array {
		v.errf(x, -1, join(path, "Catch"), "", "Catch must be an array of catchers")
		return nil
	}
	var out []Catcher
	for i, e := range x.Elems {
		p := fmt.Sprintf("%s.Catch[%d]", path, i)
		if e.Kind != Object {
			v.errf(e, -1, p, "", "a catcher must be an object")
			continue
		}
		v.unknownFields(e, p, []string{"ErrorEquals", "Next", "ResultPath", "Comment"}, "a catcher")
		c := Catcher{ErrorEquals: v.errorNames(e, p)}
		if slices.Contains(c.ErrorEquals, "States.ALL") && i != len(x.Elems)-1 {
			v.errf(e, -1, p, "move it last", "a catcher with States.ALL must be the last one")
		}
		next, ok := v.str(e, "Next", p, true)
		c.ResultPath = v.optPath(e, "ResultPath", p, true)
		if ok {
			c.Next = next
			out = append(out, c)
		}
	}
	return out
}

func (v *validator) wait(n *Node, st *State, path string) {
	count := 0
	if x := n.Get("Seconds"); x != nil {
		count++
		if x.Kind != Number || x.Num < 0 || x.Num != math.Trunc(x.Num) {
			v.errf(x, -1, join(path, "Seconds"), "", "Seconds must be a non-negative integer")
		} else {
			s := x.Num
			st.Seconds = &s
		}
	}
	if x := n.Get("Timestamp"); x != nil {
		count++
		if x.Kind != String || !isTimestamp(x.Str) {
			v.errf(x, -1, join(path, "Timestamp"), "e.g. 2026-03-14T01:59:00Z", "Timestamp must be an RFC 3339 timestamp")
		} else {
			st.Timestamp = x.Str
		}
	}
	if x := n.Get("SecondsPath"); x != nil {
		count++
		st.SecondsPath = v.path(n, "SecondsPath", path, true)
	}
	if x := n.Get("TimestampPath"); x != nil {
		count++
		st.TimestampPath = v.path(n, "TimestampPath", path, true)
	}
	if count != 1 {
		v.errf(n, -1, path, "", "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath")
	}
}

func (v *validator) fail(n *Node, st *State, path string) {
	st.Error, _ = v.str(n, "Error", path, false)
	st.Cause, _ = v.str(n, "Cause", path, false)
	if n.Get("ErrorPath") != nil {
		if n.Get("Error") != nil {
			v.errf(n, keyOff(n, "ErrorPath"), path, "", "a Fail state has Error or ErrorPath, not both")
		}
		st.ErrorPath = v.path(n, "ErrorPath", path, false)
	}
	if n.Get("CausePath") != nil {
		if n.Get("Cause") != nil {
			v.errf(n, keyOff(n, "CausePath"), path, "", "a Fail state has Cause or CausePath, not both")
		}
		st.CausePath = v.path(n, "CausePath", path, false)
	}
}

func (v *validator) mapState(n *Node, st *State, path string) {
	proc := n.Get("ItemProcessor")
	key := "ItemProcessor"
	if proc == nil {
		proc, key = n.Get("Iterator"), "Iterator"
	}
	if proc == nil {
		v.errf(n, -1, path, "", "a Map state needs ItemProcessor")
	} else {
		st.Processor = v.machine(proc, join(path, key), false)
	}
	st.ItemsPath = v.optPath(n, "ItemsPath", path, true)
	if x := n.Get("ItemSelector"); x != nil {
		st.ItemSelector = v.template(x, join(path, "ItemSelector"))
		if n.Get("Parameters") != nil {
			v.errf(x, -1, join(path, "ItemSelector"), "Parameters is the older name of ItemSelector", "a Map state has ItemSelector or Parameters, not both")
		}
	} else if st.Parameters != nil {
		// the pre-2022 name of ItemSelector
		st.ItemSelector, st.Parameters = st.Parameters, nil
	}
	if m, ok := v.posInt(n, "MaxConcurrency", path, 0); ok {
		st.MaxConcurrency = m
	}
	st.MaxConcurrencyPath = v.path(n, "MaxConcurrencyPath", path, true)
}
