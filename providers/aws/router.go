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
	rs := filter.NewRuleSet()
	for _, r := range rules {
		if isWriter(r.Meta.Function) || (r.State != "" && r.State != string(ebtypes.RuleStateEnabled)) {
			continue
		}
		pat, err := filter.Parse([]byte(r.Pattern))
		if err != nil {
			continue // EventBridge would not have accepted it; deploy reports it
		}
		rs.Add(r.Meta.Function, pat)
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

var _ providers.Router = (*Deployer)(nil)
