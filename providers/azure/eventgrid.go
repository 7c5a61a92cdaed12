package azure

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/evcli/evcli/providers"
)

// Rules on Azure. The bus is an Event Grid custom topic that takes
// CloudEvents 1.0; each rule of a function is an event subscription on the
// topic, delivering to the function, with the rule's EventBridge pattern
// translated into Event Grid's own filters so that Event Grid, not the
// function, drops what the pattern does not match:
//
//	source                 key "source"
//	detail-type            includedEventTypes (exact values), else key "type"
//	id                     key "id"
//	detail.a.b             key "data.a.b"
//
//	"x" (exact string)     StringIn            equals-ignore-case  StringIn
//	5 (exact number)       NumberIn            true / false        BoolEquals
//	null                   IsNullOrUndefined   exists true/false   IsNotNull / IsNullOrUndefined
//	prefix / suffix        StringBeginsWith / StringEndsWith (also of equals-ignore-case)
//	anything-but           StringNotIn, NumberNotIn, StringNotBeginsWith, StringNotEndsWith
//	numeric                NumberGreaterThan[OrEquals], NumberLessThan[OrEquals], NumberIn,
//	                       NumberInRange (several inclusive ranges)
//
// A field's matchers are alternatives (OR); Event Grid ORs only the values
// of one filter, so a field may use one operator (several exact strings,
// several prefixes, several inclusive ranges), and ANDs its filters, as
// EventBridge ANDs fields. Limits: 25 advanced filters and 25 values in
// all per subscription, strings of 512 characters.
//
// Where Event Grid's semantics differ from EventBridge's, point by point:
//
//   - strings compare without case in Event Grid (StringIn "Paid" matches
//     "PAID"); EventBridge's exact, prefix, suffix and anything-but are
//     case-sensitive: Event Grid delivers more (Wider), and its negated
//     filters exclude more (Narrower). Hence equals-ignore-case is exact in
//     Event Grid.
//   - null and IsNullOrUndefined: Event Grid matches a missing key too, and
//     exists:false a null value too (Wider); a negated filter (anything-but)
//     passes an event without the key, which anything-but does not match
//     (Wider).
//   - exists:true is IsNotNull, which a null value fails; EventBridge's
//     exists counts a null leaf as present (Narrower).
//   - arrays (enableAdvancedFilteringOnArrays): a positive operator matches
//     when any element does, as in EventBridge; a negated one (NotIn,
//     NotBeginsWith…) fails when any element is excluded, where
//     EventBridge matches when any element is not (Narrower).
//   - numbers are .NET decimals in Event Grid, doubles in EventBridge: the
//     same for the values patterns use.
//
// Wider differences are closed by the in-function guard when the project
// opts into it; Narrower ones are said as notes. What Event Grid cannot
// express at all — wildcard, cidr, $or, mixed operators on one field,
// exclusive bounds in a range alternative, the envelope members a
// CloudEvent does not carry (account, region, resources, time, version),
// over the limits — is Unenforceable: deploy refuses the rule, naming the
// operator and where it stands, unless the guard is opted into; then the
// part is left out of the filter (Event Grid delivers more) and the guard
// applies the whole pattern.

// Event Grid's limits per event subscription.
const (
	MaxAdvancedFilters = 25
	MaxFilterValues    = 25
	MaxStringValue     = 512
)

// Filter is an event subscription's filter, in the REST API's JSON shape.
type Filter struct {
	IncludedEventTypes              []string         `json:"includedEventTypes,omitempty"`
	AdvancedFilters                 []AdvancedFilter `json:"advancedFilters,omitempty"`
	EnableAdvancedFilteringOnArrays bool             `json:"enableAdvancedFilteringOnArrays"`
}

// AdvancedFilter is one advanced filter: Values for the operators that take
// several (a NumberInRange value is a [low, high] pair), Value for the
// others (a number, or a bool for BoolEquals), neither for the null
// checks.
type AdvancedFilter struct {
	OperatorType string `json:"operatorType"`
	Key          string `json:"key"`
	Values       []any  `json:"values,omitempty"`
	Value        any    `json:"value,omitempty"`
}

// Problem is one part of a pattern Event Grid cannot enforce as written.
type Problem struct {
	// Path is the pattern member ("detail.ip", "$or").
	Path string
	// Operator is the pattern's operator there ("cidr", "wildcard", "$or").
	Operator string
	// Why says what Event Grid lacks.
	Why string
}

