package project

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/evcli/evcli/internal/asl"
)

// Saga is the short saga: form of a workflow: steps run in order, each a
// function; when a step fails with one of its catch errors, the
// compensations of the steps that succeeded before it run in reverse order,
// then the failure state ends the execution (the seed's shape:
// ProcessPayment → ReserveInventory → CreateShipment → CompleteOrder, a
// ShipmentError leading to ReleaseInventory → RefundPayment →
// FailOrderState).
type Saga struct {
	Steps   []SagaStep
	Success *SagaState // a last step with no compensation (optional)
	Failure SagaFailure
}

// SagaStep is one step of a saga.
type SagaStep struct {
	Name, Function string
	Compensation   *SagaState
	Catch          []string // error names that trigger compensation; default States.ALL
	Retry          *SagaRetry
}

// SagaState is a named state calling a function.
type SagaState struct{ Name, Function string }

// SagaFailure is the Fail state a failed saga ends in.
type SagaFailure struct{ Name, Error, Cause string }

// SagaRetry is a step's Retry.
type SagaRetry struct {
	Errors                       []string
	Interval, Attempts, MaxDelay int
	Backoff                      float64
	Jitter                       bool
}

func (d *decoder) workflows(e entry, p *Project) {
	var fnNames []string
	for _, f := range p.Functions {
		fnNames = append(fnNames, f.Name)
	}
	for _, we := range d.entries(e.val, "workflows", "a mapping of workflow names to workflows") {
		path := "workflows." + we.name
		if !reFunctionName().MatchString(we.name) {
			d.add(we.key, path, fmt.Sprintf("%q is not a valid workflow name", we.name), "use 1 to 64 letters, digits, '-' or '_'")
		}
		w := Workflow{Name: we.name, Type: "STANDARD", Pos: Pos{Line: we.key.Line, Col: we.key.Column}}
		if isNull(we.val) {
			d.add(we.key, path, "the workflow has no settings", "give it definition: FILE.asl.json or saga:")
			continue
		}
		m := d.fields(we.val, path, "a mapping (definition:, saga:, type:, ...)", workflowKeys)
		if deref(we.val).Kind != yaml.MappingNode {
			continue
		}
		if t, ok := m["type"]; ok && !isNull(t.val) {
			w.Type, _ = d.enum(t, path+".type", "workflow type", WorkflowTypes)
		}
		if c, ok := m["correlation"]; ok && !isNull(c.val) {
			if s, ok := d.str(c, path+".correlation"); ok {
				if _, err := asl.ParsePath(s); err != nil || !strings.HasPrefix(s, "$.") {
					d.add(c.val, path+".correlation", fmt.Sprintf("%q is not a JSON path into the input", s), "e.g. correlation: $.orderId")
				} else {
					w.Correlation = s
				}
			}
		}
		if ev, ok := m["events"]; ok && !isNull(ev.val) {
			w.Events = d.events(ev, path+".events")
		}
		def, hasDef := m["definition"]
		saga, hasSaga := m["saga"]
		switch {
		case hasDef && hasSaga:
			d.add(saga.key, path, "a workflow has definition: or saga:, not both", "")
		case hasDef:
			if s, ok := d.str(def, path+".definition"); ok {
				w.DefinitionFile = filepath.Clean(s)
				w.Definition = d.definitionFile(def, path+".definition", s, fnNames)
			}
		case hasSaga:
			if sg, ok := d.saga(saga, path+".saga", fnNames); ok {
				w.Definition = sg.ASL()
				if _, diags := asl.Parse(w.Definition, asl.Options{Functions: fnNames}); len(diags) > 0 {
					d.add(saga.val, path+".saga", "the compiled saga is not valid ASL: "+diags[0].Msg, "report this as a bug in evcli")
					w.Definition = nil
				}
			}
		default:
			d.add(we.key, path, "missing definition: or saga:", "definition: names an Amazon States Language file; saga: lists steps with their compensations")
		}
		p.Workflows = append(p.Workflows, w)
	}
}

// definitionFile reads and validates an ASL file; its problems are
// reported at their line and column in that file.
func (d *decoder) definitionFile(e entry, path, name string, fns []string) json.RawMessage {
	full := name
	if !filepath.IsAbs(full) {
		full = filepath.Join(d.dir, name)
	}
	src, err := os.ReadFile(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.add(e.val, path, fmt.Sprintf("file %q does not exist", name), "definition is an Amazon States Language file, relative to "+d.dirName())
		return nil
	case err != nil:
		d.add(e.val, path, fmt.Sprintf("cannot read %q: %v", name, errors.Unwrap(err)), "")
		return nil
	}
	_, diags := asl.Parse(src, asl.Options{Functions: fns})
	if len(diags) == 0 {
		return json.RawMessage(src)
	}
	for _, pd := range asl.Place(full, src, diags).Diags {
		d.diags = append(d.diags, Diagnostic{File: full, Line: pd.Line, Col: pd.Col, Path: pd.Path, Msg: pd.Msg, Hint: pd.Hint})
	}
	return nil
}

