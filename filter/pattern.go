package filter

import (
	"errors"
	"fmt"
	"github.com/evcli/evcli/filter/internal/rulerc"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/evcli/evcli/internal/suggest"
)

// PatternError reports an invalid pattern: Path is the JSON path of the
// offending part (e.g. `detail.price[0].numeric`), Msg what is wrong and what
// would be valid.
type PatternError struct {
	Path string
	Msg  string
}

func (e *PatternError) Error() string {
	if e.Path == "" {
		return "pattern: " + e.Msg
	}
	return "pattern: " + e.Path + ": " + e.Msg
}

// Pattern is a parsed, validated EventBridge event pattern.
type Pattern struct {
	// overridden: a field was given more than once (overrideRules)
	overridden bool
	root       *pnode
	srcLen     int
	canon      string
}

// pnode is an object level of a pattern.
type pnode struct {
	fields []*pfield // sorted by name
	or     []*pnode  // "$or" branches, nil if none
	path   string    // pattern path of this object ("" at the top)
}

// pfield is one named field of a pattern object.
type pfield struct {
	name   string
	path   string // pattern path, for messages
	nested *pnode
	leaf   []*matcher
}

type opKind uint8

const (
	opExactStr opKind = iota
	opExactNum
	opNull
	opTrue
	opFalse
	opPrefix
	opPrefixIC
	opSuffix
	opSuffixIC
	opEqualsIC
	opWildcard
	opAnythingBut
	opNumeric
	opExists
	opCIDR
)

// matcher is one candidate of a leaf array.
type matcher struct {
	op  opKind
	s   string  // string operand (prefix, suffix, exact, ...); folded for IC kinds
	raw string  // canonical JSON of the operand(s)
	f   float64 // exact number
	wc  *wildcard

	// anything-but
	abOp   opKind // opExactStr (strs), opExactNum (nums), opPrefix, opSuffix, opEqualsIC (strs folded), opWildcard (wcs)
	strs   []string
	nums   []float64
	wcs    []*wildcard
	abList bool // the operand was a list

	// numeric
	lo, hi         float64
	hasLo, hasHi   bool
	loIncl, hiIncl bool

	exists bool

	prefix netip.Prefix

	// equals-ignore-case operands with characters whose case class is not
	// a simple pair (ß, ς, ǅ, ...): the texts each character matches
	// (rulerc.ICSeq); such a candidate is not indexed.
	ica  [][]string   // prefix/suffix/equals-ignore-case
	icas [][][]string // anything-but equals-ignore-case, parallel to strs (nil entries: fold)

	ip   netip.Addr // an exact string that is an IP address literal (isIP)
	isIP bool

	numOK bool // an exact number is comparable (numComparable); else it matches by its text

	json string // canonical JSON of this candidate
}

// Parse validates and compiles one pattern.
func Parse(src []byte) (*Pattern, error) {
	if !utf8.Valid(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRune(src[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		se := newSyntaxError(src, off, "")
		return nil, &PatternError{Msg: fmt.Sprintf("invalid UTF-8 at line %d, column %d: a pattern must be UTF-8 text", se.Line, se.Col)}
	}
	v, err := decodeJSON(src)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			return nil, &PatternError{Msg: fmt.Sprintf("invalid JSON at line %d, column %d: %s", se.Line, se.Col, se.Msg)}
		}
		return nil, &PatternError{Msg: err.Error()}
	}
	if v.k != kObj {
		return nil, &PatternError{Msg: fmt.Sprintf("a pattern must be a JSON object like {\"source\": [\"my.app\"]}, not %s %s", article(v.k), v.k)}
	}
	root, err := parseObject(v, "", false)
	if err != nil {
		return nil, err
	}
	rebuilt, changed, err := overrideRules(v)
	if err != nil {
		return nil, err
	}
	if changed {
		// A field given twice (or again inside an $or branch): the pattern
		// means what event-ruler's path-by-path override makes of it.
		if root, err = parseObject(rebuilt, "", false, true); err != nil {
			return nil, err
		}
	}
	p := &Pattern{root: root, srcLen: len(src), overridden: changed}
	var b strings.Builder
	writeNode(&b, root)
	p.canon = b.String()
	return p, nil
}

