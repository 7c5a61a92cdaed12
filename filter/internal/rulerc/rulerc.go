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
	digits, dexp, ok := sigDigits(s, nil)
	if !ok {
		return false
	}
	if len(digits) <= 15 && dexp > -290 && dexp < 290 {
		return true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return false
	}
	var buf [32]byte
	short := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	var buf2 [32]byte
	d2, e2, _ := sigDigits(string(short), buf2[:0])
	return string(digits) == string(d2) && dexp == e2
}

// sigDigits returns the significant digits of a number's text (no leading or
// trailing zeros; empty for zero) and the decimal exponent of the last one.
func sigDigits(s string, dst []byte) ([]byte, int, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	exp := 0
	frac := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if c == '0' && len(dst) == 0 {
				if frac {
					exp--
				}
				continue
			}
			dst = append(dst, c)
			if frac {
				exp--
			}
		case c == '.':
			frac = true
		case c == 'e' || c == 'E':
			e, err := strconv.Atoi(trimPlus(s[i+1:]))
			if err != nil {
				return nil, 0, false
			}
			if e > 100000 || e < -100000 {
				return nil, 0, false
			}
			exp += e
			i = len(s)
		default:
			return nil, 0, false
		}
	}
	for len(dst) > 0 && dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
		exp++
	}
	return dst, exp, true
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
