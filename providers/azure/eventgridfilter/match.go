// Package eventgridfilter evaluates an Event Grid event subscription's
// filter on a CloudEvent with Event Grid's documented semantics. It is the
// one reading of those semantics in evcli: the aztest fake routes its
// deliveries with it and evcli filter test --target azure evaluates events
// with it, so what the fake delivers and what filter test says agree. It
// imports nothing of evcli, so both can use it.
package eventgridfilter

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
)

// Match evaluates an event subscription filter (the REST API's JSON) on a
// CloudEvent with Event Grid's documented semantics:
//
//   - includedEventTypes: the type is one of them (without case);
//   - advanced filters are ANDed; the values of one filter are ORed;
//   - string comparisons are without case; a string operator reads string
//     values only, a number operator numbers only, BoolEquals booleans;
//   - a key is the envelope attribute (id, source, type, subject, …) or
//     data.a.b; with enableAdvancedFilteringOnArrays an array value is its
//     elements, of which a positive operator needs one to match and a
//     negated one (NotIn, NotBeginsWith, NotEndsWith, NotContains,
//     NotInRange) fails when any element is excluded; without it an array
//     value fails every operator;
//   - a missing key fails the positive operators and passes the negated
//     ones; IsNullOrUndefined passes a missing or null key, IsNotNull a
//     present non-null one.
func Match(filter, event []byte) (bool, error) {
	var f struct {
		IncludedEventTypes []string `json:"includedEventTypes"`
		AdvancedFilters    []struct {
			OperatorType string `json:"operatorType"`
			Key          string `json:"key"`
			Values       []any  `json:"values"`
			Value        any    `json:"value"`
		} `json:"advancedFilters"`
		OnArrays bool `json:"enableAdvancedFilteringOnArrays"`
	}
	if len(bytes.TrimSpace(filter)) > 0 && string(bytes.TrimSpace(filter)) != "null" {
		if err := json.Unmarshal(filter, &f); err != nil {
			return false, err
		}
	}
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return false, err
	}
	if len(f.IncludedEventTypes) > 0 {
		t, _ := ev["type"].(string)
		if !slices.ContainsFunc(f.IncludedEventTypes, func(x string) bool { return strings.EqualFold(x, t) }) {
			return false, nil
		}
	}
	for _, af := range f.AdvancedFilters {
		v, present := lookup(ev, af.Key)
		var elems []any
		switch x := v.(type) {
		case []any:
			if !f.OnArrays {
				return false, nil
			}
			elems = x
		default:
			elems = []any{x}
		}
		vals := af.Values
		if vals == nil && af.Value != nil {
			vals = []any{af.Value}
		}
		op := af.OperatorType
		switch op {
		case "IsNullOrUndefined":
			if present && v != nil {
				return false, nil
			}
			continue
		case "IsNotNull":
			if !present || v == nil {
				return false, nil
			}
			continue
		}
		negated := strings.Contains(op, "Not")
		if !present {
			if negated {
				continue
			}
			return false, nil
		}
		if negated {
			pos := strings.Replace(op, "Not", "", 1)
			for _, e := range elems {
				if elemMatches(pos, e, vals) {
					return false, nil
				}
			}
			continue
		}
		if !slices.ContainsFunc(elems, func(e any) bool { return elemMatches(op, e, vals) }) {
			return false, nil
		}
	}
	return true, nil
}

// elemMatches is a positive operator on one value.
func elemMatches(op string, e any, vals []any) bool {
	switch op {
	case "BoolEquals":
		b, ok := e.(bool)
		return ok && len(vals) > 0 && vals[0] == b
	case "StringIn", "StringBeginsWith", "StringEndsWith", "StringContains":
		s, ok := e.(string)
		if !ok {
			return false
		}
		s = strings.ToLower(s)
		for _, v := range vals {
			x, _ := v.(string)
			x = strings.ToLower(x)
			switch {
			case op == "StringIn" && s == x, op == "StringBeginsWith" && strings.HasPrefix(s, x),
				op == "StringEndsWith" && strings.HasSuffix(s, x), op == "StringContains" && strings.Contains(s, x):
				return true
			}
		}
		return false
	}
	n, ok := e.(float64)
	if !ok {
		return false
	}
	for _, v := range vals {
		switch op {
		case "NumberInRange":
			r, _ := v.([]any)
			if len(r) == 2 {
				lo, _ := r[0].(float64)
				hi, _ := r[1].(float64)
				if n >= lo && n <= hi {
					return true
				}
			}
			continue
		}
		x, ok := v.(float64)
		if !ok {
			continue
		}
		switch {
		case op == "NumberIn" && math.Abs(n-x) == 0, op == "NumberGreaterThan" && n > x, op == "NumberGreaterThanOrEquals" && n >= x,
			op == "NumberLessThan" && n < x, op == "NumberLessThanOrEquals" && n <= x:
			return true
		}
	}
	return false
}

// lookup reads a key: an envelope attribute (without case) or data.a.b.
func lookup(ev map[string]any, key string) (any, bool) {
	parts := strings.Split(key, ".")
	var cur any = ev
	for i, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[p]
		if !ok && i == 0 {
			for k, x := range m {
				if strings.EqualFold(k, p) {
					v, ok = x, true
					break
				}
			}
		}
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}
