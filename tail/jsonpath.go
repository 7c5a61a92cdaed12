package tail

import (
	"fmt"
	"strconv"
	"strings"
)

// PathError is an invalid correlation path of a function.
type PathError struct {
	Function string
	Path     string
	Err      error
}

func (e *PathError) Error() string {
	return fmt.Sprintf("functions.%s.correlation: %q: %v", e.Function, e.Path, e.Err)
}

func (e *PathError) Unwrap() error { return e.Err }

// jsonPath is a compiled subset of JSONPath: member names and array
// indexes, e.g. $.detail.correlationId, headers['x-correlation-id'],
// records[0].id.
type jsonPath []pathElem

type pathElem struct {
	key   string
	index int // -1 for a key
}

// parseJSONPath compiles s. Errors give the 1-based column and what would
// be right.
func parseJSONPath(s string) (jsonPath, error) {
	i := 0
	if strings.HasPrefix(s, "$") {
		i = 1
		if i < len(s) && s[i] == '.' {
			i++
		} else if i < len(s) && s[i] != '[' {
			return nil, fmt.Errorf("column %d: expected '.' or '[' after '$'", i+1)
		}
	}
	var p jsonPath
	first := true
	for i < len(s) {
		switch {
		case s[i] == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("column %d: '[' is not closed: write [0] or ['name']", i+1)
			}
			inner := s[i+1 : i+end]
			switch {
			case len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0]:
				p = append(p, pathElem{key: inner[1 : len(inner)-1], index: -1})
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("column %d: %q is neither an index nor a quoted name: write [0] or ['%s']", i+2, inner, inner)
				}
				p = append(p, pathElem{index: n})
			}
			i += end + 1
			if i < len(s) && s[i] == '.' {
				i++
				if i == len(s) {
					return nil, fmt.Errorf("column %d: the path ends with '.': name a field after it", i)
				}
			}
		default:
			if !first && s[i] == '.' {
				return nil, fmt.Errorf("column %d: empty name between dots", i+1)
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				if s[j] == ']' {
					return nil, fmt.Errorf("column %d: ']' without '[': write ['name'] for a name with brackets", j+1)
				}
				j++
			}
			if j == i {
				return nil, fmt.Errorf("column %d: expected a field name", i+1)
			}
			p = append(p, pathElem{key: s[i:j], index: -1})
			i = j
			if i < len(s) && s[i] == '.' {
				i++
				if i == len(s) {
					return nil, fmt.Errorf("column %d: the path ends with '.': name a field after it", i)
				}
			}
		}
		first = false
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("column 1: the path is empty: write e.g. detail.correlationId")
	}
	return p, nil
}

func (p jsonPath) lookup(v any) (any, bool) {
	for _, e := range p {
		if e.index >= 0 {
			a, ok := v.([]any)
			if !ok || e.index >= len(a) {
				return nil, false
			}
			v = a[e.index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[e.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// String formats the path in canonical form ($.a.b[0]['x-y']).
func (p jsonPath) String() string {
	var b strings.Builder
	b.WriteString("$")
	for _, e := range p {
		switch {
		case e.index >= 0:
			fmt.Fprintf(&b, "[%d]", e.index)
		case e.key == "" || strings.ContainsAny(e.key, ".[]'\"$"):
			b.WriteString("[")
			q := byte('\'')
			if strings.ContainsRune(e.key, '\'') {
				q = '"'
			}
			b.WriteByte(q)
			b.WriteString(e.key)
			b.WriteByte(q)
			b.WriteString("]")
		default:
			b.WriteString(".")
			b.WriteString(e.key)
		}
	}
	return b.String()
}
