package filter

import (
	"sync"
	"sync/atomic"
)

// RuleSet matches many patterns at once. Add rules, then call Match from any
// number of goroutines; the set is compiled on the first Match after an Add.
type RuleSet struct {
	mu       sync.Mutex
	ids      []string
	patterns []*Pattern
	eng      atomic.Pointer[engine]
}

// NewRuleSet returns an empty rule set.
func NewRuleSet() *RuleSet { return &RuleSet{} }

// Add adds pattern p under id. Adding several patterns under one id makes
// them alternatives: the id matches when any of them does.
func (r *RuleSet) Add(id string, p *Pattern) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
	r.patterns = append(r.patterns, p)
	r.eng.Store(nil)
}

// Len returns the number of patterns added.
func (r *RuleSet) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.patterns)
}

func (r *RuleSet) engine() *engine {
	if e := r.eng.Load(); e != nil {
		return e
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.eng.Load(); e != nil {
		return e
	}
	e := compile(r.ids, r.patterns)
	r.eng.Store(e)
	return e
}

// Match returns the ids of all rules that match event, each once, in the
// order they were first added. The error is non-nil only for an event that is
// not a JSON object (as far as the matcher reads it: members no rule names
// are skipped, not validated).
func (r *RuleSet) Match(event []byte) ([]string, error) {
	return r.engine().match(nil, event)
}

// AppendMatches is Match appending to dst; it does not allocate when dst has
// room for the result.
func (r *RuleSet) AppendMatches(dst []string, event []byte) ([]string, error) {
	return r.engine().match(dst, event)
}
