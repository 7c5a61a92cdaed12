package gcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Rules on Google Cloud. Each rule of a function is a Pub/Sub push
// subscription on the bus's topic, whose filter Pub/Sub enforces over the
// message attributes: the envelope's source (ce-source), detail-type
// (ce-type) and id (ce-id), with exact values (=), prefixes (hasPrefix),
// anything-but of values or a prefix (NOT), exists (:), joined with
// AND/OR. Everything else — the detail (the message data, which filters
// cannot read), numeric ranges, suffixes, wildcards, equals-ignore-case,
// $or — only evcli's in-function guard can enforce: the function's
// entrypoint matches the whole pattern with package filter and acknowledges
// what does not match without running the handler. The filter is then a
// necessary condition of the pattern (it never drops what the pattern
// matches) and the guard makes it exact (nothing the pattern would not
// match is handled).

// attrOf maps the envelope members a filter can read to their attributes.
var attrOf = map[string]string{"source": "ce-source", "detail-type": "ce-type", "id": "ce-id"}

// maxFilterBytes is Pub/Sub's limit on a subscription filter.
const maxFilterBytes = 256

// Translation is what Google Cloud enforces of one pattern.
type Translation struct {
	// Filter is the Pub/Sub subscription filter ("" = every message).
	Filter string
	// Guarded names the parts of the pattern only the in-function guard
	// enforces, as "field: operator" ("detail.amount: numeric").
	Guarded []string
	// Parts are the same parts, structured: the member's keys and the
	// operator (or why the filter cannot say it).
	Parts []GuardedPart
}

// GuardedPart is one part of a pattern Pub/Sub filters cannot enforce.
type GuardedPart struct {
	// Path is the member's keys from the top (["detail", "amount"]).
	Path []string
	// Operator is the operator ("numeric", "suffix", "exact", ...), or,
	// when the operator itself could be said, why it cannot here.
	Operator string
	// IsOperator says Operator names an operator key of the pattern
	// (so its place is Path + Operator).
	IsOperator bool
}

func (g GuardedPart) String() string { return strings.Join(g.Path, ".") + ": " + g.Operator }

func (t *Translation) guard(parts ...GuardedPart) {
	for _, p := range parts {
		t.Parts = append(t.Parts, p)
		t.Guarded = append(t.Guarded, p.String())
	}
}

// NeedsGuard reports whether the cloud alone would deliver events the
// pattern does not match.
func (t Translation) NeedsGuard() bool { return len(t.Guarded) > 0 }

// Translate turns an EventBridge pattern into a Pub/Sub filter and the
// parts left to the guard.
func Translate(pattern []byte) (Translation, error) {
	dec := json.NewDecoder(bytes.NewReader(pattern))
	dec.UseNumber()
	var pat map[string]any
	if err := dec.Decode(&pat); err != nil {
		return Translation{}, fmt.Errorf("the pattern is not a JSON object: %v", err)
	}
	var t Translation
	var terms []string
	keys := make([]string, 0, len(pat))
	for k := range pat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		attr, ok := attrOf[k]
		if !ok {
			t.guard(guardedParts([]string{k}, pat[k])...)
			continue
		}
		term, why, isOp := fieldFilter(attr, pat[k])
		if why != "" {
			t.guard(GuardedPart{Path: []string{k}, Operator: why, IsOperator: isOp})
			continue
		}
		terms = append(terms, term)
	}
	t.Filter = strings.Join(terms, " AND ")
	if len(t.Filter) > maxFilterBytes {
		t.Guarded = append(t.Guarded, fmt.Sprintf("the whole pattern: its filter would be %d bytes, over Pub/Sub's %d", len(t.Filter), maxFilterBytes))
		t.Parts = append(t.Parts, GuardedPart{Operator: fmt.Sprintf("its filter would be %d bytes, over Pub/Sub's %d", len(t.Filter), maxFilterBytes)})
		t.Filter = ""
	}
	return t, nil
}

