package asl

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Path is a compiled JSONPath as the Amazon States Language defines it: it
// starts with "$" (the state's input) or "$$" (the context object), then
// child (.name, ['name']), index ([2], [-1]), wildcard (.*, [*]), union
// ([0,2], ['a','b']), slice ([1:3], [::2]), deep scan (..name) and filter
// ([?(@.price < 10)], [?(@.sku)]) segments. A path with only child and
// index segments is a reference path (what ResultPath and Choice's
// Variable accept) and selects one value; any other segment makes it
// indefinite, and it selects the array of every match.
type Path struct {
	src     string
	context bool // $$
	segs    []segment
}

type segKind int

const (
	segChild segKind = iota
	segIndex
	segWild
	segUnion // names or indexes
	segSlice
	segDeep // ..name or ..*
	segFilter
)

type segment struct {
	kind    segKind
	name    string
	index   int
	names   []string
	indexes []int
	slice   [3]*int
	filter  *filterExpr
}

// PathError is a path that does not parse, or that a field cannot take.
type PathError struct {
	Path string
	Off  int // byte offset in Path
	Msg  string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("invalid JSONPath %q: %s", e.Path, e.Msg)
}

// String returns the path as written.
func (p *Path) String() string { return p.src }

// Context reports whether the path reads the context object ($$).
func (p *Path) Context() bool { return p.context }

// IsReference reports whether the path is a reference path: child and
// index segments only, selecting at most one value.
func (p *Path) IsReference() bool {
	for _, s := range p.segs {
		if s.kind != segChild && s.kind != segIndex {
			return false
		}
	}
	return true
}

// ParsePath compiles src.
func ParsePath(src string) (*Path, error) {
	pp := &pathParser{src: src}
	return pp.parse()
}

type pathParser struct {
	src string
	i   int
}

func (pp *pathParser) errf(format string, args ...any) error {
	return &PathError{Path: pp.src, Off: pp.i, Msg: fmt.Sprintf(format, args...)}
}

func (pp *pathParser) parse() (*Path, error) {
	p := &Path{src: pp.src}
	if !strings.HasPrefix(pp.src, "$") {
		return nil, pp.errf("a path starts with $")
	}
	pp.i = 1
	if strings.HasPrefix(pp.src, "$$") {
		p.context = true
		pp.i = 2
	}
	for pp.i < len(pp.src) {
		seg, err := pp.segment()
		if err != nil {
			return nil, err
		}
		p.segs = append(p.segs, seg)
	}
	return p, nil
}

func isNameChar(c byte) bool {
	return c != '.' && c != '[' && c != ']' && c != ' ' && c != '\'' && c != '"' && c != '(' && c != ')' && c != ',' && c != '=' && c != '<' && c != '>' && c != '!' && c != '&' && c != '|'
}

func (pp *pathParser) name() string {
	j := pp.i
	for j < len(pp.src) && isNameChar(pp.src[j]) {
		j++
	}
	n := pp.src[pp.i:j]
	pp.i = j
	return n
}

func (pp *pathParser) segment() (segment, error) {
	s := pp.src
	switch s[pp.i] {
	case '.':
		if strings.HasPrefix(s[pp.i:], "..") {
			pp.i += 2
			if pp.i < len(s) && s[pp.i] == '*' {
				pp.i++
				return segment{kind: segDeep, name: "*"}, nil
			}
			if pp.i < len(s) && s[pp.i] == '[' {
				// ..['name']
				inner, err := pp.bracket()
				if err != nil {
					return segment{}, err
				}
				if inner.kind != segChild {
					return segment{}, pp.errf("only a name may follow ..")
				}
				return segment{kind: segDeep, name: inner.name}, nil
			}
			n := pp.name()
			if n == "" {
				return segment{}, pp.errf("a name must follow ..")
			}
			return segment{kind: segDeep, name: n}, nil
		}
		pp.i++
		if pp.i < len(s) && s[pp.i] == '*' {
			pp.i++
			return segment{kind: segWild}, nil
		}
		n := pp.name()
		if n == "" {
			return segment{}, pp.errf("a name must follow '.'")
		}
		return segment{kind: segChild, name: n}, nil
	case '[':
		return pp.bracket()
	}
	return segment{}, pp.errf("unexpected %q", s[pp.i])
}

func (pp *pathParser) skipSpace() {
	for pp.i < len(pp.src) && pp.src[pp.i] == ' ' {
		pp.i++
	}
}

func (pp *pathParser) quoted() (string, error) {
	q := pp.src[pp.i]
	pp.i++
	var b strings.Builder
	for pp.i < len(pp.src) {
		c := pp.src[pp.i]
		if c == '\\' && pp.i+1 < len(pp.src) {
			b.WriteByte(pp.src[pp.i+1])
			pp.i += 2
			continue
		}
		if c == q {
			pp.i++
			return b.String(), nil
		}
		b.WriteByte(c)
		pp.i++
	}
	return "", pp.errf("unterminated quoted name")
}