// MustParse is Parse for patterns known to be valid; it panics otherwise.
func MustParse(src string) *Pattern {
	p, err := Parse([]byte(src))
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the canonical JSON form: members sorted by name, no white
// space, candidates in their given order.
func (p *Pattern) String() string { return p.canon }

// MarshalJSON returns the canonical form.
func (p *Pattern) MarshalJSON() ([]byte, error) { return []byte(p.canon), nil }

func article(k kind) string {
	switch k {
	case kArr, kObj:
		return "an"
	case kNull, kTrue, kFalse:
		return "the literal"
	}
	return "a"
}

func joinPath(base, name string) string {
	if base == "" {
		return name
	}
	return base + "." + name
}

func perr(path, format string, args ...any) error {
	return &PatternError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// parseObject parses one object level. Member names may repeat (see
// overrideRules); inOr is set inside an $or branch, where event-ruler
// reserves operator names (reservedInOr). rebuilt is set for the form
// overrideRules made, whose names were checked in the original.
func parseObject(v *jval, path string, inOr bool, rebuilt ...bool) (*pnode, error) {
	if len(v.keys) == 0 {
		where := "a pattern"
		if path != "" {
			where = "a nested pattern"
		}
		return nil, perr(path, "%s must not be an empty object; name at least one field, e.g. {\"state\": [\"running\"]}", where)
	}
	isRebuilt := len(rebuilt) > 0 && rebuilt[0]
	n := &pnode{path: path}
	for i, name := range v.keys {
		fp := joinPath(path, name)
		val := v.vals[i]
		if name == "$or" {
			if val.k != kArr {
				return nil, perr(fp, "$or must be an array of two or more pattern objects, not %s %s", article(val.k), val.k)
			}
			if len(val.vals) < 2 {
				return nil, perr(fp, "$or must list at least two pattern objects (it has %d); with one, write its fields directly", len(val.vals))
			}
			n.or = nil
			for j, b := range val.vals {
				bp := fmt.Sprintf("%s[%d]", fp, j)
				if b.k != kObj {
					return nil, perr(bp, "each $or branch must be a pattern object like {\"state\": [\"running\"]}, not %s %s", article(b.k), b.k)
				}
				bn, err := parseObject(b, bp, !isRebuilt, isRebuilt)
				if err != nil {
					return nil, err
				}
				n.or = append(n.or, bn)
			}
			continue
		}
		if inOr && reservedInOr[name] {
			return nil, perr(fp, "%q cannot name a field inside $or: EventBridge reserves it as an operator name there (an operator goes inside a field's list, e.g. {\"f\": [{%q: ...}]})", name, name)
		}
		f := &pfield{name: name, path: fp}
		switch val.k {
		case kObj:
			nn, err := parseObject(val, fp, inOr, isRebuilt)
			if err != nil {
				return nil, err
			}
			f.nested = nn
		case kArr:
			if len(val.vals) == 0 {
				return nil, perr(fp, "the list of candidates must not be empty; give at least one value, e.g. [\"running\"] or [{\"exists\": true}]")
			}
			for j, e := range val.vals {
				m, err := parseMatcher(e, fmt.Sprintf("%s[%d]", fp, j))
				if err != nil {
					return nil, err
				}
				f.leaf = append(f.leaf, m)
			}
		default:
			return nil, perr(fp, "a field's value must be an array of candidates like [%s] or a nested pattern object, not %s %s", jsonOf(val), article(val.k), val.k)
		}
		n.fields = append(n.fields, f)
	}
	sort.SliceStable(n.fields, func(i, j int) bool { return n.fields[i].name < n.fields[j].name })
	return n, nil
}

// reservedInOr are the names event-ruler refuses as field names inside an
// $or branch (Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
var reservedInOr = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true, "anything-but": true,
	"exists": true, "wildcard": true, "numeric": true, "cidr": true,
	"=": true, "<": true, "<=": true, ">": true, ">=": true,
	"regex": true, "not-wildcard": true, "not-equals-ignore-case": true,
	"date-after": true, "date-on-or-after": true, "date-before": true, "date-on-or-before": true, "in-date-range": true,
	"ip-address-in-range": true, "ip-address-not-in-range": true,
}

func jsonOf(v *jval) string {
	switch v.k {
	case kStr:
		return quote(v.s)
	case kNum:
		return v.s
	case kNull, kTrue, kFalse:
		return v.k.String()
	}
	return v.k.String()
}

// quote returns s as a JSON string: quotes, backslashes and control
// characters escaped, everything else (including non-ASCII) as it is;
// invalid UTF-8 bytes become U+FFFD.
func quote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, "\ufffd"...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, fmt.Sprintf("\\u%04x", c)...)
		default:
			b = append(b, c)
		}
		i++
	}
	return string(append(b, '"'))
}

