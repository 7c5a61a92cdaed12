package bus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/evcli/evcli/providers/local/store"
)

// SimpleMatcher is the built-in matcher: the subset of EventBridge patterns
// made of exact values (strings, numbers, booleans, null), {"prefix": "..."}
// and {"exists": true|false}, on top-level and nested fields. Within a
// field's list any value may match; all fields of a pattern must match; an
// event field that is an array matches when any element does. It is the
// default until the full engine (package filter) is plugged in through
// Options.NewMatcher.
type SimpleMatcher struct {
	rules []simpleRule
}

type simpleRule struct {
	id   string
	root *patNode
}

// patNode is a pattern object: each field is either a nested object or a
// list of leaf conditions.
type patNode struct {
	fields []patField
}

type patField struct {
	key    string
	sub    *patNode
	leaves []leaf
}

type leafKind int

const (
	leafExact leafKind = iota
	leafPrefix
	leafExists
)

type leaf struct {
	kind   leafKind
	value  any // string, float64, bool or nil for exact
	prefix string
	exists bool
}

// NewSimpleMatcher compiles rules; an unsupported or malformed pattern is an
// error naming the rule and the JSON path in the pattern.
func NewSimpleMatcher(rules []store.Rule) (*SimpleMatcher, error) {
	m := &SimpleMatcher{}
	for _, r := range rules {
		root, err := parseSimplePattern(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.ID, err)
		}
		m.rules = append(m.rules, simpleRule{id: r.ID, root: root})
	}
	return m, nil
}

// parseSimplePattern parses one pattern for SimpleMatcher.
func parseSimplePattern(p []byte) (*patNode, error) {
	v, err := decodeJSON(p)
	if err != nil {
		return nil, fmt.Errorf("pattern: not valid JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("pattern: must be a JSON object, like {\"source\": [\"my.app\"]}")
	}
	return compileNode("pattern", obj)
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func compileNode(path string, obj map[string]any) (*patNode, error) {
	n := &patNode{}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := path + "." + k
		switch v := obj[k].(type) {
		case map[string]any:
			sub, err := compileNode(p, v)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, patField{key: k, sub: sub})
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("%s: empty list matches nothing; list at least one value", p)
			}
			f := patField{key: k}
			for i, e := range v {
				l, err := compileLeaf(fmt.Sprintf("%s[%d]", p, i), e)
				if err != nil {
					return nil, err
				}
				f.leaves = append(f.leaves, l)
			}
			n.fields = append(n.fields, f)
		default:
			return nil, fmt.Errorf("%s: must be a list of values (like [%s]) or a nested object", p, jsonText(v))
		}
	}
	return n, nil
}

func compileLeaf(path string, e any) (leaf, error) {
	switch v := e.(type) {
	case string, bool, nil:
		return leaf{kind: leafExact, value: v}, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return leaf{}, fmt.Errorf("%s: number %s is out of range", path, v)
		}
		return leaf{kind: leafExact, value: f}, nil
	case map[string]any:
		if len(v) != 1 {
			return leaf{}, fmt.Errorf("%s: an operator object has exactly one key, like {\"prefix\": \"ord\"}", path)
		}
		for op, arg := range v {
			switch op {
			case "prefix":
				s, ok := arg.(string)
				if !ok {
					return leaf{}, fmt.Errorf("%s.prefix: must be a string", path)
				}
				return leaf{kind: leafPrefix, prefix: s}, nil
			case "exists":
				b, ok := arg.(bool)
				if !ok {
					return leaf{}, fmt.Errorf("%s.exists: must be true or false", path)
				}
				return leaf{kind: leafExists, exists: b}, nil
			default:
				return leaf{}, fmt.Errorf("%s: operator %q is not supported by the built-in matcher (it knows exact values, \"prefix\" and \"exists\")", path, op)
			}
		}
	}
	return leaf{}, fmt.Errorf("%s: nested lists are not allowed in a pattern", path)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Match returns the ids of the rules matching event, in rule order.
func (m *SimpleMatcher) Match(event []byte) ([]string, error) {
	v, err := decodeJSON(event)
	if err != nil {
		return nil, fmt.Errorf("event: not valid JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("event: must be a JSON object")
	}
	var ids []string
	for _, r := range m.rules {
		if r.root.match(obj) {
			ids = append(ids, r.id)
		}
	}
	return ids, nil
}

func (n *patNode) match(obj map[string]any) bool {
	for _, f := range n.fields {
		v, present := obj[f.key]
		if f.sub != nil {
			if !present || !matchSub(f.sub, v) {
				return false
			}
			continue
		}
		if !matchLeaves(f.leaves, v, present) {
			return false
		}
	}
	return true
}

func matchSub(n *patNode, v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return n.match(x)
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok && n.match(m) {
				return true
			}
		}
	}
	return false
}

func matchLeaves(ls []leaf, v any, present bool) bool {
	if arr, ok := v.([]any); ok && present {
		for _, l := range ls {
			if l.kind == leafExists {
				if l.exists {
					return true
				}
				continue
			}
			for _, e := range arr {
				if l.matchValue(e) {
					return true
				}
			}
		}
		return false
	}
	for _, l := range ls {
		if l.kind == leafExists {
			_, isObj := v.(map[string]any)
			if l.exists == (present && !isObj) {
				return true
			}
			continue
		}
		if present && l.matchValue(v) {
			return true
		}
	}
	return false
}

func (l leaf) matchValue(v any) bool {
	switch l.kind {
	case leafPrefix:
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, l.prefix)
	case leafExact:
		switch want := l.value.(type) {
		case nil:
			return v == nil
		case string:
			s, ok := v.(string)
			return ok && s == want
		case bool:
			b, ok := v.(bool)
			return ok && b == want
		case float64:
			n, ok := v.(json.Number)
			if !ok {
				return false
			}
			f, err := strconv.ParseFloat(string(n), 64)
			return err == nil && f == want
		}
	}
	return false
}
