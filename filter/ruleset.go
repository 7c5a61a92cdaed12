package filter

// RuleSet matches many patterns at once.
type RuleSet struct {
	ids      []string
	patterns []*Pattern
}

// NewRuleSet returns an empty rule set.
func NewRuleSet() *RuleSet { return &RuleSet{} }

// Add adds pattern p under id. Adding several patterns under one id makes
// them alternatives: the id matches when any of them does.
func (r *RuleSet) Add(id string, p *Pattern) {
	r.ids = append(r.ids, id)
	r.patterns = append(r.patterns, p)
}

// Match returns the ids of all rules that match event, in the order they
// were first added, each once.
func (r *RuleSet) Match(event []byte) ([]string, error) {
	v, err := decodeEvent(event)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for i, p := range r.patterns {
		if !seen[r.ids[i]] && evalNode(p.root, v) {
			seen[r.ids[i]] = true
			out = append(out, r.ids[i])
		}
	}
	return out, nil
}