var operators = []string{"anything-but", "cidr", "equals-ignore-case", "exists", "numeric", "prefix", "suffix", "wildcard"}

func parseMatcher(e *jval, path string) (*matcher, error) {
	switch e.k {
	case kStr:
		m := &matcher{op: opExactStr, s: e.s, json: quote(e.s)}
		// An IP address literal matches any spelling of the address, as
		// event-ruler's JsonRuleCompiler makes it a range
		// (CIDR.ipToRangeIfPossible); {"exactly": ...} does not.
		if a, ok := rulerc.JavaIP(e.s); ok {
			m.ip, m.isIP = a, true
		}
		return m, nil
	case kNum:
		return &matcher{op: opExactNum, f: e.f, raw: e.s, json: e.s, numOK: rulerc.NumComparable(e.s)}, nil
	case kNull:
		return &matcher{op: opNull, json: "null"}, nil
	case kTrue:
		return &matcher{op: opTrue, json: "true"}, nil
	case kFalse:
		return &matcher{op: opFalse, json: "false"}, nil
	case kArr:
		return nil, perr(path, "a candidate must be a string, number, true, false, null or an operator object like {\"prefix\": \"abc\"}, not an array")
	}
	if len(e.keys) != 1 {
		if len(e.keys) == 0 {
			return nil, perr(path, "an operator object must have exactly one operator, e.g. {\"prefix\": \"abc\"}; it is empty")
		}
		return nil, perr(path, "an operator object must have exactly one operator, it has %d (%s); put each in its own object", len(e.keys), strings.Join(e.keys, ", "))
	}
	op, arg := e.keys[0], e.vals[0]
	opPath := path + "." + op
	var m *matcher
	var err error
	switch op {
	case "prefix", "suffix":
		m, err = parsePrefixSuffix(op, arg, opPath, false)
	case "exactly":
		// Undocumented, but event-ruler's (Constants.EXACT_MATCH): the
		// exact string match a plain string candidate is.
		if arg.k != kStr {
			return nil, perr(opPath, "exactly takes a string, e.g. {\"exactly\": \"running\"}, not %s %s", article(arg.k), arg.k)
		}
		m = &matcher{op: opExactStr, s: arg.s, raw: quote(arg.s)}
	case "equals-ignore-case":
		if arg.k != kStr {
			return nil, perr(opPath, "equals-ignore-case takes a string, e.g. {\"equals-ignore-case\": \"running\"}, not %s %s", article(arg.k), arg.k)
		}
		m = &matcher{op: opEqualsIC, s: fold(arg.s), raw: quote(arg.s), ica: rulerc.ICSeq(arg.s)}
	case "wildcard":
		if arg.k != kStr {
			return nil, perr(opPath, "wildcard takes a string, e.g. {\"wildcard\": \"*.png\"}, not %s %s", article(arg.k), arg.k)
		}
		w, werr := parseWildcard(arg.s)
		if werr != "" {
			return nil, perr(opPath, "%s", werr)
		}
		m = &matcher{op: opWildcard, wc: w, raw: quote(arg.s)}
	case "anything-but":
		m, err = parseAnythingBut(arg, opPath)
	case "numeric":
		m, err = parseNumeric(arg, opPath)
	case "exists":
		if arg.k != kTrue && arg.k != kFalse {
			return nil, perr(opPath, "exists takes true or false, not %s", jsonOf(arg))
		}
		m = &matcher{op: opExists, exists: arg.k == kTrue, raw: arg.k.String()}
	case "cidr":
		m, err = parseCIDR(arg, opPath)
	default:
		hint := ""
		if s := didYouMean(op, operators); s != "" {
			hint = fmt.Sprintf("did you mean %q? ", s)
		}
		return nil, perr(opPath, "unknown operator %q; %svalid operators are %s", op, hint, strings.Join(operators, ", "))
	}
	if err != nil {
		return nil, err
	}
	m.json = "{" + quote(op) + ":" + m.raw + "}"
	return m, nil
}