func (p Problem) String() string {
	return p.Path + ": " + p.Operator + " (" + p.Why + ")"
}

// Translation is what Event Grid enforces of one pattern.
type Translation struct {
	Filter Filter
	// Unenforceable are the parts Event Grid's filters cannot say: deploy
	// refuses the rule unless the guard is opted into.
	Unenforceable []Problem
	// Wider are the points where Event Grid delivers events the pattern
	// does not match (case, null); the guard closes them.
	Wider []string
	// Narrower are the points where Event Grid drops events the pattern
	// matches (exists on null, negations on arrays).
	Narrower []string
}

// Enforceable reports whether Event Grid alone delivers what the pattern
// matches, up to the Wider and Narrower points.
func (t Translation) Enforceable() bool { return len(t.Unenforceable) == 0 }

// envelopeKey maps the envelope members a CloudEvent carries to their
// Event Grid keys.
var envelopeKey = map[string]string{"source": "source", "detail-type": "type", "id": "id"}

// Translate turns an EventBridge pattern into an Event Grid filter, the
// parts it cannot enforce, and where their semantics differ.
func Translate(pattern []byte) (Translation, error) {
	dec := json.NewDecoder(bytes.NewReader(pattern))
	dec.UseNumber()
	var pat map[string]any
	if err := dec.Decode(&pat); err != nil {
		return Translation{}, fmt.Errorf("the pattern is not a JSON object: %v", err)
	}
	t := Translation{Filter: Filter{EnableAdvancedFilteringOnArrays: true}}
	for _, k := range sortedKeys(pat) {
		switch {
		case k == "$or":
			t.unenforceable(k, "$or", "an event subscription's filters are one AND of fields; alternatives across fields need one subscription each")
		case k == "detail":
			obj, ok := pat[k].(map[string]any)
			if !ok {
				t.unenforceable(k, "matcher", "detail must be an object of fields")
				continue
			}
			t.object("detail", "data", obj)
		case envelopeKey[k] != "":
			t.field(k, envelopeKey[k], pat[k])
		default:
			t.unenforceable(k, "field", "a CloudEvent on Event Grid does not carry the EventBridge member "+k)
		}
	}
	t.checkLimits()
	return t, nil
}

func (t *Translation) unenforceable(path, op, why string) {
	t.Unenforceable = append(t.Unenforceable, Problem{Path: path, Operator: op, Why: why})
}

func (t *Translation) add(f AdvancedFilter) {
	t.Filter.AdvancedFilters = append(t.Filter.AdvancedFilters, f)
}

func (t *Translation) wider(path, note string) {
	t.Wider = append(t.Wider, path+": "+note)
}

func (t *Translation) narrower(path, note string) {
	t.Narrower = append(t.Narrower, path+": "+note)
}

// object translates the fields of a detail object.
func (t *Translation) object(path, key string, obj map[string]any) {
	for _, k := range sortedKeys(obj) {
		p, kk := path+"."+k, key+"."+k
		if k == "$or" {
			t.unenforceable(p, "$or", "an event subscription's filters are one AND of fields; alternatives across fields need one subscription each")
			continue
		}
		if strings.Contains(k, ".") {
			t.unenforceable(p, "field", "Event Grid keys use '.' as the path separator, so a field name with a dot cannot be addressed")
			continue
		}
		switch v := obj[k].(type) {
		case map[string]any:
			t.object(p, kk, v)
		default:
			t.field(p, kk, v)
		}
	}
}

// matcher classes of one field's alternatives.
const (
	mExactString = "exact string"
	mExactNumber = "exact number"
	mBool        = "boolean"
	mNull        = "null"
	mPrefix      = "prefix"
	mSuffix      = "suffix"
	mIgnoreCase  = "equals-ignore-case"
	mAnything    = "anything-but"
	mNumeric     = "numeric"
	mExists      = "exists"
)

// alt is one alternative of a field, classified.
type alt struct {
	class string
	op    string // the pattern operator, for messages
	arg   any
}

