package project

import (
	"bytes"
	"encoding/json"
	"strings"

	"gopkg.in/yaml.v3"
)

// MemberPath is the key of EventSource.Members for the pattern member at
// keys (from the top; lists are passed through): each key escaped as in a
// JSON pointer (~ as ~0, / as ~1), joined with /.
func MemberPath(keys ...string) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('/')
		}
		k = strings.ReplaceAll(k, "~", "~0")
		b.WriteString(strings.ReplaceAll(k, "/", "~1"))
	}
	return b.String()
}

// PosOf is where the member at keys stands in the file: the deepest of
// keys' prefixes that Members knows, else the pattern's own position.
func (es EventSource) PosOf(keys ...string) Pos {
	for n := len(keys); n > 0; n-- {
		if p, ok := es.Members[MemberPath(keys[:n]...)]; ok {
			return p
		}
	}
	return es.Pos
}

// patternMembers finds where the keys of pattern node n (a YAML mapping,
// or a string of JSON) stand in the file.
func (d *decoder) patternMembers(n *yaml.Node) map[string]Pos {
	n = deref(n)
	if n == nil {
		return nil
	}
	out := map[string]Pos{}
	switch n.Kind {
	case yaml.MappingNode:
		yamlMembers(n, nil, out, 0)
	case yaml.ScalarNode:
		d.jsonMembers(n, out)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// yamlMembers records the keys of mapping or sequence n under prefix.
func yamlMembers(n *yaml.Node, prefix []string, out map[string]Pos, depth int) {
	n = deref(n)
	if n == nil || depth > 64 {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			keys := append(append([]string(nil), prefix...), k.Value)
			if p := MemberPath(keys...); out[p] == (Pos{}) {
				out[p] = Pos{Line: k.Line, Col: k.Column}
			}
			yamlMembers(n.Content[i+1], keys, out, depth+1)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			yamlMembers(item, prefix, out, depth+1)
		}
	}
}

// jsonMembers records the keys of the JSON in string scalar n, where the
// file's text maps back to the value (inScalar).
func (d *decoder) jsonMembers(n *yaml.Node, out map[string]Pos) {
	src := []byte(n.Value)
	dec := json.NewDecoder(bytes.NewReader(src))
	type frame struct {
		object  bool
		wantKey bool
		key     string
	}
	var stack []frame
	path := func() []string {
		var keys []string
		for _, f := range stack {
			if f.object && f.key != "" {
				keys = append(keys, f.key)
			}
		}
		return keys
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
				if top > 0 && stack[top-1].object {
					stack[top-1].wantKey = true
				}
			}
			continue
		case string:
			if top >= 0 && stack[top].object && stack[top].wantKey {
				stack[top].key, stack[top].wantKey = t, false
				// The key's opening quote: skip the separator before it.
				off := int(start)
				for off < len(src) && src[off] != '"' {
					off++
				}
				l, c := offsetToLineCol(src, off)
				if fl, fc, ok := d.inScalar(n, l, c); ok {
					if p := MemberPath(path()...); out[p] == (Pos{}) {
						out[p] = Pos{Line: fl, Col: fc}
					}
				}
				continue
			}
		}
		// A value: the enclosing object wants its next key.
		if top >= 0 && stack[top].object {
			stack[top].wantKey = true
		}
	}
}
