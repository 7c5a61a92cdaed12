package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/evcli/evcli/providers"
)

// Action is what a plan does to one function.
type Action string

const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	Delete    Action = "delete"
)

// FieldChange is one changed field of an update, e.g. memory 512 -> 1024.
// Values of secret environment variables never appear: environment changes
// name the keys only.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

func (c FieldChange) String() string {
	if c.From == "" && c.To == "" {
		return c.Field
	}
	return fmt.Sprintf("%s %s -> %s", c.Field, c.From, c.To)
}

// Change is the plan for one function or one project-level resource.
type Change struct {
	// Kind is "" for a function, else the resource's kind ("bus", "table").
	Kind        string        `json:"kind,omitempty"`
	Action      Action        `json:"action"`
	Name        string        `json:"name"`
	CodeChanged bool          `json:"codeChanged"`
	Fields      []FieldChange `json:"fields,omitempty"`
	// Desired is the wanted state (nil for Delete).
	Desired *providers.FunctionDeployment `json:"-"`
}

// PlanOptions tune Plan.
type PlanOptions struct {
	// Prune plans deletes for deployed functions the project no longer has.
	Prune bool
}

// Plan compares the desired functions with the deployed ones. The result is
// in the order of desired, then deletes by name.
func Plan(desired, deployed []providers.FunctionDeployment, o PlanOptions) []Change {
	have := make(map[string]*providers.FunctionDeployment, len(deployed))
	for i := range deployed {
		have[deployed[i].Name] = &deployed[i]
	}
	var plan []Change
	want := map[string]bool{}
	for i := range desired {
		d := &desired[i]
		want[d.Name] = true
		cur, ok := have[d.Name]
		if !ok {
			plan = append(plan, Change{Action: Create, Name: d.Name, CodeChanged: true, Desired: d})
			continue
		}
		fields := diff(cur, d)
		c := Change{Action: Unchanged, Name: d.Name, Desired: d, Fields: fields}
		if cur.PhysicalName != "" && d.PhysicalName != "" && cur.PhysicalName != d.PhysicalName {
			// Deployed under an earlier naming: the apply migrates it.
			w := *d
			w.Replaces = cur.PhysicalName
			c.Desired = &w
			c.Fields = append([]FieldChange{{Field: "rename", From: cur.PhysicalName, To: d.PhysicalName}}, c.Fields...)
		} else if cur.Earlier != "" && cur.Earlier != d.PhysicalName {
			// A migration stopped half way: the earlier function is left.
			w := *d
			w.Replaces = cur.Earlier
			c.Desired = &w
			c.Fields = append([]FieldChange{{Field: "delete earlier " + cur.Earlier}}, c.Fields...)
		}
		if cur.CodeSha256 != d.CodeSha256 {
			c.CodeChanged = true
			c.Fields = append([]FieldChange{{Field: "code changed"}}, c.Fields...)
		}
		if len(c.Fields) > 0 {
			c.Action = Update
		}
		plan = append(plan, c)
	}
	if o.Prune {
		var gone []string
		for name := range have {
			if !want[name] {
				gone = append(gone, name)
			}
		}
		sort.Strings(gone)
		for _, name := range gone {
			plan = append(plan, Change{Action: Delete, Name: name})
		}
	}
	return plan
}

func diff(cur, want *providers.FunctionDeployment) []FieldChange {
	var out []FieldChange
	str := func(field, a, b string) {
		if a != b {
			out = append(out, FieldChange{Field: field, From: a, To: b})
		}
	}
	num := func(field string, a, b int) {
		if a != b {
			out = append(out, FieldChange{Field: field, From: fmt.Sprint(a), To: fmt.Sprint(b)})
		}
	}
	str("runtime", cur.Runtime, want.Runtime)
	str("handler", cur.Handler, want.Handler)
	str("architecture", cur.Architecture, want.Architecture)
	num("memory", cur.MemoryMB, want.MemoryMB)
	num("timeout", cur.TimeoutS, want.TimeoutS)
	num("concurrency", cur.Concurrency, want.Concurrency)
	str("correlation", cur.Correlation, want.Correlation)
	str("role", roleLabel(cur.Role), roleLabel(want.Role))
	if keys := envChanges(envView(cur, cur.SecretHashes != nil), desiredEnvView(want, cur.SecretHashes != nil)); keys != "" {
		out = append(out, FieldChange{Field: "environment " + keys})
	}
	if !sameRules(cur.Rules, want.Rules) {
		out = append(out, FieldChange{Field: "rules", From: fmt.Sprint(len(cur.Rules)), To: fmt.Sprint(len(want.Rules))})
	}
	for _, d := range cur.Drift {
		out = append(out, FieldChange{Field: d})
	}
	return out
}

