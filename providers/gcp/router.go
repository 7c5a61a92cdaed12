package gcp

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
)

// Route implements providers.Router (replay --dry-run): the functions whose
// rules on bus match an event, from the deployed functions' rules (read
// calls only: one paged ListFunctions), matched with package filter. That
// is what is delivered and handled: the subscription's filter passes a
// superset of the pattern's events and the in-function guard, where a rule
// needs it, keeps exactly the pattern's.
func (d *deployer) Route(ctx context.Context, bus string) (func(providers.Event) []string, error) {
	if bus == "" {
		bus = d.bus.bus
	}
	fds, err := d.Deployed(ctx)
	if err != nil {
		return nil, err
	}
	rs := filter.NewRuleSet()
	for _, fd := range fds {
		for _, r := range fd.Rules {
			if TopicID(d.project, r.Bus) != TopicID(d.project, bus) {
				continue
			}
			pat, err := filter.Parse(r.Pattern)
			if err != nil {
				continue // deploy refuses it; nothing was subscribed
			}
			rs.Add(fd.Name, pat)
		}
	}
	return func(ev providers.Event) []string {
		env, err := json.Marshal(ev)
		if err != nil {
			return nil
		}
		out, err := rs.Match(env)
		if err != nil {
			return nil
		}
		slices.Sort(out)
		return out
	}, nil
}

var _ providers.Router = (*deployer)(nil)
