package bus

import (
	"sync"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers/local/store"
)

// filterMatcher routes with package filter's RuleSet: the same engine and
// the same answers as evcli filter test.
type filterMatcher struct{ rs *filter.RuleSet }

// FilterMatcher compiles rules with package filter; it is the default
// Options.NewMatcher. A rule whose pattern does not parse (an older evcli
// stored it: deploy checks patterns now) matches nothing: one bad rule
// disables itself, never the bus.
func FilterMatcher(rules []store.Rule) (Matcher, error) { return NewFilterMatcher(nil)(rules) }

// NewFilterMatcher is FilterMatcher that tells warnf, once per process and
// rule, which rule it left out and why.
func NewFilterMatcher(warnf func(format string, args ...any)) func(rules []store.Rule) (Matcher, error) {
	var (
		mu     sync.Mutex
		warned = map[string]bool{} // rule id + pattern
	)
	return func(rules []store.Rule) (Matcher, error) {
		rs := filter.NewRuleSet()
		for _, r := range rules {
			p, err := filter.Parse(r.Pattern)
			if err != nil {
				key := r.ID + "\x00" + string(r.Pattern)
				mu.Lock()
				seen := warned[key]
				warned[key] = true
				mu.Unlock()
				if !seen && warnf != nil {
					warnf("warning: rule %s of function %s is disabled: %v; fix its pattern in evcli.yaml and run evcli deploy", r.ID, r.Function, err)
				}
				continue
			}
			rs.Add(r.ID, p)
		}
		return filterMatcher{rs}, nil
	}
}

func (m filterMatcher) Match(event []byte) ([]string, error) { return m.rs.Match(event) }