// field translates one field's list of matchers (alternatives).
func (t *Translation) field(path, key string, v any) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		t.unenforceable(path, "matcher", "a field's matchers are a non-empty list")
		return
	}
	var alts []alt
	for _, m := range list {
		switch m := m.(type) {
		case string:
			alts = append(alts, alt{mExactString, "exact", m})
		case json.Number:
			alts = append(alts, alt{mExactNumber, "exact", m})
		case bool:
			alts = append(alts, alt{mBool, "exact", m})
		case nil:
			alts = append(alts, alt{mNull, "exact", nil})
		case map[string]any:
			if len(m) != 1 {
				t.unenforceable(path, "matcher", "a matcher with several operators")
				return
			}
			for op, arg := range m {
				switch op {
				case "prefix", "suffix":
					if s, ok := arg.(string); ok {
						alts = append(alts, alt{op, op, s})
					} else if ic, ok := arg.(map[string]any); ok && len(ic) == 1 && isString(ic["equals-ignore-case"]) {
						alts = append(alts, alt{op, op + " equals-ignore-case", ic["equals-ignore-case"]})
					} else {
						t.unenforceable(path, op, "the operand is neither a string nor equals-ignore-case of one")
						return
					}
				case "equals-ignore-case":
					if !isString(arg) {
						t.unenforceable(path, op, "the operand is not a string")
						return
					}
					alts = append(alts, alt{mIgnoreCase, op, arg})
				case "anything-but", "numeric", "exists":
					alts = append(alts, alt{op, op, arg})
				default: // wildcard, cidr, and what EventBridge adds later
					t.unenforceable(path, op, "Event Grid has no "+op+" filter")
					return
				}
			}
		default:
			t.unenforceable(path, "matcher", "an array or object where a value was expected")
			return
		}
	}
	if path == "detail-type" && allClass(alts, mExactString) {
		for _, a := range alts {
			t.Filter.IncludedEventTypes = append(t.Filter.IncludedEventTypes, a.arg.(string))
		}
		t.wider(path, "event types compare without case in Event Grid")
		return
	}
	classes := map[string]bool{}
	for _, a := range alts {
		c := a.class
		if c == mIgnoreCase {
			c = mExactString
		}
		classes[c] = true
	}
	if len(classes) > 1 {
		var names []string
		for c := range classes {
			names = append(names, c)
		}
		sort.Strings(names)
		t.unenforceable(path, strings.Join(names, " | "), "Event Grid ORs only the values of one operator; these alternatives mix operators")
		return
	}
	switch class := alts[0].class; class {
	case mExactString, mIgnoreCase:
		vals, caseSensitive := []any{}, false
		for _, a := range alts {
			vals = append(vals, a.arg)
			caseSensitive = caseSensitive || a.class == mExactString
		}
		t.add(AdvancedFilter{OperatorType: "StringIn", Key: key, Values: vals})
		if caseSensitive {
			t.wider(path, "StringIn compares without case")
		}
	case mExactNumber:
		vals := []any{}
		for _, a := range alts {
			vals = append(vals, a.arg)
		}
		t.add(AdvancedFilter{OperatorType: "NumberIn", Key: key, Values: vals})
	case mBool:
		if len(alts) > 1 {
			t.unenforceable(path, "exact", "true and false together: BoolEquals takes one value")
			return
		}
		t.add(AdvancedFilter{OperatorType: "BoolEquals", Key: key, Value: alts[0].arg})
	case mNull:
		t.add(AdvancedFilter{OperatorType: "IsNullOrUndefined", Key: key})
		t.wider(path, "IsNullOrUndefined matches a missing key too")
	case mPrefix, mSuffix:
		op := map[string]string{mPrefix: "StringBeginsWith", mSuffix: "StringEndsWith"}[class]
		vals, caseSensitive := []any{}, false
		for _, a := range alts {
			vals = append(vals, a.arg)
			caseSensitive = caseSensitive || !strings.Contains(a.op, "equals-ignore-case")
		}
		t.add(AdvancedFilter{OperatorType: op, Key: key, Values: vals})
		if caseSensitive {
			t.wider(path, op+" compares without case")
		}
	case mExists:
		if len(alts) > 1 {
			t.unenforceable(path, "exists", "several exists matchers on one field")
			return
		}
		b, ok := alts[0].arg.(bool)
		if !ok {
			t.unenforceable(path, "exists", "the operand is not true or false")
			return
		}
		if b {
			t.add(AdvancedFilter{OperatorType: "IsNotNull", Key: key})
			t.narrower(path, "IsNotNull fails on a null value, which EventBridge's exists counts as present")
		} else {
			t.add(AdvancedFilter{OperatorType: "IsNullOrUndefined", Key: key})
			t.wider(path, "IsNullOrUndefined matches a null value too")
		}
	case mAnything:
		if len(alts) > 1 {
			t.unenforceable(path, "anything-but", "several anything-but matchers on one field")
			return
		}
		t.anythingBut(path, key, alts[0].arg)
	case mNumeric:
		t.numeric(path, key, alts)
	}
}

