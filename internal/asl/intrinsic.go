package asl

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Call is a parsed intrinsic function call: States.Format('{} x', $.a).
type Call struct {
	Name string
	Args []arg
	src  string
}

type arg struct {
	lit  any // string, float64, bool, nil
	path *Path
	call *Call
}

// IntrinsicError is an intrinsic call that does not parse (at definition
// time) or fails (States.IntrinsicFailure at run time).
type IntrinsicError struct {
	Expr string
	Msg  string
}

func (e *IntrinsicError) Error() string { return fmt.Sprintf("%s: %s", e.Expr, e.Msg) }

// intrinsics maps each function to its arity: min, max (-1: any).
var intrinsics = map[string][2]int{
	"States.Format":         {1, -1},
	"States.StringToJson":   {1, 1},
	"States.JsonToString":   {1, 1},
	"States.Array":          {0, -1},
	"States.ArrayPartition": {2, 2},
	"States.ArrayContains":  {2, 2},
	"States.ArrayRange":     {3, 3},
	"States.ArrayGetItem":   {2, 2},
	"States.ArrayLength":    {1, 1},
	"States.ArrayUnique":    {1, 1},
	"States.Base64Encode":   {1, 1},
	"States.Base64Decode":   {1, 1},
	"States.Hash":           {2, 2},
	"States.JsonMerge":      {3, 3},
	"States.MathRandom":     {2, 3},
	"States.MathAdd":        {2, 2},
	"States.StringSplit":    {2, 2},
	"States.UUID":           {0, 0},
}

// IntrinsicNames lists the intrinsic functions, for suggestions.
func IntrinsicNames() []string {
	out := make([]string, 0, len(intrinsics))
	for k := range intrinsics {
		out = append(out, k)
	}
	return out
}

// ParseCall parses an intrinsic function call.
func ParseCall(src string) (*Call, error) {
	p := &callParser{src: src}
	c, err := p.call()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(src) {
		return nil, &IntrinsicError{src, fmt.Sprintf("unexpected %q after the call", src[p.i:])}
	}
	return c, nil
}

type callParser struct {
	src string
	i   int
}

func (p *callParser) ws() {
	for p.i < len(p.src) && p.src[p.i] == ' ' {
		p.i++
	}
}

func (p *callParser) errf(format string, args ...any) error {
	return &IntrinsicError{p.src, fmt.Sprintf(format, args...)}
}

func (p *callParser) call() (*Call, error) {
	start := p.i
	j := p.i
	for j < len(p.src) && p.src[j] != '(' && p.src[j] != ' ' {
		j++
	}
	name := p.src[p.i:j]
	lim, ok := intrinsics[name]
	if !ok {
		return nil, p.errf("unknown intrinsic function %q", name)
	}
	p.i = j
	p.ws()
	if p.i >= len(p.src) || p.src[p.i] != '(' {
		return nil, p.errf("expected ( after %s", name)
	}
	p.i++
	c := &Call{Name: name}
	p.ws()
	if p.i < len(p.src) && p.src[p.i] == ')' {
		p.i++
	} else {
		for {
			p.ws()
			a, err := p.arg()
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, a)
			p.ws()
			if p.i < len(p.src) && p.src[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.src) && p.src[p.i] == ')' {
				p.i++
				break
			}
			return nil, p.errf("expected , or ) in the arguments of %s", name)
		}
	}
	if len(c.Args) < lim[0] || (lim[1] >= 0 && len(c.Args) > lim[1]) {
		want := strconv.Itoa(lim[0])
		if lim[1] != lim[0] {
			if lim[1] < 0 {
				want = "at least " + want
			} else {
				want = fmt.Sprintf("%d to %d", lim[0], lim[1])
			}
		}
		noun := "arguments"
		if want == "1" {
			noun = "argument"
		}
		return nil, p.errf("%s takes %s %s, not %d", name, want, noun, len(c.Args))
	}
	c.src = p.src[start:p.i]
	return c, nil
}