func parsePrefixSuffix(op string, arg *jval, path string, inAnythingBut bool) (*matcher, error) {
	kindOp, icOp := opPrefix, opPrefixIC
	if op == "suffix" {
		kindOp, icOp = opSuffix, opSuffixIC
	}
	switch arg.k {
	case kStr:
		if inAnythingBut && arg.s == "" {
			return nil, perr(path, "anything-but %s must not be empty (it would exclude every string)", op)
		}
		return &matcher{op: kindOp, s: arg.s, raw: quote(arg.s)}, nil
	case kObj:
		if !inAnythingBut && len(arg.keys) == 1 && arg.keys[0] == "equals-ignore-case" {
			v := arg.vals[0]
			if v.k != kStr {
				return nil, perr(path+".equals-ignore-case", "takes a string, e.g. {%q: {\"equals-ignore-case\": \"abc\"}}, not %s %s", op, article(v.k), v.k)
			}
			return &matcher{op: icOp, s: fold(v.s), raw: "{\"equals-ignore-case\":" + quote(v.s) + "}", ica: rulerc.ICSeq(v.s)}, nil
		}
	}
	if inAnythingBut {
		return nil, perr(path, "anything-but %s takes a string, e.g. {\"anything-but\": {%q: \"abc\"}}", op, op)
	}
	return nil, perr(path, "%s takes a string or {\"equals-ignore-case\": string}, e.g. {%q: \"abc\"}", op, op)
}

func parseAnythingBut(arg *jval, path string) (*matcher, error) {
	m := &matcher{op: opAnythingBut}
	switch arg.k {
	case kStr:
		m.abOp, m.strs, m.raw = opExactStr, []string{arg.s}, quote(arg.s)
		return m, nil
	case kNum:
		if !rulerc.NumComparable(arg.s) {
			return nil, perr(path, "%s", rulerc.Incomparable(arg.s))
		}
		m.abOp, m.nums, m.raw = opExactNum, []float64{arg.f}, arg.s
		return m, nil
	case kArr:
		if len(arg.vals) == 0 {
			return nil, perr(path, "anything-but list must not be empty; list the strings or numbers to exclude")
		}
		first := arg.vals[0].k
		if first != kStr && first != kNum {
			return nil, perr(path+"[0]", "anything-but lists hold only strings or only numbers, not %s", first)
		}
		parts := make([]string, len(arg.vals))
		for i, e := range arg.vals {
			if e.k != first {
				return nil, perr(fmt.Sprintf("%s[%d]", path, i), "anything-but lists hold only strings or only numbers, not both (element 0 is a %s, this is %s %s)", first, article(e.k), e.k)
			}
			if e.k == kStr {
				m.strs = append(m.strs, e.s)
				parts[i] = quote(e.s)
			} else {
				if !rulerc.NumComparable(e.s) {
					return nil, perr(fmt.Sprintf("%s[%d]", path, i), "%s", rulerc.Incomparable(e.s))
				}
				m.nums = append(m.nums, e.f)
				parts[i] = e.s
			}
		}
		m.abOp = opExactStr
		if first == kNum {
			m.abOp = opExactNum
		}
		m.abList = true
		m.raw = "[" + strings.Join(parts, ",") + "]"
		return m, nil
	case kObj:
		if len(arg.keys) != 1 {
			return nil, perr(path, "anything-but takes an object with exactly one of prefix, suffix, equals-ignore-case or wildcard; it has %d members", len(arg.keys))
		}
		op, v := arg.keys[0], arg.vals[0]
		sub := path + "." + op
		switch op {
		case "prefix", "suffix":
			list, isList, err := stringOrList(v, sub, fmt.Sprintf("anything-but %s takes a string or a list of strings, e.g. {\"anything-but\": {%q: [\"us-\", \"ap-\"]}}", op, op))
			if err != nil {
				return nil, err
			}
			m.abList = isList
			parts := make([]string, len(list))
			for i, e := range list {
				ep := sub
				if m.abList {
					ep = fmt.Sprintf("%s[%d]", sub, i)
				}
				pm, err := parsePrefixSuffix(op, e, ep, true)
				if err != nil {
					return nil, err
				}
				m.abOp = pm.op
				m.strs = append(m.strs, pm.s)
				parts[i] = pm.raw
			}
			inner := parts[0]
			if m.abList {
				inner = "[" + strings.Join(parts, ",") + "]"
			}
			m.raw = "{" + quote(op) + ":" + inner + "}"
			return m, nil
		case "equals-ignore-case", "wildcard":
			list, isList, err := stringOrList(v, sub, fmt.Sprintf("anything-but %s takes a string or a list of strings, not %s %s", op, article(v.k), v.k))
			if err != nil {
				return nil, err
			}
			m.abList = isList
			parts := make([]string, len(list))
			for i, e := range list {
				ep := sub
				if m.abList {
					ep = fmt.Sprintf("%s[%d]", sub, i)
				}
				if e.k != kStr {
					return nil, perr(ep, "anything-but %s takes strings, not %s %s", op, article(e.k), e.k)
				}
				parts[i] = quote(e.s)
				if op == "wildcard" {
					w, werr := parseWildcard(e.s)
					if werr != "" {
						return nil, perr(ep, "%s", werr)
					}
					m.wcs = append(m.wcs, w)
				} else {
					m.strs = append(m.strs, fold(e.s))
					if seq := rulerc.ICSeq(e.s); seq != nil {
						if m.icas == nil {
							m.icas = make([][][]string, len(list))
						}
						m.icas[i] = seq
					}
				}
			}
			m.abOp = opEqualsIC
			if op == "wildcard" {
				m.abOp = opWildcard
			}
			inner := parts[0]
			if m.abList {
				inner = "[" + strings.Join(parts, ",") + "]"
			}
			m.raw = "{" + quote(op) + ":" + inner + "}"
			return m, nil
		}
		hint := ""
		if s := didYouMean(op, []string{"prefix", "suffix", "equals-ignore-case", "wildcard"}); s != "" {
			hint = fmt.Sprintf("did you mean %q? ", s)
		}
		return nil, perr(sub, "anything-but cannot wrap %q; %sit wraps prefix, suffix, equals-ignore-case or wildcard", op, hint)
	}
	return nil, perr(path, "anything-but takes a string, a number, a list of strings or of numbers, or {\"prefix\"|\"suffix\"|\"equals-ignore-case\"|\"wildcard\": ...}, not %s", jsonOf(arg))
}