func (pp *pathParser) int() (int, bool) {
	j := pp.i
	if j < len(pp.src) && pp.src[j] == '-' {
		j++
	}
	k := j
	for k < len(pp.src) && pp.src[k] >= '0' && pp.src[k] <= '9' {
		k++
	}
	if k == j || k-j > 9 {
		return 0, false
	}
	n, _ := strconv.Atoi(pp.src[pp.i:k])
	pp.i = k
	return n, true
}

func (pp *pathParser) bracket() (segment, error) {
	s := pp.src
	pp.i++ // [
	pp.skipSpace()
	if pp.i >= len(s) {
		return segment{}, pp.errf("unterminated [")
	}
	var seg segment
	switch c := s[pp.i]; {
	case c == '*':
		pp.i++
		seg = segment{kind: segWild}
	case c == '?':
		pp.i++
		if pp.i >= len(s) || s[pp.i] != '(' {
			return segment{}, pp.errf("a filter is written [?(...)]")
		}
		pp.i++
		f, err := pp.filterOr()
		if err != nil {
			return segment{}, err
		}
		pp.skipSpace()
		if pp.i >= len(s) || s[pp.i] != ')' {
			return segment{}, pp.errf("expected ) to close the filter")
		}
		pp.i++
		seg = segment{kind: segFilter, filter: f}
	case c == '\'' || c == '"':
		var names []string
		for {
			pp.skipSpace()
			if pp.i >= len(s) || (s[pp.i] != '\'' && s[pp.i] != '"') {
				return segment{}, pp.errf("expected a quoted name")
			}
			n, err := pp.quoted()
			if err != nil {
				return segment{}, err
			}
			names = append(names, n)
			pp.skipSpace()
			if pp.i < len(s) && s[pp.i] == ',' {
				pp.i++
				continue
			}
			break
		}
		if len(names) == 1 {
			seg = segment{kind: segChild, name: names[0]}
		} else {
			seg = segment{kind: segUnion, names: names}
		}
	default:
		// index, union of indexes, or slice
		var parts [3]*int
		part := 0
		var idx []int
		sawColon := false
		needIndex := false
		for {
			pp.skipSpace()
			n, ok := pp.int()
			if needIndex && !ok {
				return segment{}, pp.errf("expected an index after ,")
			}
			needIndex = false
			if ok {
				v := n
				if sawColon {
					parts[part] = &v
				} else {
					idx = append(idx, n)
				}
			}
			pp.skipSpace()
			if pp.i >= len(s) {
				return segment{}, pp.errf("unterminated [")
			}
			if s[pp.i] == ':' {
				if len(idx) > 1 || part >= 2 {
					return segment{}, pp.errf("invalid slice")
				}
				if !sawColon && len(idx) == 1 {
					v := idx[0]
					parts[0] = &v
					idx = nil
				}
				sawColon = true
				part++
				pp.i++
				continue
			}
			if s[pp.i] == ',' && !sawColon {
				if len(idx) == 0 {
					return segment{}, pp.errf("expected an index")
				}
				pp.i++
				needIndex = true
				continue
			}
			break
		}
		switch {
		case sawColon:
			seg = segment{kind: segSlice, slice: parts}
			if parts[2] != nil && *parts[2] == 0 {
				return segment{}, pp.errf("a slice's step cannot be 0")
			}
		case len(idx) == 1:
			seg = segment{kind: segIndex, index: idx[0]}
		case len(idx) > 1:
			seg = segment{kind: segUnion, indexes: idx}
		default:
			return segment{}, pp.errf("expected a name, an index, *, a slice or a filter in []")
		}
	}
	pp.skipSpace()
	if pp.i >= len(s) || s[pp.i] != ']' {
		return segment{}, pp.errf("expected ]")
	}
	pp.i++
	return seg, nil
}

// filterExpr is a filter's condition: an existence test (@.x), a
// comparison (@.x < 3), or && / || of them.
type filterExpr struct {
	op          string // "&&", "||", "exists", or a comparison operator
	left, right *filterExpr
	path        *Path // relative to @
	lit         any
}

func (pp *pathParser) filterOr() (*filterExpr, error) {
	l, err := pp.filterAnd()
	if err != nil {
		return nil, err
	}
	for {
		pp.skipSpace()
		if !strings.HasPrefix(pp.src[pp.i:], "||") {
			return l, nil
		}
		pp.i += 2
		r, err := pp.filterAnd()
		if err != nil {
			return nil, err
		}
		l = &filterExpr{op: "||", left: l, right: r}
	}
}

