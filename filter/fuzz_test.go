package filter

import (
	"fmt"
	"strconv"
	"testing"
)

// FuzzParse: Parse never panics, and a valid pattern's canonical form parses
// to the same canonical form.
func FuzzParse(f *testing.F) {
	for _, c := range matchCases {
		f.Add([]byte(c.pattern))
	}
	f.Add([]byte(`{"a":[{"numeric":[">",1,"<",2]}],"$or":[{"b":["x"]},{"c":[{"wildcard":"a\\*b*"}]}]}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse(src)
		if err != nil {
			if _, ok := err.(*PatternError); !ok {
				t.Fatalf("error is %T, want *PatternError: %v", err, err)
			}
			return
		}
		_ = p.Lint()
		canon := p.String()
		q, err := Parse([]byte(canon))
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", canon, err)
		}
		if q.String() != canon {
			t.Fatalf("not stable:\n%s\n%s", canon, q.String())
		}
	})
}

// FuzzMatch: matching never panics, and the compiled RuleSet agrees with the
// reference Pattern.Match and with Explain.
func FuzzMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add([]byte(c.pattern), []byte(c.event))
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := Parse(pattern)
		if err != nil {
			return
		}
		rs := NewRuleSet()
		rs.Add("r", p)
		rs.Add("s", MustParse(`{"zz":[{"exists":false}]}`))
		ids, rerr := rs.Match(event)
		want, err := p.Match(event)
		if err != nil {
			return // invalid events: the RuleSet may stop reading before the error
		}
		if rerr != nil {
			t.Fatalf("RuleSet.Match: %v, Pattern.Match succeeded", rerr)
		}
		got := len(ids) > 0 && ids[0] == "r"
		if got != want {
			t.Fatalf("pattern %s event %s: RuleSet %v, Pattern.Match %v", p, event, got, want)
		}
		ex, err := p.Explain(event)
		if err != nil || ex.Match != want {
			t.Fatalf("Explain: %v %v, want match %v", ex, err, want)
		}
		_ = ex.String()
	})
}

// scanRules exercise the compiled scanner: short and long member names
// (one word, two words, longer), names sharing their first 8 bytes, nested
// objects, arrays of objects, numbers and strings of every operator kind.
var scanRules = []string{
	`{"a":["x"],"bb":[{"prefix":"y"}]}`,
	`{"properties":{"MAPBLKLOT":[{"prefix":"1"}],"STREET":[{"suffix":"N"}]}}`,
	`{"propertiesX":{"k":[{"exists":true}]}}`,
	`{"a_long_member_name_over_16":[{"equals-ignore-case":"VALUE"}]}`,
	`{"a_long_member_name_over_17":[{"anything-but":"v"}]}`,
	`{"geometry":{"firstCoordinates":{"x":[{"numeric":["<",-122.45]}],"y":[{"numeric":[">=",37.7,"<",37.8]}]}}}`,
	`{"geometry":{"coordinates":{"x":[{"numeric":["<",-122.5]}],"y":[{"numeric":[">",37.8]}]}}}`,
	`{"ip":[{"cidr":"10.0.0.0/8"}],"n":[{"exists":false}]}`,
	`{"$or":[{"a":[1,2.5e1,null,true]},{"c":{"d":[{"wildcard":"*x*"}]}}]}`,
	`{"arr":{"k":["v"],"n":[{"numeric":[">",0]}]}}`,
	`{"abcdefghijklmnop":["v"],"abcdefghi":["w"]}`,
}

// FuzzScan: on any event, the compiled RuleSet of scanRules returns exactly
// the rules the reference evaluator matches.
func FuzzScan(f *testing.F) {
	for _, c := range matchCases {
		f.Add([]byte(c.event))
	}
	f.Add([]byte(`{"type":"Feature","properties":{"MAPBLKLOT":"4980173","BLKLOT":"4980173","STREET":"MISSION"},"geometry":{"type":"Polygon","coordinates":[[{"x":-122.46175949665471,"y":37.73635855475701,"z":0.0}]],"firstCoordinates":{"x":-122.4617594966547,"y":37.73635855475701,"z":0.0}}}`))
	f.Add([]byte(`{"a":"x","bb":"yes","propertiesX":{"k":null},"a_long_member_name_over_16":"value","a_long_member_name_over_17":"w","ip":"10.1.2.3"}`))
	f.Add([]byte(`{"abcdefghijklmnoq":"v","abcdefghijklmnop":"v","abcdefghj":"w","abcdefghi":"w"}`))
	f.Add([]byte(`{"arr":[{"k":"v","n":0},{"k":"w","n":1}],"a\u0062":"y","c":{"d":["axb"]}, "a" : 2.5e1 }`))
	var ps []*Pattern
	rs := NewRuleSet()
	for i, r := range scanRules {
		p := MustParse(r)
		ps = append(ps, p)
		rs.Add(strconv.Itoa(i), p)
	}
	prime := []byte(`{"a":"x","abcdefghijklmnoq":"v","bb":"y","propertiesX":{"k":1,"kk":"v"},"abcdefghi":"w","ip":"10.1.2.3","n":"v"}`)
	f.Fuzz(func(t *testing.T, event []byte) {
		// The member names remembered from the previous event (predSlot)
		// are those of prime, then of event itself.
		_, _ = rs.Match(prime)
		got, rerr := rs.Match(event)
		again, _ := rs.Match(event)
		if fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("event %s: RuleSet %v, then %v", event, got, again)
		}
		ev, err := decodeEvent(event)
		if err != nil {
			return // invalid events: the RuleSet may stop reading before the error
		}
		if rerr != nil {
			t.Fatalf("RuleSet.Match: %v, the event decodes", rerr)
		}
		var want []string
		for i, p := range ps {
			if evalNode(p.root, ev) {
				want = append(want, strconv.Itoa(i))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("event %s: RuleSet %v, reference %v", event, got, want)
		}
	})
}