func parseNumeric(arg *jval, path string) (*matcher, error) {
	const example = `e.g. [">", 0, "<=", 5] or ["=", 3.5]`
	if arg.k != kArr {
		return nil, perr(path, "numeric takes an array of operator/number pairs, %s; not %s %s", example, article(arg.k), arg.k)
	}
	n := len(arg.vals)
	if n != 2 && n != 4 {
		return nil, perr(path, "numeric takes one or two operator/number pairs (2 or 4 elements), %s; it has %d elements", example, n)
	}
	m := &matcher{op: opNumeric}
	parts := make([]string, n)
	var prevOp string
	for i := 0; i < n; i += 2 {
		o, num := arg.vals[i], arg.vals[i+1]
		op := fmt.Sprintf("%s[%d]", path, i)
		if o.k != kStr {
			return nil, perr(op, "expected a comparison operator (\"=\", \"<\", \"<=\", \">\", \">=\"), not %s", jsonOf(o))
		}
		if num.k != kNum {
			return nil, perr(fmt.Sprintf("%s[%d]", path, i+1), "expected a number after %q, not %s (numbers are not quoted)", o.s, jsonOf(num))
		}
		if !rulerc.NumComparable(num.s) {
			return nil, perr(fmt.Sprintf("%s[%d]", path, i+1), "%s", rulerc.Incomparable(num.s))
		}
		parts[i], parts[i+1] = quote(o.s), num.s
		switch o.s {
		case "=":
			if n != 2 {
				return nil, perr(op, "\"=\" cannot be combined with another comparison; use [\"=\", x] alone")
			}
			m.lo, m.hi, m.hasLo, m.hasHi, m.loIncl, m.hiIncl = num.f, num.f, true, true, true, true
		case ">", ">=":
			if i == 2 {
				if prevOp == ">" || prevOp == ">=" {
					return nil, perr(op, "a range has one lower bound (> or >=) and one upper bound (< or <=), %s", example)
				}
				return nil, perr(op, "put the lower bound (%s) first in a range, %s", o.s, example)
			}
			m.lo, m.hasLo, m.loIncl = num.f, true, o.s == ">="
		case "<", "<=":
			if i == 0 && n == 4 {
				return nil, perr(op, "put the lower bound (> or >=) first and the upper bound (%s) second, %s", o.s, example)
			}
			m.hi, m.hasHi, m.hiIncl = num.f, true, o.s == "<="
		default:
			hint := ""
			if s := didYouMean(o.s, []string{"=", "<", "<=", ">", ">="}); s != "" && len(o.s) <= 3 {
				hint = fmt.Sprintf("did you mean %q? ", s)
			}
			return nil, perr(op, "unknown comparison %q; %suse one of \"=\", \"<\", \"<=\", \">\", \">=\"", o.s, hint)
		}
		prevOp = o.s
	}
	if m.hasLo && m.hasHi && n == 4 && !(m.lo < m.hi) {
		return nil, perr(path, "the lower bound %s must be less than the upper bound %s", parts[1], parts[3])
	}
	m.raw = "[" + strings.Join(parts, ",") + "]"
	return m, nil
}

