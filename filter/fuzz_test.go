package filter

import (
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