// Describe says, in lines for people, what Google Cloud enforces of
// pattern: the Pub/Sub subscription filter, and the parts only the
// in-function guard enforces (evcli filter test --target gcp).
func Describe(pattern []byte) ([]string, error) {
	tr, err := Translate(pattern)
	if err != nil {
		return nil, err
	}
	f := tr.Filter
	if f == "" {
		f = "(none: every message of the topic)"
	}
	out := []string{"Pub/Sub subscription filter: " + f}
	if !tr.NeedsGuard() {
		return append(out, "the filter enforces the whole pattern"), nil
	}
	for _, g := range tr.Guarded {
		out = append(out, "only the in-function guard enforces "+g)
	}
	return append(out, "deploy refuses this pattern unless gcp.guard: in-function (Node.js functions); with it, what matches is what package filter matches"), nil
}

// guardedParts names the operators of a pattern member the filter cannot
// read (the detail and the envelope members without an attribute).
func guardedParts(path []string, v any) []GuardedPart {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []GuardedPart
		for _, k := range keys {
			out = append(out, guardedParts(append(slices.Clone(path), k), v[k])...)
		}
		return out
	case []any:
		ops := map[string]bool{}
		for _, m := range v {
			if o, ok := m.(map[string]any); ok {
				for op := range o {
					ops[op] = true
				}
			} else {
				ops["exact"] = true
			}
		}
		names := make([]string, 0, len(ops))
		for op := range ops {
			names = append(names, op)
		}
		sort.Strings(names)
		out := make([]GuardedPart, 0, len(names))
		for _, op := range names {
			out = append(out, GuardedPart{Path: path, Operator: op, IsOperator: op != "exact"})
		}
		return out
	}
	return []GuardedPart{{Path: path, Operator: "not a list"}}
}

// fieldFilter is the filter of one envelope member's matchers (any of
// them), or why the filter cannot say it.
func fieldFilter(attr string, v any) (string, string, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return "", "not a non-empty list", false
	}
	key := "attributes." + attr
	var alts []string
	for _, m := range list {
		switch m := m.(type) {
		case string:
			alts = append(alts, key+" = "+quote(m))
		case map[string]any:
			if len(m) != 1 {
				return "", "a matcher with several operators", false
			}
			for op, arg := range m {
				term, why := operatorFilter(attr, op, arg)
				if why != "" {
					return "", why, why == op
				}
				alts = append(alts, term)
			}
		default:
			return "", "a non-string value (the attribute is a string)", false
		}
	}
	if len(alts) == 1 {
		return alts[0], "", false
	}
	return "(" + strings.Join(alts, " OR ") + ")", "", false
}

func operatorFilter(attr, op string, arg any) (string, string) {
	key := "attributes." + attr
	switch op {
	case "prefix":
		if s, ok := arg.(string); ok {
			return "hasPrefix(" + key + ", " + quote(s) + ")", ""
		}
		return "", "prefix (with a non-string operand)"
	case "exists":
		if b, ok := arg.(bool); ok {
			if b {
				return "attributes:" + attr, ""
			}
			return "NOT attributes:" + attr, ""
		}
		return "", "exists (with a non-boolean operand)"
	case "anything-but":
		switch a := arg.(type) {
		case string:
			return "NOT " + key + " = " + quote(a), ""
		case []any:
			var parts []string
			for _, x := range a {
				s, ok := x.(string)
				if !ok {
					return "", "anything-but (of non-string values)"
				}
				parts = append(parts, "NOT "+key+" = "+quote(s))
			}
			if len(parts) == 1 {
				return parts[0], ""
			}
			return "(" + strings.Join(parts, " AND ") + ")", ""
		case map[string]any:
			if p, ok := a["prefix"].(string); ok && len(a) == 1 {
				return "NOT hasPrefix(" + key + ", " + quote(p) + ")", ""
			}
			return "", "anything-but (of an operator other than prefix)"
		}
		return "", "anything-but (of a non-string value)"
	}
	return "", op
}

// quote is s as a filter string literal.
func quote(s string) string { return strconv.Quote(s) }