func parseCIDR(arg *jval, path string) (*matcher, error) {
	const example = "write an IPv4 or IPv6 block like \"10.0.0.0/24\" or \"2001:db8::/32\""
	if arg.k != kStr {
		return nil, perr(path, "cidr takes a string like \"10.0.0.0/24\" or \"2001:db8::/32\", not %s %s", article(arg.k), arg.k)
	}
	// As event-ruler's CIDR.cidr: Java's split("/") (trailing empty parts
	// dropped), Integer.parseInt for the mask, its IP literal rules.
	parts := strings.Split(arg.s, "/")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) != 2 {
		return nil, perr(path, "%s is not a CIDR block: it needs one \"/\" and a mask length (for one address use an exact string); %s", quote(arg.s), example)
	}
	bits, ok := rulerc.JavaParseInt(parts[1])
	if !ok || bits < 0 {
		return nil, perr(path, "%s: the mask length %q is not a non-negative integer; %s", quote(arg.s), parts[1], example)
	}
	a, ok := rulerc.JavaIP(parts[0])
	if !ok {
		return nil, perr(path, "%q is not an IP address; %s", parts[0], example)
	}
	if a.Is4() && bits > 31 || !a.Is4() && bits > 127 {
		return nil, perr(path, "%s: EventBridge takes mask lengths up to %d for IPv%s; to match one address use an exact string", quote(arg.s), map[bool]int{true: 31, false: 127}[a.Is4()], map[bool]string{true: "4", false: "6"}[a.Is4()])
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return nil, perr(path, "%q is not a valid CIDR block; %s", arg.s, example)
	}
	return &matcher{op: opCIDR, prefix: p, raw: quote(arg.s)}, nil
}

// didYouMean returns the candidate closest to s by edit distance, if close.
func didYouMean(s string, candidates []string) string {
	best, bestD := "", 1<<30
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := suggest.Distance(ls, c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := len(s)/3 + 1
	if limit > 4 {
		limit = 4
	}
	if bestD <= limit {
		return best
	}
	return ""
}

func writeNode(b *strings.Builder, n *pnode) {
	b.WriteByte('{')
	first := true
	if n.or != nil {
		b.WriteString(`"$or":[`)
		for i, br := range n.or {
			if i > 0 {
				b.WriteByte(',')
			}
			writeNode(b, br)
		}
		b.WriteByte(']')
		first = false
	}
	for _, f := range n.fields {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(quote(f.name))
		b.WriteByte(':')
		if f.nested != nil {
			writeNode(b, f.nested)
			continue
		}
		writeLeaf(b, f.leaf)
	}
	b.WriteByte('}')
}

func writeLeaf(b *strings.Builder, ms []*matcher) {
	b.WriteByte('[')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.json)
	}
	b.WriteByte(']')
}

func leafJSON(ms []*matcher) string {
	var b strings.Builder
	writeLeaf(&b, ms)
	return b.String()
}

var _ = strconv.Quote

// stringOrList returns v as a list of values: itself when it is a string,
// its members when it is a non-empty array (isList); otherwise an error at
// path saying wrong.
func stringOrList(v *jval, path, wrong string) (list []*jval, isList bool, err error) {
	switch v.k {
	case kStr:
		return []*jval{v}, false, nil
	case kArr:
		if len(v.vals) == 0 {
			return nil, false, perr(path, "the list must not be empty")
		}
		return v.vals, true, nil
	}
	return nil, false, perr(path, "%s", wrong)
}
