package filter

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// kind is the type of a decoded JSON value.
type kind uint8

const (
	kNull kind = iota
	kTrue
	kFalse
	kNum
	kStr
	kArr
	kObj
)

func (k kind) String() string {
	switch k {
	case kNull:
		return "null"
	case kTrue:
		return "true"
	case kFalse:
		return "false"
	case kNum:
		return "number"
	case kStr:
		return "string"
	case kArr:
		return "array"
	}
	return "object"
}

// jval is a decoded JSON value that keeps member order, the raw text of
// numbers and the byte offset where it starts (for messages).
type jval struct {
	k    kind
	s    string  // decoded string, or the raw text of a number
	f    float64 // number value (±Inf when out of float64 range)
	keys []string
	vals []*jval // object member values (parallel to keys) or array elements
	off  int
}

// get returns the value of the first member named name, or nil.
func (v *jval) get(name string) *jval {
	if v == nil || v.k != kObj {
		return nil
	}
	for i, k := range v.keys {
		if k == name {
			return v.vals[i]
		}
	}
	return nil
}

// SyntaxError is a JSON syntax error at a byte offset of the input.
type SyntaxError struct {
	Offset    int // byte offset, 0-based
	Line, Col int // 1-based
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: invalid JSON: %s", e.Line, e.Col, e.Msg)
}

func newSyntaxError(src []byte, off int, format string, args ...any) *SyntaxError {
	if off > len(src) {
		off = len(src)
	}
	line, col := 1, 1
	for _, c := range src[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Offset: off, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

const maxDepth = 1000

type decoder struct {
	src   []byte
	pos   int
	depth int
}

// decodeJSON parses exactly one JSON value (surrounding white space allowed).
func decodeJSON(src []byte) (*jval, error) {
	d := &decoder{src: src}
	d.ws()
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.pos != len(src) {
		return nil, d.errf("unexpected %s after the JSON value", d.what())
	}
	return v, nil
}

func (d *decoder) errf(format string, args ...any) error {
	return newSyntaxError(d.src, d.pos, format, args...)
}

func (d *decoder) what() string {
	if d.pos >= len(d.src) {
		return "end of input"
	}
	c := d.src[d.pos]
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return strconv.QuoteRune(rune(c))
}

func (d *decoder) ws() {
	for d.pos < len(d.src) {
		switch d.src[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value() (*jval, error) {
	if d.pos >= len(d.src) {
		return nil, d.errf("unexpected end of input, expected a value")
	}
	start := d.pos
	switch c := d.src[d.pos]; c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return &jval{k: kStr, s: s, off: start}, nil
	case 't':
		return d.lit("true", kTrue)
	case 'f':
		return d.lit("false", kFalse)
	case 'n':
		return d.lit("null", kNull)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.errf("unexpected %s, expected a value", d.what())
	}
}

func (d *decoder) lit(word string, k kind) (*jval, error) {
	start := d.pos
	if len(d.src)-d.pos < len(word) || string(d.src[d.pos:d.pos+len(word)]) != word {
		return nil, d.errf("invalid literal, expected %s", word)
	}
	d.pos += len(word)
	return &jval{k: k, off: start}, nil
}

// scanNumber returns the end of a JSON number starting at i, or -1.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return -1
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	} else {
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return -1
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return -1
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i
}

func (d *decoder) number() (*jval, error) {
	start := d.pos
	end := scanNumber(d.src, d.pos)
	if end < 0 {
		return nil, d.errf("invalid number")
	}
	d.pos = end
	raw := string(d.src[start:end])
	f, _ := strconv.ParseFloat(raw, 64) // range errors give ±Inf, which compare correctly
	return &jval{k: kNum, s: raw, f: f, off: start}, nil
}

func (d *decoder) str() (string, error) {
	d.pos++ // opening quote
	start := d.pos
	for d.pos < len(d.src) {
		c := d.src[d.pos]
		if c == '"' {
			s := string(d.src[start:d.pos])
			d.pos++
			return s, nil
		}
		if c == '\\' {
			buf := append([]byte(nil), d.src[start:d.pos]...)
			return d.strSlow(buf)
		}
		if c < 0x20 {
			return "", d.errf("control character 0x%02x in string; escape it", c)
		}
		d.pos++
	}
	return "", d.errf("unterminated string")
}

func (d *decoder) strSlow(buf []byte) (string, error) {
	for d.pos < len(d.src) {
		c := d.src[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(buf), nil
		case c == '\\':
			r, n, ok := unescape(d.src[d.pos:])
			if !ok {
				return "", d.errf("invalid escape sequence in string")
			}
			buf = utf8.AppendRune(buf, r)
			d.pos += n
		case c < 0x20:
			return "", d.errf("control character 0x%02x in string; escape it", c)
		default:
			buf = append(buf, c)
			d.pos++
		}
	}
	return "", d.errf("unterminated string")
}

// unescape decodes the escape sequence at the start of b (b[0] == '\\').
func unescape(b []byte) (rune, int, bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	switch b[1] {
	case '"':
		return '"', 2, true
	case '\\':
		return '\\', 2, true
	case '/':
		return '/', 2, true
	case 'b':
		return '\b', 2, true
	case 'f':
		return '\f', 2, true
	case 'n':
		return '\n', 2, true
	case 'r':
		return '\r', 2, true
	case 't':
		return '\t', 2, true
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, 0, false
		}
		if utf16.IsSurrogate(r) {
			if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
				if r2, ok := hex4(b[8:]); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						return dec, 12, true
					}
				}
			}
			return utf8.RuneError, 6, true
		}
		return r, 6, true
	}
	return 0, 0, false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (d *decoder) object() (*jval, error) {
	v := &jval{k: kObj, off: d.pos}
	d.depth++
	if d.depth > maxDepth {
		return nil, d.errf("nested deeper than %d levels", maxDepth)
	}
	d.pos++
	d.ws()
	if d.pos < len(d.src) && d.src[d.pos] == '}' {
		d.pos++
		d.depth--
		return v, nil
	}
	for {
		d.ws()
		if d.pos >= len(d.src) || d.src[d.pos] != '"' {
			return nil, d.errf("unexpected %s, expected a member name in double quotes", d.what())
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.pos >= len(d.src) || d.src[d.pos] != ':' {
			return nil, d.errf("unexpected %s, expected ':' after member name %q", d.what(), k)
		}
		d.pos++
		d.ws()
		val, err := d.value()
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, k)
		v.vals = append(v.vals, val)
		d.ws()
		if d.pos >= len(d.src) {
			return nil, d.errf("unexpected end of input, expected ',' or '}'")
		}
		switch d.src[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			return v, nil
		default:
			return nil, d.errf("unexpected %s, expected ',' or '}'", d.what())
		}
	}
}

func (d *decoder) array() (*jval, error) {
	v := &jval{k: kArr, off: d.pos}
	d.depth++
	if d.depth > maxDepth {
		return nil, d.errf("nested deeper than %d levels", maxDepth)
	}
	d.pos++
	d.ws()
	if d.pos < len(d.src) && d.src[d.pos] == ']' {
		d.pos++
		d.depth--
		return v, nil
	}
	for {
		d.ws()
		e, err := d.value()
		if err != nil {
			return nil, err
		}
		v.vals = append(v.vals, e)
		d.ws()
		if d.pos >= len(d.src) {
			return nil, d.errf("unexpected end of input, expected ',' or ']'")
		}
		switch d.src[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			return v, nil
		default:
			return nil, d.errf("unexpected %s, expected ',' or ']'", d.what())
		}
	}
}