func (t *Translation) anythingBut(path, key string, arg any) {
	t.narrower(path, "a negated filter fails when any array element is excluded, where EventBridge matches when any element is not")
	t.wider(path, "a negated filter passes an event without the key, which EventBridge's anything-but does not match")
	switch a := arg.(type) {
	case string, json.Number:
		arg = []any{a}
	}
	switch a := arg.(type) {
	case []any:
		if len(a) == 0 {
			t.unenforceable(path, "anything-but", "an empty list")
			return
		}
		if allOf(a, isString) {
			t.add(AdvancedFilter{OperatorType: "StringNotIn", Key: key, Values: a})
			t.narrower(path, "StringNotIn compares without case, so it also excludes values that differ only in case")
			return
		}
		if allOf(a, isNumber) {
			t.add(AdvancedFilter{OperatorType: "NumberNotIn", Key: key, Values: a})
			return
		}
		t.unenforceable(path, "anything-but", "a mix of strings and numbers: Event Grid's NotIn filters take one type")
	case map[string]any:
		if len(a) != 1 {
			t.unenforceable(path, "anything-but", "an operand with several operators")
			return
		}
		for op, v := range a {
			fop := map[string]string{"prefix": "StringNotBeginsWith", "suffix": "StringNotEndsWith", "equals-ignore-case": "StringNotIn"}[op]
			if fop == "" {
				t.unenforceable(path, "anything-but "+op, "Event Grid has no negated "+op+" filter")
				return
			}
			vals, ok := v.([]any)
			if !ok {
				vals = []any{v}
			}
			if !allOf(vals, isString) || len(vals) == 0 {
				t.unenforceable(path, "anything-but "+op, "the operand is not a string or a list of strings")
				return
			}
			t.add(AdvancedFilter{OperatorType: fop, Key: key, Values: vals})
			if op != "equals-ignore-case" {
				t.narrower(path, fop+" compares without case, so it also excludes values that differ only in case")
			}
		}
	default:
		t.unenforceable(path, "anything-but", "the operand is not a value, a list or an operator")
	}
}

// numeric translates numeric alternatives: one matcher becomes a filter
// per comparison (ANDed); several must each be "=" or an inclusive range
// (NumberIn / NumberInRange).
func (t *Translation) numeric(path, key string, alts []alt) {
	type cmp struct {
		op string
		n  json.Number
	}
	parse := func(arg any) ([]cmp, bool) {
		l, ok := arg.([]any)
		if !ok || len(l) == 0 || len(l)%2 != 0 || len(l) > 4 {
			return nil, false
		}
		var out []cmp
		for i := 0; i < len(l); i += 2 {
			op, ok1 := l[i].(string)
			n, ok2 := l[i+1].(json.Number)
			if !ok1 || !ok2 {
				return nil, false
			}
			out = append(out, cmp{op, n})
		}
		return out, true
	}
	if len(alts) == 1 {
		cmps, ok := parse(alts[0].arg)
		if !ok {
			t.unenforceable(path, "numeric", "the operand is not a list of comparisons")
			return
		}
		for _, c := range cmps {
			op := map[string]string{">": "NumberGreaterThan", ">=": "NumberGreaterThanOrEquals", "<": "NumberLessThan", "<=": "NumberLessThanOrEquals", "=": "NumberIn"}[c.op]
			if op == "" {
				t.unenforceable(path, "numeric "+c.op, "not a comparison Event Grid has")
				return
			}
			if op == "NumberIn" {
				t.add(AdvancedFilter{OperatorType: op, Key: key, Values: []any{c.n}})
			} else {
				t.add(AdvancedFilter{OperatorType: op, Key: key, Value: c.n})
			}
		}
		return
	}
	var in []any
	var ranges []any
	for _, a := range alts {
		cmps, ok := parse(a.arg)
		if !ok {
			t.unenforceable(path, "numeric", "the operand is not a list of comparisons")
			return
		}
		switch {
		case len(cmps) == 1 && cmps[0].op == "=":
			in = append(in, cmps[0].n)
		case len(cmps) == 2 && cmps[0].op == ">=" && cmps[1].op == "<=":
			ranges = append(ranges, []any{cmps[0].n, cmps[1].n})
		default:
			t.unenforceable(path, "numeric", "alternatives of numeric matchers must each be = or an inclusive range (>= a, <= b): NumberInRange's bounds are inclusive")
			return
		}
	}
	switch {
	case len(ranges) == 0:
		t.add(AdvancedFilter{OperatorType: "NumberIn", Key: key, Values: in})
	case len(in) == 0:
		t.add(AdvancedFilter{OperatorType: "NumberInRange", Key: key, Values: ranges})
	default:
		for _, n := range in {
			ranges = append(ranges, []any{n, n})
		}
		t.add(AdvancedFilter{OperatorType: "NumberInRange", Key: key, Values: ranges})
	}
}

