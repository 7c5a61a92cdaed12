package asl

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Kind is the JSON type of a Node.
type Kind int

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// Node is one JSON value of a definition with the byte offset where it
// starts, so that every diagnostic can name its line and column. Object
// members keep their order and their keys' offsets.
type Node struct {
	Kind    Kind
	Off     int
	Bool    bool
	Num     float64
	Str     string
	Elems   []*Node
	Members []Member
}

// Member is one key of an object.
type Member struct {
	Key    string
	KeyOff int
	Val    *Node
}

// Get returns the member named key, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for _, m := range n.Members {
		if m.Key == key {
			return m.Val
		}
	}
	return nil
}

// Value converts the node to the plain Go value encoding/json would give
// (map[string]any, []any, float64, string, bool, nil).
func (n *Node) Value() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case Bool:
		return n.Bool
	case Number:
		return n.Num
	case String:
		return n.Str
	case Array:
		out := make([]any, len(n.Elems))
		for i, e := range n.Elems {
			out[i] = e.Value()
		}
		return out
	case Object:
		out := make(map[string]any, len(n.Members))
		for _, m := range n.Members {
			out[m.Key] = m.Val.Value()
		}
		return out
	}
	return nil
}

// SyntaxError is malformed JSON at a byte offset.
type SyntaxError struct {
	Off int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Off, e.Msg) }

// ParseJSON parses src into a Node tree. Duplicate keys are an error (ASL
// definitions with duplicate state names are ambiguous).
func ParseJSON(src []byte) (*Node, error) {
	p := &jparser{src: src}
	p.ws()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i < len(p.src) {
		return nil, p.errf("unexpected %q after the end of the document", p.src[p.i])
	}
	return n, nil
}

type jparser struct {
	src []byte
	i   int
}

func (p *jparser) errf(format string, args ...any) error {
	return &SyntaxError{Off: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *jparser) ws() {
	for p.i < len(p.src) {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

const maxDepth = 200

func (p *jparser) value(depth int) (*Node, error) {
	if depth > maxDepth {
		return nil, p.errf("nested more than %d deep", maxDepth)
	}
	if p.i >= len(p.src) {
		return nil, p.errf("unexpected end of JSON")
	}
	start := p.i
	switch c := p.src[p.i]; {
	case c == '{':
		p.i++
		n := &Node{Kind: Object, Off: start}
		p.ws()
		if p.i < len(p.src) && p.src[p.i] == '}' {
			p.i++
			return n, nil
		}
		seen := map[string]bool{}
		for {
			p.ws()
			if p.i >= len(p.src) || p.src[p.i] != '"' {
				return nil, p.errf("expected a string key")
			}
			koff := p.i
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			if seen[k] {
				p.i = koff
				return nil, p.errf("duplicate key %q", k)
			}
			seen[k] = true
			p.ws()
			if p.i >= len(p.src) || p.src[p.i] != ':' {
				return nil, p.errf("expected ':' after key %q", k)
			}
			p.i++
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Members = append(n.Members, Member{Key: k, KeyOff: koff, Val: v})
			p.ws()
			if p.i < len(p.src) && p.src[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.src) && p.src[p.i] == '}' {
				p.i++
				return n, nil
			}
			return nil, p.errf("expected ',' or '}' in object")
		}
	case c == '[':
		p.i++
		n := &Node{Kind: Array, Off: start}
		p.ws()
		if p.i < len(p.src) && p.src[p.i] == ']' {
			p.i++
			return n, nil
		}
		for {
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Elems = append(n.Elems, v)
			p.ws()
			if p.i < len(p.src) && p.src[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.src) && p.src[p.i] == ']' {
				p.i++
				return n, nil
			}
			return nil, p.errf("expected ',' or ']' in array")
		}
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &Node{Kind: String, Off: start, Str: s}, nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(p.src)-p.i >= len(lit) && string(p.src[p.i:p.i+len(lit)]) == lit {
				p.i += len(lit)
				switch lit {
				case "true":
					return &Node{Kind: Bool, Off: start, Bool: true}, nil
				case "false":
					return &Node{Kind: Bool, Off: start}, nil
				}
				return &Node{Kind: Null, Off: start}, nil
			}
		}
		return nil, p.errf("invalid literal")
	case c == '-' || (c >= '0' && c <= '9'):
		j := p.i
		if p.src[j] == '-' {
			j++
		}
		for j < len(p.src) && (p.src[j] >= '0' && p.src[j] <= '9' || p.src[j] == '.' || p.src[j] == 'e' || p.src[j] == 'E' || p.src[j] == '+' || p.src[j] == '-') {
			j++
		}
		raw := string(p.src[p.i:j])
		if !json.Valid([]byte(raw)) {
			return nil, p.errf("invalid number %q", raw)
		}
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, p.errf("number %s is out of range", raw)
		}
		p.i = j
		return &Node{Kind: Number, Off: start, Num: f}, nil
	default:
		return nil, p.errf("unexpected %q", c)
	}
}

// str reads a JSON string at p.i (which is '"').
func (p *jparser) str() (string, error) {
	start := p.i
	j := p.i + 1
	escaped := false
	for j < len(p.src) {
		c := p.src[j]
		if c == '\\' {
			escaped = true
			j += 2
			continue
		}
		if c == '"' {
			break
		}
		if c < 0x20 {
			p.i = j
			return "", p.errf("control character in string")
		}
		j++
	}
	if j >= len(p.src) {
		return "", p.errf("unterminated string")
	}
	raw := p.src[start : j+1]
	p.i = j + 1
	if !escaped {
		if !utf8.Valid(raw) {
			p.i = start
			return "", p.errf("invalid UTF-8 in string")
		}
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.i = start
		return "", p.errf("invalid string escape")
	}
	return s, nil
}

// LineCol turns a byte offset of src into a 1-based line and column (the
// column counts characters).
func LineCol(src []byte, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line, col = 1, 1
	for i := 0; i < off; {
		r, size := utf8.DecodeRune(src[i:])
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i += size
	}
	return line, col
}
