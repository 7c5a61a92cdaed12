package aws

import (
	"context"
	"encoding/json"
	"slices"

	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
)

// Route implements providers.Router (replay --dry-run): the functions an
// event on bus would reach, from the enabled rules this project deployed
// there, matched with package filter as EventBridge matches them
// (read calls only: ListRules). The event store's writer is not a
// receiver.
func (d *Deployer) Route(ctx context.Context, bus string) (func(providers.Event) []string, error) {
	if bus == "" {
		bus = d.busName()
	}
	rules, err := d.busRules(ctx, normBus(bus), "")
	if err != nil {
		return nil, err
	}
	type route struct {
		fn  string
		pat *filter.Pattern
	}
	var routes []route
	for _, r := range rules {
		if isWriter(r.Meta.Function) || (r.State != "" && r.State != string(ebtypes.RuleStateEnabled)) {
			continue
		}
		pat, err := filter.Parse([]byte(r.Pattern))
		if err != nil {
			continue // EventBridge would not have accepted it; deploy reports it
		}
		routes = append(routes, route{fn: r.Meta.Function, pat: pat})
	}
	return func(ev providers.Event) []string {
		env, err := json.Marshal(ev)
		if err != nil {
			return nil
		}
		var out []string
		for _, r := range routes {
			if ok, err := r.pat.Match(env); err == nil && ok && !slices.Contains(out, r.fn) {
				out = append(out, r.fn)
			}
		}
		slices.Sort(out)
		return out
	}, nil
}

var _ providers.Router = (*Deployer)(nil)
