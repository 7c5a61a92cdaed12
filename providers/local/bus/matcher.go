package bus

import (
	"fmt"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers/local/store"
)

// filterMatcher routes with package filter's RuleSet: the same engine and
// the same answers as evcli filter test.
type filterMatcher struct{ rs *filter.RuleSet }

// FilterMatcher compiles rules with package filter; it is the default
// Options.NewMatcher. A rule whose pattern does not parse is an error naming
// the rule and its function.
func FilterMatcher(rules []store.Rule) (Matcher, error) {
	rs := filter.NewRuleSet()
	for _, r := range rules {
		p, err := filter.Parse(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("rule %s of function %s: %w", r.ID, r.Function, err)
		}
		rs.Add(r.ID, p)
	}
	return filterMatcher{rs}, nil
}

func (m filterMatcher) Match(event []byte) ([]string, error) { return m.rs.Match(event) }
