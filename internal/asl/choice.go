package asl

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/evcli/evcli/internal/suggest"
)

// operand says what a comparison operator compares with.
type operand int

const (
	opString operand = iota
	opNumber
	opBool
	opTimestamp
	opPath
)

// choiceOps is built on first use (start-up time).
var choiceOps = sync.OnceValue(func() map[string]operand {
	choiceOps := map[string]operand{}
	for _, k := range []string{"Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"} {
		choiceOps["String"+k] = opString
		choiceOps["Numeric"+k] = opNumber
		choiceOps["Timestamp"+k] = opTimestamp
		choiceOps["String"+k+"Path"] = opPath
		choiceOps["Numeric"+k+"Path"] = opPath
		choiceOps["Timestamp"+k+"Path"] = opPath
	}
	choiceOps["StringMatches"] = opString
	choiceOps["BooleanEquals"] = opBool
	choiceOps["BooleanEqualsPath"] = opPath
	for _, k := range []string{"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"} {
		choiceOps[k] = opBool
	}
	return choiceOps
})

func choiceOpNames() []string {
	out := []string{"And", "Or", "Not"}
	for k := range choiceOps() {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (v *validator) choice(n *Node, st *State, path string) {
	cs := n.Get("Choices")
	if cs == nil || cs.Kind != Array || len(cs.Elems) == 0 {
		v.errf(n, keyOff(n, "Choices"), join(path, "Choices"), "", "a Choice state needs Choices: a non-empty array of rules")
		return
	}
	for i, e := range cs.Elems {
		st.Choices = append(st.Choices, v.rule(e, fmt.Sprintf("%s.Choices[%d]", path, i), true))
	}
	st.Default, _ = v.str(n, "Default", path, false)
}

func (v *validator) rule(n *Node, path string, top bool) *ChoiceRule {
	if n.Kind != Object {
		v.errf(n, -1, path, "", "a choice rule must be an object")
		return nil
	}
	r := &ChoiceRule{}
	if top {
		next, ok := v.str(n, "Next", path, false)
		if !ok && n.Get("Next") == nil {
			v.errf(n, -1, path, "", "a choice rule needs Next")
		}
		r.Next = next
	} else if n.Get("Next") != nil {
		v.errf(nil, keyOff(n, "Next"), join(path, "Next"), "only the rules directly in Choices have Next", "a rule inside And, Or or Not cannot have Next")
	}
	var ops []string
	unknown := 0
	for _, m := range n.Members {
		switch m.Key {
		case "Next", "Comment", "Variable":
			continue
		case "And", "Or":
			ops = append(ops, m.Key)
			if m.Val.Kind != Array || len(m.Val.Elems) == 0 {
				v.errf(m.Val, -1, join(path, m.Key), "", "%s takes a non-empty array of rules", m.Key)
				continue
			}
			var sub []*ChoiceRule
			for i, e := range m.Val.Elems {
				sub = append(sub, v.rule(e, fmt.Sprintf("%s.%s[%d]", path, m.Key, i), false))
			}
			if m.Key == "And" {
				r.And = sub
			} else {
				r.Or = sub
			}
		case "Not":
			ops = append(ops, m.Key)
			r.Not = v.rule(m.Val, join(path, "Not"), false)
		default:
			kind, ok := choiceOps()[m.Key]
			if !ok {
				hint := ""
				if s := suggest.Closest(m.Key, choiceOpNames()); s != "" {
					hint = fmt.Sprintf("did you mean %q?", s)
				}
				v.errf(nil, m.KeyOff, join(path, m.Key), hint, "unknown comparison operator %q", m.Key)
				unknown++
				continue
			}
			ops = append(ops, m.Key)
			r.Op = m.Key
			p := join(path, m.Key)
			switch kind {
			case opString:
				if m.Val.Kind != String {
					v.errf(m.Val, -1, p, "", "%s compares with a string", m.Key)
					continue
				}
				r.Value = m.Val.Str
				if m.Key == "StringMatches" {
					r.matcher = globMatcher(m.Val.Str)
				}
			case opNumber:
				if m.Val.Kind != Number {
					v.errf(m.Val, -1, p, "", "%s compares with a number", m.Key)
					continue
				}
				r.Value = m.Val.Num
			case opBool:
				if m.Val.Kind != Bool {
					v.errf(m.Val, -1, p, "", "%s takes true or false", m.Key)
					continue
				}
				r.Value = m.Val.Bool
			case opTimestamp:
				if m.Val.Kind != String || !isTimestamp(m.Val.Str) {
					v.errf(m.Val, -1, p, "e.g. 2026-03-14T01:59:00Z", "%s compares with an RFC 3339 timestamp", m.Key)
					continue
				}
				r.Value = m.Val.Str
			case opPath:
				if m.Val.Kind != String {
					v.errf(m.Val, -1, p, "", "%s takes a JSONPath", m.Key)
					continue
				}
				if pp := v.pathStr(m.Val, p, true); pp != nil {
					r.Value = pp
				}
			}
		}
	}
	switch {
	case len(ops) == 0 && unknown == 0:
		v.errf(n, -1, path, "e.g. \"NumericGreaterThan\": 10, or And/Or/Not", "a choice rule needs a comparison operator or And, Or, Not")
	case len(ops) > 1:
		v.errf(n, -1, path, "combine them with And", "a choice rule has one operator, not %s", strings.Join(ops, " and "))
	}
	if r.Op != "" {
		if n.Get("Variable") == nil {
			v.errf(n, -1, path, "", "a comparison needs Variable")
		} else {
			r.Variable = v.path(n, "Variable", path, false)
		}
	} else if n.Get("Variable") != nil && len(ops) > 0 {
		v.errf(nil, keyOff(n, "Variable"), join(path, "Variable"), "", "And, Or and Not take no Variable")
	}
	return r
}

// globMatcher compiles StringMatches' pattern: * matches any characters,
// \* and \\ are literal.
func globMatcher(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' && i+1 < len(p) {
			b.WriteString(regexp.QuoteMeta(string(p[i+1])))
			i++
			continue
		}
		if c == '*' {
			b.WriteString("(?s:.*)")
			continue
		}
		b.WriteString(regexp.QuoteMeta(string(c)))
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func isTimestamp(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// Eval tells whether the rule matches input.
func (r *ChoiceRule) Eval(input, ctx any) (bool, error) {
	switch {
	case r.And != nil:
		for _, s := range r.And {
			ok, err := s.Eval(input, ctx)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.Or != nil:
		for _, s := range r.Or {
			ok, err := s.Eval(input, ctx)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.Not != nil:
		ok, err := r.Not.Eval(input, ctx)
		return !ok, err
	}
	x, err := r.Variable.Select(input, ctx)
	present := err == nil
	if r.Op == "IsPresent" {
		return present == r.Value.(bool), nil
	}
	if !present {
		return false, &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", r.Variable)}
	}
	operand := r.Value
	if p, ok := operand.(*Path); ok {
		operand, err = p.Select(input, ctx)
		if err != nil {
			return false, &Failure{Name: "States.Runtime", Cause: fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", p)}
		}
	}
	op := strings.TrimSuffix(r.Op, "Path")
	switch op {
	case "IsNull":
		return (x == nil) == r.Value.(bool), nil
	case "IsNumeric":
		_, ok := x.(float64)
		return ok == r.Value.(bool), nil
	case "IsString":
		_, ok := x.(string)
		return ok == r.Value.(bool), nil
	case "IsBoolean":
		_, ok := x.(bool)
		return ok == r.Value.(bool), nil
	case "IsTimestamp":
		s, ok := x.(string)
		return (ok && isTimestamp(s)) == r.Value.(bool), nil
	case "StringMatches":
		s, ok := x.(string)
		return ok && r.matcher.MatchString(s), nil
	case "BooleanEquals":
		a, ok1 := x.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b, nil
	}
	var cmp string
	for _, suffix := range []string{"LessThanEquals", "GreaterThanEquals", "LessThan", "GreaterThan", "Equals"} {
		if strings.HasSuffix(op, suffix) {
			cmp = suffix
			op = strings.TrimSuffix(op, suffix)
			break
		}
	}
	var c int
	switch op {
	case "String":
		a, ok1 := x.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		c = strings.Compare(a, b)
	case "Numeric":
		a, ok1 := x.(float64)
		b, ok2 := operand.(float64)
		if !ok1 || !ok2 || math.IsNaN(a) || math.IsNaN(b) {
			return false, nil
		}
		c = cmpFloat(a, b)
	case "Timestamp":
		a, ok1 := x.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		ta, err1 := time.Parse(time.RFC3339Nano, a)
		tb, err2 := time.Parse(time.RFC3339Nano, b)
		if err1 != nil || err2 != nil {
			return false, nil
		}
		c = ta.Compare(tb)
	}
	switch cmp {
	case "Equals":
		return c == 0, nil
	case "LessThan":
		return c < 0, nil
	case "GreaterThan":
		return c > 0, nil
	case "LessThanEquals":
		return c <= 0, nil
	case "GreaterThanEquals":
		return c >= 0, nil
	}
	return false, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