// roleLabel names the role a function runs with: an ARN from evcli.yaml, or
// the one the driver creates for it.
func roleLabel(arn string) string {
	if arn == "" {
		return "(evcli-managed)"
	}
	return arn
}

// envView is the environment of fd as the plan compares it. When the
// deployed side reports secrets as hashes (hashed: its SecretHashes is
// set), each secret is its hash, never its value; a deployed secret
// without a hash is absent (its value is unknown: deploying sets it), a
// desired one without a hash differs from every hash. Otherwise (a cloud
// that returns the values) it is fd.Env.
func envView(fd *providers.FunctionDeployment, hashed bool) map[string]string {
	if !hashed {
		return fd.Env
	}
	out := make(map[string]string, len(fd.Env))
	for k, v := range fd.Env {
		out[k] = v
	}
	// "\x00" sets a hash apart from every value.
	for _, k := range fd.SecretNames {
		if h := fd.SecretHashes[k]; h != "" {
			out[k] = "\x00hash:" + h
		} else {
			delete(out, k)
		}
	}
	for k, h := range fd.SecretHashes {
		out[k] = "\x00hash:" + h
	}
	return out
}

// desiredEnvView is envView of the desired side: a secret without a hash
// is never equal to a deployed one.
func desiredEnvView(fd *providers.FunctionDeployment, hashed bool) map[string]string {
	out := envView(fd, hashed)
	if !hashed {
		return out
	}
	for _, k := range fd.SecretNames {
		if fd.SecretHashes[k] == "" {
			out[k] = "\x00no hash"
		}
	}
	return out
}

// envChanges names added (+), removed (-) and changed (~) keys, never values.
func envChanges(a, b map[string]string) string {
	var parts []string
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		av, inA := a[k]
		bv, inB := b[k]
		switch {
		case !inA:
			parts = append(parts, "+"+k)
		case !inB:
			parts = append(parts, "-"+k)
		case av != bv:
			parts = append(parts, "~"+k)
		}
	}
	return strings.Join(parts, " ")
}

func sameRules(a, b []providers.RuleSpec) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(r providers.RuleSpec) string {
		return r.ID + "\x00" + r.Bus + "\x00" + canonicalPattern(r.Pattern)
	}
	ka := make([]string, len(a))
	kb := make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

// Label is how the change is named to users: a function by its name, a
// resource by kind and name ("bus shop-bus").
func (c Change) Label() string {
	if c.Kind == "" || c.Kind == "function" {
		return c.Name
	}
	return c.Kind + " " + c.Name
}

// IsFunction reports whether the change is a function's.
func (c Change) IsFunction() bool { return c.Kind == "" || c.Kind == "function" }

// HasChanges reports whether applying plan would change anything.
func HasChanges(plan []Change) bool {
	for _, c := range plan {
		if c.Action != Unchanged {
			return true
		}
	}
	return false
}

// canonicalPattern is a pattern's JSON in one spelling, so that a pattern
// read back from a cloud compares equal to the one evcli wrote whatever
// escapes the writer used (Go's encoder writes ">" as "\u003e"), whatever
// the key order and spacing. Numbers keep their text (json.Number): 1 and
// 1.0 stay different patterns. JSON that does not parse compares as its
// bytes.
func canonicalPattern(p json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(p)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return string(p)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
