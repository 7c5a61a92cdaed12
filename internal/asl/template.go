package asl

import (
	"fmt"
	"strings"
)

// Template is a compiled payload template (Parameters, ResultSelector,
// ItemSelector): a JSON value whose object keys ending in ".$" take their
// value from a path or an intrinsic function call.
type Template struct {
	lit    any
	isLit  bool
	fields []tfield
	elems  []*Template
	path   *Path
	call   *Call
}

type tfield struct {
	key string
	t   *Template
}

func (v *validator) template(n *Node, path string) *Template {
	switch n.Kind {
	case Object:
		t := &Template{fields: []tfield{}}
		for _, m := range n.Members {
			p := join(path, m.Key)
			if !strings.HasSuffix(m.Key, ".$") {
				t.fields = append(t.fields, tfield{m.Key, v.template(m.Val, p)})
				continue
			}
			key := strings.TrimSuffix(m.Key, ".$")
			if m.Val.Kind != String {
				v.errf(m.Val, -1, p, "", "a field ending in .$ takes a JSONPath or an intrinsic function, not %s", m.Val.Kind)
				continue
			}
			s := m.Val.Str
			switch {
			case strings.HasPrefix(s, "$"):
				if p := v.pathStr(m.Val, p, false); p != nil {
					t.fields = append(t.fields, tfield{key, &Template{path: p}})
				}
			case strings.HasPrefix(s, "States."):
				c, err := ParseCall(s)
				if err != nil {
					v.errf(m.Val, -1, p, "", "%v", err)
					continue
				}
				t.fields = append(t.fields, tfield{key, &Template{call: c}})
			default:
				v.errf(m.Val, -1, p, "start it with $ (a path) or States. (an intrinsic function), or drop .$ from the key", "%q is neither a JSONPath nor an intrinsic function", s)
			}
		}
		return t
	case Array:
		t := &Template{elems: []*Template{}}
		for i, e := range n.Elems {
			t.elems = append(t.elems, v.template(e, fmt.Sprintf("%s[%d]", path, i)))
		}
		return t
	}
	return &Template{lit: n.Value(), isLit: true}
}

// Eval builds the template's value from input and the context object.
func (t *Template) Eval(env *Env) (any, error) {
	switch {
	case t.isLit:
		return t.lit, nil
	case t.path != nil:
		return t.path.Select(env.Input, env.Context)
	case t.call != nil:
		return t.call.Eval(env)
	case t.elems != nil:
		out := make([]any, len(t.elems))
		for i, e := range t.elems {
			x, err := e.Eval(env)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	out := make(map[string]any, len(t.fields))
	for _, f := range t.fields {
		x, err := f.t.Eval(env)
		if err != nil {
			return nil, err
		}
		out[f.key] = x
	}
	return out, nil
}
