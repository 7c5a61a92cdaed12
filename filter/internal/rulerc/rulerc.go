// Package rulerc holds the small pieces of event-ruler's semantics evcli
// follows (filter/COMPATIBILITY.md): which numbers compare by value, what
// counts as an IP address, Java's integer syntax. Package filter and the
// differential fuzzer in filter/oracle share them.
package rulerc

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
)

// NumComparable reports whether the JSON number text s is exactly the
// double it denotes, as event-ruler's ComparableNumber.generate demands:
// the decimal value of s equals that of the shortest decimal that reads back
// as the same double. Such numbers compare by value (1, 1.0 and 1e0 are
// equal); others only by their text (9007199254740993 is not
// 9007199254740992). Any number with at most 15 significant digits in the
// normal range qualifies.
func NumComparable(s string) bool {
	m, e, n, ok := decimal(s)
	if !ok {
		return false
	}
	if n <= 15 && e > -290 && e < 290 {
		return true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return false
	}
	var buf [32]byte
	short := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	m2, e2, _, _ := decimal(string(short))
	return m == m2 && e == e2
}

// decimal reads a JSON number's text as m×10^e with m's trailing zeros
// removed (m = 0 for zero); n is m's digit count. ok is false when the text
// is not a number or m has more than 19 digits (no double's shortest form
// has more than 17).
func decimal(s string) (m uint64, e, n int, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	frac := false
	zeros := 0 // zeros after the last non-zero digit, not yet in m
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if frac {
				e--
			}
			if c == '0' {
				if n > 0 {
					zeros++
				}
				continue
			}
			if n+zeros >= 19 {
				return 0, 0, 0, false
			}
			for ; zeros > 0; zeros-- {
				m *= 10
				n++
			}
			m = m*10 + uint64(c-'0')
			n++
		case c == '.':
			frac = true
		case c == 'e' || c == 'E':
			x, err := strconv.Atoi(trimPlus(s[i+1:]))
			if err != nil || x > 100000 || x < -100000 {
				return 0, 0, 0, false
			}
			e += x
			i = len(s)
		default:
			return 0, 0, 0, false
		}
	}
	return m, e + zeros, n, true
}

func trimPlus(s string) string {
	if len(s) > 0 && s[0] == '+' {
		return s[1:]
	}
	return s
}

func Incomparable(s string) string {
	return fmt.Sprintf("%s is not exactly a double-precision number, and EventBridge's engine refuses numbers it would round (write at most 15 significant digits)", s)
}

// JavaParseInt is Java's Integer.parseInt: an optional sign, decimal digits,
// within int32.
func JavaParseInt(s string) (int, bool) {
	if s == "" || s == "+" || s == "-" {
		return 0, false
	}
	n, err := strconv.ParseInt(trimPlus(s), 10, 32)
	if err != nil || (len(s) > 1 && s[0] == '+' && (s[1] == '+' || s[1] == '-')) {
		return 0, false
	}
	return int(n), true
}

// JavaIP reads an IP address literal as event-ruler does (CIDR.ipToBytes):
// only text matching [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+ (each part a decimal
// byte; leading zeros allowed) or [0-9a-fA-F:]*:[0-9a-fA-F:]* counts; an
// IPv4-mapped IPv6 address in hex form is its IPv4 address (Java's
// InetAddress); the dotted form ::ffff:1.2.3.4 is not an address at all.
func JavaIP(s string) (netip.Addr, bool) {
	if len(s) == 0 || len(s) > 64 {
		return netip.Addr{}, false
	}
	dots, colons := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			dots++
		case c == ':':
			colons++
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			if dots > 0 {
				return netip.Addr{}, false
			}
		default:
			return netip.Addr{}, false
		}
	}
	if colons == 0 {
		if dots != 3 {
			return netip.Addr{}, false
		}
		var b [4]byte
		part, n, digits := 0, 0, 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == '.' {
				if digits == 0 || n > 255 {
					return netip.Addr{}, false
				}
				b[part] = byte(n)
				part, n, digits = part+1, 0, 0
				continue
			}
			c := s[i]
			if c < '0' || c > '9' {
				return netip.Addr{}, false
			}
			if n <= 255 {
				n = n*10 + int(c-'0')
			}
			digits++
		}
		return netip.AddrFrom4(b), true
	}
	if dots > 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