// checkLimits refuses a filter over Event Grid's limits.
func (t *Translation) checkLimits() {
	if n := len(t.Filter.AdvancedFilters); n > MaxAdvancedFilters {
		t.unenforceable("the whole pattern", "limits", fmt.Sprintf("it needs %d advanced filters; an event subscription has at most %d", n, MaxAdvancedFilters))
	}
	values := 0
	for _, f := range t.Filter.AdvancedFilters {
		switch {
		case len(f.Values) > 0:
			values += len(f.Values)
		case f.Value != nil:
			values++
		}
		for _, v := range f.Values {
			if s, ok := v.(string); ok && len(s) > MaxStringValue {
				t.unenforceable(strings.Replace(f.Key, "data", "detail", 1), "limits", fmt.Sprintf("a string of %d characters; Event Grid compares at most %d", len(s), MaxStringValue))
			}
		}
	}
	if values > MaxFilterValues {
		t.unenforceable("the whole pattern", "limits", fmt.Sprintf("its filters have %d values; an event subscription has at most %d in all", values, MaxFilterValues))
	}
}

// Guarded is the filter deployed when the in-function guard is opted
// into: the enforceable filter without the fields whose parts were
// unenforceable (Event Grid then delivers more, and the guard applies the
// whole pattern). Limits over are met by keeping the event types only.
func (t Translation) Guarded() Filter {
	if t.Enforceable() {
		return t.Filter
	}
	f := Filter{EnableAdvancedFilteringOnArrays: true, IncludedEventTypes: t.Filter.IncludedEventTypes}
	for _, p := range t.Unenforceable {
		if p.Operator == "limits" || p.Path == "$or" {
			return f
		}
	}
	drop := map[string]bool{}
	for _, p := range t.Unenforceable {
		drop[eventGridKey(p.Path)] = true
	}
	for _, af := range t.Filter.AdvancedFilters {
		if !drop[af.Key] {
			f.AdvancedFilters = append(f.AdvancedFilters, af)
		}
	}
	return f
}

// eventGridKey is the Event Grid key of a pattern path.
func eventGridKey(path string) string {
	if k, ok := envelopeKey[path]; ok {
		return k
	}
	if rest, ok := strings.CutPrefix(path, "detail."); ok {
		return "data." + rest
	}
	return path
}

// refusal says which parts of a rule's pattern Event Grid cannot enforce,
// for the error that refuses it at deploy without the guard.
func refusal(rule string, tr Translation) string {
	parts := make([]string, len(tr.Unenforceable))
	for i, p := range tr.Unenforceable {
		parts[i] = p.String()
	}
	return fmt.Sprintf("rule %s: Event Grid's filters cannot enforce %s", rule, strings.Join(parts, "; "))
}

// guardHint is the way out of a refusal.
const guardHint = "change the pattern to what Event Grid can filter (see the azure provider's notes on filters), or set " + EnvGuard +
	"=in-function so that evcli's entrypoint applies the whole pattern in the function (Event Grid then delivers more events, which the function acknowledges without running the handler)"

// noGuardFor is why the guard cannot run in a function of runtime rt.
func noGuardFor(rt string) string {
	return fmt.Sprintf("the in-function guard runs in Node.js functions only, and this function's runtime is %s (evcli's entrypoint for it cannot apply the pattern)", rt)
}