func (pp *pathParser) filterAnd() (*filterExpr, error) {
	l, err := pp.filterCmp()
	if err != nil {
		return nil, err
	}
	for {
		pp.skipSpace()
		if !strings.HasPrefix(pp.src[pp.i:], "&&") {
			return l, nil
		}
		pp.i += 2
		r, err := pp.filterCmp()
		if err != nil {
			return nil, err
		}
		l = &filterExpr{op: "&&", left: l, right: r}
	}
}

func (pp *pathParser) filterCmp() (*filterExpr, error) {
	pp.skipSpace()
	if pp.i >= len(pp.src) || pp.src[pp.i] != '@' {
		return nil, pp.errf("a filter condition starts with @")
	}
	start := pp.i
	pp.i++
	sub := &pathParser{src: "$" + pp.src[pp.i:]}
	sub.i = 1
	p := &Path{}
	for sub.i < len(sub.src) && (sub.src[sub.i] == '.' || sub.src[sub.i] == '[') {
		seg, err := sub.segment()
		if err != nil {
			pp.i += sub.i - 1
			return nil, pp.errf("%s", err.(*PathError).Msg)
		}
		p.segs = append(p.segs, seg)
	}
	pp.i += sub.i - 1
	p.src = "$" + pp.src[start+1:pp.i]
	pp.skipSpace()
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(pp.src[pp.i:], op) {
			pp.i += len(op)
			pp.skipSpace()
			lit, err := pp.literal()
			if err != nil {
				return nil, err
			}
			return &filterExpr{op: op, path: p, lit: lit}, nil
		}
	}
	return &filterExpr{op: "exists", path: p}, nil
}

func (pp *pathParser) literal() (any, error) {
	s := pp.src
	if pp.i >= len(s) {
		return nil, pp.errf("expected a value to compare with")
	}
	switch c := s[pp.i]; {
	case c == '\'' || c == '"':
		return pp.quoted()
	case strings.HasPrefix(s[pp.i:], "true"):
		pp.i += 4
		return true, nil
	case strings.HasPrefix(s[pp.i:], "false"):
		pp.i += 5
		return false, nil
	case strings.HasPrefix(s[pp.i:], "null"):
		pp.i += 4
		return nil, nil
	default:
		j := pp.i
		for j < len(s) && (s[j] == '-' || s[j] == '+' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || (s[j] >= '0' && s[j] <= '9')) {
			j++
		}
		f, err := strconv.ParseFloat(s[pp.i:j], 64)
		if err != nil || j == pp.i {
			return nil, pp.errf("expected a number, a quoted string, true, false or null")
		}
		pp.i = j
		return f, nil
	}
}

// errPathNotFound is a definite path that selects nothing.
type errPathNotFound struct{ path string }

func (e errPathNotFound) Error() string {
	return fmt.Sprintf("the JSONPath %s could not be found in the input", e.path)
}