func (d *decoder) saga(e entry, path string, fns []string) (*Saga, bool) {
	m := d.fields(e.val, path, "a mapping (steps:, success:, failure:)", sagaKeys)
	if deref(e.val) == nil || deref(e.val).Kind != yaml.MappingNode {
		return nil, false
	}
	before := len(d.diags)
	sg := &Saga{Failure: SagaFailure{Name: "Failed", Error: "SagaFailed", Cause: "a step failed; the steps before it were compensated"}}
	names := map[string]bool{}
	name := func(n *yaml.Node, p, s string) {
		if names[s] {
			d.add(n, p, fmt.Sprintf("state name %q is used twice", s), "every step, compensation, success and failure needs a name of its own")
		}
		names[s] = true
	}
	function := func(en entry, p string) string {
		s, ok := d.str(en, p)
		if !ok {
			return ""
		}
		if !contains(fns, s) {
			hint := "the project's functions are " + quoteList(fns)
			if c := suggest(s, fns); c != "" {
				hint = fmt.Sprintf("did you mean %q?", c)
			}
			d.add(en.val, p, fmt.Sprintf("no function %q in the project", s), hint)
		}
		return s
	}
	state := func(en entry, p string) *SagaState {
		if n := deref(en.val); n != nil && n.Kind == yaml.ScalarNode {
			fn := function(en, p)
			st := &SagaState{Name: exported(fn), Function: fn}
			return st
		}
		sm := d.fields(en.val, p, "a function name, or a mapping (name:, function:)", sagaCompKeys)
		st := &SagaState{}
		if f, ok := sm["function"]; ok {
			st.Function = function(f, p+".function")
		} else {
			d.add(en.val, p+".function", "missing", "")
		}
		st.Name = exported(st.Function)
		if nm, ok := sm["name"]; ok {
			st.Name, _ = d.str(nm, p+".name")
		}
		return st
	}
	steps, ok := m["steps"]
	if !ok || deref(steps.val) == nil || deref(steps.val).Kind != yaml.SequenceNode || len(deref(steps.val).Content) == 0 {
		at := e.val
		if ok {
			at = steps.val
		}
		d.add(at, path+".steps", "expected a non-empty list of steps", "steps:\n  - {name: ProcessPayment, function: payment, compensation: {name: RefundPayment, function: refund}}")
		return nil, false
	}
	for i, item := range deref(steps.val).Content {
		p := fmt.Sprintf("%s.steps[%d]", path, i)
		sm := d.fields(item, p, "a mapping (name:, function:, compensation:, catch:, retry:)", sagaStepKeys)
		st := SagaStep{}
		if f, ok := sm["function"]; ok {
			st.Function = function(f, p+".function")
		} else {
			d.add(item, p+".function", "missing", "the function this step calls")
		}
		st.Name = exported(st.Function)
		if nm, ok := sm["name"]; ok {
			st.Name, _ = d.str(nm, p+".name")
		}
		name(item, p+".name", st.Name)
		if c, ok := sm["compensation"]; ok && !isNull(c.val) {
			st.Compensation = state(c, p+".compensation")
			name(c.val, p+".compensation.name", st.Compensation.Name)
		}
		if c, ok := sm["catch"]; ok && !isNull(c.val) {
			st.Catch = d.stringList(c, p+".catch")
		}
		if r, ok := sm["retry"]; ok && !isNull(r.val) {
			st.Retry = d.sagaRetry(r, p+".retry")
		}
		sg.Steps = append(sg.Steps, st)
	}
	if s, ok := m["success"]; ok && !isNull(s.val) {
		sg.Success = state(s, path+".success")
		if n := deref(s.val); n.Kind == yaml.ScalarNode {
			sg.Success.Name = exported(sg.Success.Function)
		}
		name(s.val, path+".success.name", sg.Success.Name)
	}
	if f, ok := m["failure"]; ok && !isNull(f.val) {
		fm := d.fields(f.val, path+".failure", "a mapping (name:, error:, cause:)", sagaFailureKeys)
		for k, dst := range map[string]*string{"name": &sg.Failure.Name, "error": &sg.Failure.Error, "cause": &sg.Failure.Cause} {
			if x, ok := fm[k]; ok {
				*dst, _ = d.str(x, path+".failure."+k)
			}
		}
	}
	name(e.val, path+".failure.name", sg.Failure.Name)
	return sg, len(d.diags) == before
}