// noGuardHint is the way out of a refusal the guard cannot lift.
const noGuardHint = "change the pattern to what Event Grid can filter (see the azure provider's notes on filters), or write the function in Node.js"

// PatternRef is one event pattern of a project and where it stands, for
// CheckPatterns' messages (the driver does not read evcli.yaml itself).
type PatternRef struct {
	Function string
	Index    int // the pattern's index in the function's events
	Pattern  []byte
	// File, Line and Col are where the pattern stands (Line 0: unknown).
	File      string
	Line, Col int
	// Place, when set, also knows where each of the pattern's keys
	// stands: a refusal names the operator's own line and column.
	Place *providers.RulePlace
	// Runtime is the function's runtime: the guard runs in Node.js
	// functions only ("" counts as Node.js).
	Runtime string
}

func (r PatternRef) where() string {
	w := r.File
	if w == "" {
		w = "evcli.yaml"
	}
	if r.Line > 0 {
		w += fmt.Sprintf(":%d:%d", r.Line, r.Col)
	}
	return fmt.Sprintf("%s: functions.%s.events[%d]", w, r.Function, r.Index)
}

// CheckPatterns translates every pattern before anything is planned and,
// unless the guard is opted into, refuses the ones Event Grid cannot
// enforce: an Unsupported error (exit 2) with one line per unenforceable
// operator, "evcli.yaml:12:11: functions.audit.events[0] detail.ip: Event
// Grid cannot enforce cidr (...)", and the way out as the hint. The guard
// runs in Node.js functions only, so a pattern of another runtime's
// function (PatternRef.Runtime) is refused with the opt-in too, saying
// so. A pattern that is not JSON is InvalidArgument, at its place too.
func CheckPatterns(refs []PatternRef, guard bool) error {
	var lines []string
	code := providers.Unsupported
	hint := guardHint
	for _, r := range refs {
		tr, err := Translate(r.Pattern)
		if err != nil {
			lines = append(lines, r.where()+": "+err.Error())
			code = providers.InvalidArgument
			continue
		}
		guardable := r.Runtime == "" || strings.HasPrefix(r.Runtime, "nodejs")
		if guard && guardable {
			continue
		}
		for _, pr := range tr.Unenforceable {
			w := r.where()
			if pos := r.Place.PosOf(strings.Split(pr.Path, ".")...); pos != "" && r.Place.Line > 0 {
				w = fmt.Sprintf("%s: functions.%s.events[%d]", pos, r.Function, r.Index)
			}
			line := fmt.Sprintf("%s %s: Event Grid cannot enforce %s (%s)", w, pr.Path, pr.Operator, pr.Why)
			if guard {
				line += "; " + noGuardFor(r.Runtime)
				hint = noGuardHint
			}
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return &providers.Error{Code: code, Err: errors.New(strings.Join(lines, "\n")), Hint: hint}
}

// CheckRules implements providers.RuleChecker: deploy calls it with the
// desired functions before it plans or calls anything, and a pattern
// Event Grid cannot enforce (without the guard) or that is not a pattern
// is refused at its place in evcli.yaml (RuleSpec.Where), with no call
// made.
func (d *deployer) CheckRules(fds []providers.FunctionDeployment) error {
	var refs []PatternRef
	for _, fd := range fds {
		for i, r := range fd.Rules {
			ref := PatternRef{Function: fd.Name, Index: i, Pattern: r.Pattern, Place: r.Where, Runtime: fd.Runtime}
			if n, err := strconv.Atoi(r.ID[strings.LastIndex(r.ID, "-")+1:]); err == nil && strings.HasPrefix(r.ID, fd.Name+"-") {
				ref.Index = n // the rule's index among the function's events
			}
			if r.Where != nil {
				ref.File, ref.Line, ref.Col = r.Where.File, r.Where.Line, r.Where.Col
			}
			refs = append(refs, ref)
		}
	}
	return CheckPatterns(refs, d.c.guard)
}

var _ providers.RuleChecker = (*deployer)(nil)

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func allClass(alts []alt, class string) bool {
	for _, a := range alts {
		if a.class != class {
			return false
		}
	}
	return true
}

func allOf(vals []any, f func(any) bool) bool {
	for _, v := range vals {
		if !f(v) {
			return false
		}
	}
	return true
}

func isString(v any) bool { _, ok := v.(string); return ok }
func isNumber(v any) bool { _, ok := v.(json.Number); return ok }