// Select applies the path to input (or to ctx for a $$ path). A reference
// path selects one value and fails when it is absent; an indefinite path
// selects the array of its matches (possibly empty).
func (p *Path) Select(input, ctx any) (any, error) {
	root := input
	if p.context {
		root = ctx
	}
	if p.IsReference() {
		v := root
		for _, s := range p.segs {
			switch s.kind {
			case segChild:
				m, ok := v.(map[string]any)
				if !ok {
					return nil, errPathNotFound{p.src}
				}
				if v, ok = m[s.name]; !ok {
					return nil, errPathNotFound{p.src}
				}
			case segIndex:
				a, ok := v.([]any)
				if !ok {
					return nil, errPathNotFound{p.src}
				}
				i := s.index
				if i < 0 {
					i += len(a)
				}
				if i < 0 || i >= len(a) {
					return nil, errPathNotFound{p.src}
				}
				v = a[i]
			}
		}
		return v, nil
	}
	cur := []any{root}
	for _, s := range p.segs {
		var next []any
		for _, v := range cur {
			next = s.apply(v, next)
		}
		cur = next
	}
	if cur == nil {
		cur = []any{}
	}
	return cur, nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (s segment) apply(v any, out []any) []any {
	switch s.kind {
	case segChild:
		if m, ok := v.(map[string]any); ok {
			if x, ok := m[s.name]; ok {
				out = append(out, x)
			}
		}
	case segIndex:
		if a, ok := v.([]any); ok {
			i := s.index
			if i < 0 {
				i += len(a)
			}
			if i >= 0 && i < len(a) {
				out = append(out, a[i])
			}
		}
	case segWild:
		switch t := v.(type) {
		case []any:
			out = append(out, t...)
		case map[string]any:
			for _, k := range sortedKeys(t) {
				out = append(out, t[k])
			}
		}
	case segUnion:
		for _, n := range s.names {
			out = segment{kind: segChild, name: n}.apply(v, out)
		}
		for _, i := range s.indexes {
			out = segment{kind: segIndex, index: i}.apply(v, out)
		}
	case segSlice:
		a, ok := v.([]any)
		if !ok {
			return out
		}
		n := len(a)
		step := 1
		if s.slice[2] != nil {
			step = *s.slice[2]
		}
		norm := func(p *int, def int) int {
			if p == nil {
				return def
			}
			i := *p
			if i < 0 {
				i += n
			}
			return min(max(i, -1), n)
		}
		if step > 0 {
			start, end := max(norm(s.slice[0], 0), 0), max(norm(s.slice[1], n), 0)
			for i := start; i < end; i += step {
				out = append(out, a[i])
			}
		} else {
			start, end := min(norm(s.slice[0], n-1), n-1), norm(s.slice[1], -1)
			for i := start; i > end && i >= 0; i += step {
				out = append(out, a[i])
			}
		}
	case segDeep:
		var walk func(x any)
		walk = func(x any) {
			switch t := x.(type) {
			case map[string]any:
				for _, k := range sortedKeys(t) {
					if s.name == "*" || k == s.name {
						out = append(out, t[k])
					}
				}
				for _, k := range sortedKeys(t) {
					walk(t[k])
				}
			case []any:
				for _, e := range t {
					if s.name == "*" {
						out = append(out, e)
					}
				}
				for _, e := range t {
					walk(e)
				}
			}
		}
		walk(v)
	case segFilter:
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				if s.filter.eval(e) {
					out = append(out, e)
				}
			}
		case map[string]any:
			for _, k := range sortedKeys(t) {
				if s.filter.eval(t[k]) {
					out = append(out, t[k])
				}
			}
		}
	}
	return out
}

func (f *filterExpr) eval(v any) bool {
	switch f.op {
	case "&&":
		return f.left.eval(v) && f.right.eval(v)
	case "||":
		return f.left.eval(v) || f.right.eval(v)
	}
	x, err := f.path.Select(v, nil)
	if err != nil {
		return false
	}
	if !f.path.IsReference() {
		if a, _ := x.([]any); len(a) == 0 {
			return false
		}
	}
	if f.op == "exists" {
		return true
	}
	switch l := f.lit.(type) {
	case float64:
		n, ok := x.(float64)
		if !ok || math.IsNaN(n) {
			return false
		}
		return cmpOrdered(n, l, f.op)
	case string:
		s, ok := x.(string)
		if !ok {
			return false
		}
		return cmpOrdered(s, l, f.op)
	case bool:
		b, ok := x.(bool)
		if !ok {
			return false
		}
		return (f.op == "==") == (b == l) && (f.op == "==" || f.op == "!=")
	case nil:
		return (f.op == "==") == (x == nil) && (f.op == "==" || f.op == "!=")
	}
	return false
}

func cmpOrdered[T float64 | string](a, b T, op string) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

// Set returns a copy of root with the value at the reference path p
// replaced by v (ResultPath), creating objects on the way. It fails when
// the path crosses a value that is not an object (or an index out of an
// array's range): States.ResultPathMatchFailure.
func (p *Path) Set(root, v any) (any, error) {
	if !p.IsReference() || p.context {
		return nil, fmt.Errorf("%s is not a reference path", p.src)
	}
	return setPath(root, p.segs, v, p.src)
}

func setPath(cur any, segs []segment, v any, src string) (any, error) {
	if len(segs) == 0 {
		return v, nil
	}
	s := segs[0]
	switch s.kind {
	case segChild:
		var m map[string]any
		switch t := cur.(type) {
		case map[string]any:
			m = make(map[string]any, len(t)+1)
			for k, x := range t {
				m[k] = x
			}
		case nil:
			m = map[string]any{}
		default:
			return nil, fmt.Errorf("unable to apply ResultPath %s to the input: %s does not reach an object", src, s.name)
		}
		x, err := setPath(m[s.name], segs[1:], v, src)
		if err != nil {
			return nil, err
		}
		m[s.name] = x
		return m, nil
	case segIndex:
		a, ok := cur.([]any)
		i := s.index
		if ok && i < 0 {
			i += len(a)
		}
		if !ok || i < 0 || i >= len(a) {
			return nil, fmt.Errorf("unable to apply ResultPath %s to the input: index %d is out of range", src, s.index)
		}
		b := append([]any(nil), a...)
		x, err := setPath(b[i], segs[1:], v, src)
		if err != nil {
			return nil, err
		}
		b[i] = x
		return b, nil
	}
	return nil, fmt.Errorf("%s is not a reference path", src)
}