func (d *decoder) stringList(e entry, path string) []string {
	n := deref(e.val)
	if n.Kind == yaml.ScalarNode {
		s, ok := d.str(e, path)
		if ok {
			return []string{s}
		}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.add(e.val, path, "expected a list of error names, got "+describe(e.val), "e.g. [PaymentError, States.Timeout]")
		return nil
	}
	var out []string
	for i, item := range n.Content {
		if s, ok := d.str(entry{val: item}, fmt.Sprintf("%s[%d]", path, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) sagaRetry(e entry, path string) *SagaRetry {
	m := d.fields(e.val, path, "a mapping (errors:, interval:, attempts:, backoff:, maxDelay:, jitter:)", sagaRetryKeys)
	r := &SagaRetry{Errors: []string{"States.TaskFailed"}, Interval: 1, Attempts: 3, Backoff: 2}
	if x, ok := m["errors"]; ok {
		r.Errors = d.stringList(x, path+".errors")
	}
	if x, ok := m["interval"]; ok {
		r.Interval, _ = d.integer(x, path+".interval", 1, 99999999, "seconds before the first retry")
	}
	if x, ok := m["attempts"]; ok {
		r.Attempts, _ = d.integer(x, path+".attempts", 0, 99999999, "how many retries")
	}
	if x, ok := m["maxDelay"]; ok {
		r.MaxDelay, _ = d.integer(x, path+".maxDelay", 1, 99999999, "the longest wait between retries, in seconds")
	}
	if x, ok := m["backoff"]; ok {
		n := deref(x.val)
		var f float64
		if n == nil || n.Kind != yaml.ScalarNode || n.Decode(&f) != nil || f < 1 {
			d.add(x.val, path+".backoff", "expected a number of at least 1.0, got "+describe(x.val), "each wait is the previous one times backoff")
		} else {
			r.Backoff = f
		}
	}
	if x, ok := m["jitter"]; ok {
		n := deref(x.val)
		if n == nil || n.Kind != yaml.ScalarNode || n.Decode(&r.Jitter) != nil {
			d.add(x.val, path+".jitter", "expected true or false, got "+describe(x.val), "")
		}
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// exported turns a function name into a state name: payment ->
// Payment, create-shipment -> CreateShipment.
func exported(fn string) string {
	var b strings.Builder
	up := true
	for _, r := range fn {
		if r == '-' || r == '_' {
			up = true
			continue
		}
		if up {
			b.WriteString(strings.ToUpper(string(r)))
			up = false
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ASL compiles the saga into Amazon States Language, states in the order
// they run, Tasks naming functions as ${function:NAME}. A step's result
// goes to $.results.<step>, a compensation's to $.compensations.<name>, a
// caught error to $.error, so every state sees the original input.
func (s *Saga) ASL() json.RawMessage {
	task := func(fn string) obj { return obj{{"Type", "Task"}, {"Resource", "${function:" + fn + "}"}} }
	states := obj{}
	// compensation chain: the compensation of step k leads to that of the
	// nearest earlier step that has one, the last to the failure state
	entry := make([]string, len(s.Steps)) // where a failure of step i enters the chain
	prev := s.Failure.Name
	for i, st := range s.Steps {
		entry[i] = prev
		if st.Compensation != nil {
			prev = st.Compensation.Name
		}
	}
	for i, st := range s.Steps {
		t := task(st.Function)
		t = append(t, kv{"ResultPath", "$.results." + st.Name})
		if r := st.Retry; r != nil {
			ro := obj{{"ErrorEquals", r.Errors}, {"IntervalSeconds", r.Interval}, {"MaxAttempts", r.Attempts}, {"BackoffRate", r.Backoff}}
			if r.MaxDelay > 0 {
				ro = append(ro, kv{"MaxDelaySeconds", r.MaxDelay})
			}
			if r.Jitter {
				ro = append(ro, kv{"JitterStrategy", "FULL"})
			}
			t = append(t, kv{"Retry", []obj{ro}})
		}
		catch := st.Catch
		if len(catch) == 0 {
			catch = []string{"States.ALL"}
		}
		t = append(t, kv{"Catch", []obj{{{"ErrorEquals", catch}, {"ResultPath", "$.error"}, {"Next", entry[i]}}}})
		switch {
		case i+1 < len(s.Steps):
			t = append(t, kv{"Next", s.Steps[i+1].Name})
		case s.Success != nil:
			t = append(t, kv{"Next", s.Success.Name})
		default:
			t = append(t, kv{"End", true})
		}
		states = append(states, kv{st.Name, t})
	}
	if s.Success != nil {
		states = append(states, kv{s.Success.Name, append(task(s.Success.Function), kv{"End", true})})
	}
	for i := len(s.Steps) - 1; i >= 0; i-- {
		c := s.Steps[i].Compensation
		if c == nil {
			continue
		}
		next := s.Failure.Name
		for j := i - 1; j >= 0; j-- {
			if s.Steps[j].Compensation != nil {
				next = s.Steps[j].Compensation.Name
				break
			}
		}
		states = append(states, kv{c.Name, append(task(c.Function), kv{"ResultPath", "$.compensations." + c.Name}, kv{"Next", next})})
	}
	states = append(states, kv{s.Failure.Name, obj{{"Type", "Fail"}, {"Error", s.Failure.Error}, {"Cause", s.Failure.Cause}}})
	def := obj{{"Comment", "compiled by evcli from the saga: form"}, {"StartAt", s.Steps[0].Name}, {"States", states}}
	b, _ := json.MarshalIndent(def, "", "  ")
	return b
}

// obj is a JSON object that keeps its keys' order.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(x.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(x.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