func (p *callParser) arg() (arg, error) {
	if p.i >= len(p.src) {
		return arg{}, p.errf("expected an argument")
	}
	c := p.src[p.i]
	switch {
	case c == '\'':
		p.i++
		var b strings.Builder
		for p.i < len(p.src) {
			c := p.src[p.i]
			if c == '\\' && p.i+1 < len(p.src) {
				n := p.src[p.i+1]
				if n == '{' || n == '}' {
					// keep the escape: States.Format reads it
					b.WriteByte('\\')
				}
				b.WriteByte(n)
				p.i += 2
				continue
			}
			if c == '\'' {
				p.i++
				return arg{lit: b.String()}, nil
			}
			b.WriteByte(c)
			p.i++
		}
		return arg{}, p.errf("unterminated string")
	case c == '$':
		j := p.i
		depth := 0
		inq := byte(0)
		for j < len(p.src) {
			ch := p.src[j]
			if inq != 0 {
				if ch == inq {
					inq = 0
				}
				j++
				continue
			}
			if ch == '\'' || ch == '"' {
				inq = ch
			} else if ch == '[' || ch == '(' {
				depth++
			} else if ch == ']' || (ch == ')' && depth > 0) {
				depth--
			} else if depth == 0 && (ch == ',' || ch == ')' || ch == ' ') {
				break
			}
			j++
		}
		path, err := ParsePath(p.src[p.i:j])
		if err != nil {
			return arg{}, p.errf("%v", err)
		}
		p.i = j
		return arg{path: path}, nil
	case strings.HasPrefix(p.src[p.i:], "States."):
		sub, err := p.call()
		if err != nil {
			return arg{}, err
		}
		return arg{call: sub}, nil
	case strings.HasPrefix(p.src[p.i:], "true"):
		p.i += 4
		return arg{lit: true}, nil
	case strings.HasPrefix(p.src[p.i:], "false"):
		p.i += 5
		return arg{lit: false}, nil
	case strings.HasPrefix(p.src[p.i:], "null"):
		p.i += 4
		return arg{lit: nil}, nil
	default:
		j := p.i
		for j < len(p.src) && strings.IndexByte("+-.eE0123456789", p.src[j]) >= 0 {
			j++
		}
		f, err := strconv.ParseFloat(p.src[p.i:j], 64)
		if err != nil || j == p.i {
			return arg{}, p.errf("expected a string, a number, true, false, null, a path or a call at %q", p.src[p.i:])
		}
		p.i = j
		return arg{lit: f}, nil
	}
}

// Env is what intrinsic functions read besides their arguments.
type Env struct {
	Input, Context any
	UUID           func() string
	Rand           *rand.Rand
}

func (c *Call) fail(format string, args ...any) error {
	return &IntrinsicError{c.src, fmt.Sprintf(format, args...)}
}

