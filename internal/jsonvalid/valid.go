package jsonvalid

import (
	"encoding/binary"
	"math/bits"
)

// maxDepth is encoding/json's nesting limit: 10,000 open arrays and
// objects are valid, 10,001 are not.
const maxDepth = 10000

// Valid reports whether b is one JSON value, optionally surrounded by
// whitespace: the same answer as encoding/json.Valid for every input.
func Valid(b []byte) bool {
	i := skipSpace(b, 0)
	i = value(b, i, 0)
	if i < 0 {
		return false
	}
	return skipSpace(b, i) == len(b)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
		i++
	}
	return i
}

// value checks the value starting at b[i] (no leading space) at nesting
// depth and returns the index after it, or -1.
func value(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return str(b, i)
	case c == '{':
		return container(b, i, depth+1, '}')
	case c == '[':
		return container(b, i, depth+1, ']')
	case c == '-' || c >= '0' && c <= '9':
		return number(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	}
	return -1
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// container checks the array or object (close is ']' or '}') starting at
// b[i] at nesting depth and returns the index after it, or -1.
func container(b []byte, i, depth int, close byte) int {
	if depth > maxDepth {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == close {
		return i + 1
	}
	for {
		if close == '}' { // a member's name and colon first
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			if i = str(b, i); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return -1
			}
			i = skipSpace(b, i+1)
		}
		if i = value(b, i, depth); i < 0 {
			return -1
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case close:
			return i + 1
		default:
			return -1
		}
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specials marks, in the high bit of each byte, the bytes of the word w
// (little-endian) that a string scan must stop at: '"', '\\' and control
// characters (below 0x20). The lowest mark is exact (a borrow can only
// mark bytes above a true one), so it locates the first such byte.
func specials(w uint64) uint64 {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q-ones)&^q | (s-ones)&^s | (w-ones*0x20)&^w) & highs
}

// str checks the string starting at b[i] == '"' and returns the index after
// its closing quote, or -1. Any byte from 0x20 up is accepted as it is
// (encoding/json does not check UTF-8 here).
func str(b []byte, i int) int {
	i++
	for {
		// Skip to the next quote, backslash or control character, eight
		// bytes at a time while eight are left.
		for {
			if len(b)-i < 8 {
				for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
					i++
				}
				break
			}
			if m := specials(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !hex4(b[i+2:i+6]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

func hex4(h []byte) bool {
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func number(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// End returns the index just after the JSON value that starts at b[i]
// (after optional whitespace), or -1 when no valid value starts there.
// Bytes after the value are not looked at.
func End(b []byte, i int) int {
	return value(b, skipSpace(b, i), 0)
}