// Eval evaluates the call.
func (c *Call) Eval(env *Env) (any, error) {
	vals := make([]any, len(c.Args))
	for i, a := range c.Args {
		switch {
		case a.path != nil:
			v, err := a.path.Select(env.Input, env.Context)
			if err != nil {
				return nil, c.fail("%v", err)
			}
			vals[i] = v
		case a.call != nil:
			v, err := a.call.Eval(env)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		default:
			vals[i] = a.lit
		}
	}
	num := func(i int) (float64, error) {
		f, ok := vals[i].(float64)
		if !ok {
			return 0, c.fail("argument %d must be a number, not %s", i+1, typeName(vals[i]))
		}
		return f, nil
	}
	integer := func(i int) (int, error) {
		f, err := num(i)
		if err != nil {
			return 0, err
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
			return 0, c.fail("argument %d must be an integer, not %v", i+1, f)
		}
		return int(f), nil
	}
	str := func(i int) (string, error) {
		s, ok := vals[i].(string)
		if !ok {
			return "", c.fail("argument %d must be a string, not %s", i+1, typeName(vals[i]))
		}
		return s, nil
	}
	array := func(i int) ([]any, error) {
		a, ok := vals[i].([]any)
		if !ok {
			return nil, c.fail("argument %d must be an array, not %s", i+1, typeName(vals[i]))
		}
		return a, nil
	}
	switch c.Name {
	case "States.Format":
		tpl, err := str(0)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		n := 1
		for i := 0; i < len(tpl); i++ {
			ch := tpl[i]
			if ch == '\\' && i+1 < len(tpl) {
				b.WriteByte(tpl[i+1])
				i++
				continue
			}
			if ch == '{' && i+1 < len(tpl) && tpl[i+1] == '}' {
				if n >= len(vals) {
					return nil, c.fail("the template has more {} than arguments")
				}
				switch v := vals[n].(type) {
				case string:
					b.WriteString(v)
				case float64:
					b.WriteString(formatNumber(v))
				case bool:
					b.WriteString(strconv.FormatBool(v))
				case nil:
					b.WriteString("null")
				default:
					return nil, c.fail("argument %d must be a string, number, boolean or null, not %s", n+1, typeName(v))
				}
				n++
				i++
				continue
			}
			b.WriteByte(ch)
		}
		if n != len(vals) {
			return nil, c.fail("the template has %d {} for %d arguments", n-1, len(vals)-1)
		}
		return b.String(), nil
	case "States.StringToJson":
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, c.fail("the argument is not JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		b, err := MarshalJSON(vals[0])
		if err != nil {
			return nil, c.fail("%v", err)
		}
		return string(b), nil
	case "States.Array":
		return append([]any{}, vals...), nil
	case "States.ArrayPartition":
		a, err := array(0)
		if err != nil {
			return nil, err
		}
		size, err := integer(1)
		if err != nil {
			return nil, err
		}
		if size <= 0 {
			return nil, c.fail("the chunk size must be positive")
		}
		out := []any{}
		for i := 0; i < len(a); i += size {
			out = append(out, append([]any{}, a[i:min(i+size, len(a))]...))
		}
		return out, nil
	case "States.ArrayContains":
		a, err := array(0)
		if err != nil {
			return nil, err
		}
		for _, x := range a {
			if jsonEqual(x, vals[1]) {
				return true, nil
			}
		}
		return false, nil
	case "States.ArrayRange":
		start, err := integer(0)
		if err != nil {
			return nil, err
		}
		end, err := integer(1)
		if err != nil {
			return nil, err
		}
		step, err := integer(2)
		if err != nil {
			return nil, err
		}
		if step == 0 {
			return nil, c.fail("the step cannot be 0")
		}
		out := []any{}
		for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
			if len(out) >= 1000 {
				return nil, c.fail("the range has more than 1000 items")
			}
			out = append(out, float64(i))
		}
		return out, nil
	case "States.ArrayGetItem":
		a, err := array(0)
		if err != nil {
			return nil, err
		}
		i, err := integer(1)
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= len(a) {
			return nil, c.fail("index %d is out of the array's range (length %d)", i, len(a))
		}
		return a[i], nil
	case "States.ArrayLength":
		a, err := array(0)
		if err != nil {
			return nil, err
		}
		return float64(len(a)), nil
	case "States.ArrayUnique":
		a, err := array(0)
		if err != nil {
			return nil, err
		}
		out := []any{}
	next:
		for _, x := range a {
			for _, y := range out {
				if jsonEqual(x, y) {
					continue next
				}
			}
			out = append(out, x)
		}
		return out, nil
	case "States.Base64Encode":
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "States.Base64Decode":
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, c.fail("the argument is not base64: %v", err)
		}
		return string(b), nil
	case "States.Hash":
		var data string
		if s, ok := vals[0].(string); ok {
			data = s
		} else {
			b, err := MarshalJSON(vals[0])
			if err != nil {
				return nil, c.fail("%v", err)
			}
			data = string(b)
		}
		alg, err := str(1)
		if err != nil {
			return nil, err
		}
		var h hash.Hash
		switch alg {
		case "MD5":
			h = md5.New()
		case "SHA-1":
			h = sha1.New()
		case "SHA-256":
			h = sha256.New()
		case "SHA-384":
			h = sha512.New384()
		case "SHA-512":
			h = sha512.New()
		default:
			return nil, c.fail("the algorithm must be MD5, SHA-1, SHA-256, SHA-384 or SHA-512, not %q", alg)
		}
		h.Write([]byte(data))
		return hex.EncodeToString(h.Sum(nil)), nil
	case "States.JsonMerge":
		a, ok1 := vals[0].(map[string]any)
		b, ok2 := vals[1].(map[string]any)
		if !ok1 || !ok2 {
			return nil, c.fail("both arguments must be objects")
		}
		if deep, _ := vals[2].(bool); deep {
			return nil, c.fail("only a shallow merge (false) is supported")
		}
		out := make(map[string]any, len(a)+len(b))
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b {
			out[k] = v
		}
		return out, nil
	case "States.MathRandom":
		lo, err := integer(0)
		if err != nil {
			return nil, err
		}
		hi, err := integer(1)
		if err != nil {
			return nil, err
		}
		if hi <= lo {
			return nil, c.fail("the end must be greater than the start")
		}
		r := env.Rand
		if len(vals) == 3 {
			seed, err := integer(2)
			if err != nil {
				return nil, err
			}
			r = rand.New(rand.NewPCG(uint64(seed), 0))
		}
		if r == nil {
			r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		}
		return float64(lo + r.IntN(hi-lo)), nil
	case "States.MathAdd":
		a, err := integer(0)
		if err != nil {
			return nil, err
		}
		b, err := integer(1)
		if err != nil {
			return nil, err
		}
		return float64(a + b), nil
	case "States.StringSplit":
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		d, err := str(1)
		if err != nil {
			return nil, err
		}
		parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) })
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	case "States.UUID":
		if env.UUID != nil {
			return env.UUID(), nil
		}
		return newUUID(env.Rand), nil
	}
	return nil, c.fail("unknown intrinsic function")
}

func newUUID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		if r != nil {
			b[i] = byte(r.Uint32())
		} else {
			b[i] = byte(rand.Uint32())
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// MarshalJSON encodes v compactly without escaping HTML characters (as
// Step Functions does).
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}
