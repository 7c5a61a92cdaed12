package azure

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/azure/eventgridfilter"
)

// Evaluate says whether Event Grid delivers an event (EventBridge-shaped,
// as evcli send reads it) to the event subscription evcli makes from
// pattern: the pattern's translated filter, applied with Event Grid's
// semantics (eventgridfilter, the same reading the aztest fake routes
// with) to the CloudEvent evcli publishes for the event. enforced is false
// when Event Grid cannot enforce the whole pattern: such a rule deploys
// only with the in-function guard, which also applies the pattern itself,
// so the function then sees the event only if the pattern matches too.
func Evaluate(pattern, event []byte) (delivered, enforced bool, err error) {
	tr, err := Translate(pattern)
	if err != nil {
		return false, false, err
	}
	evs, err := providers.ParseEvents("event", event)
	if err != nil {
		return false, false, err
	}
	if len(evs) != 1 {
		return false, false, errors.New("give one event")
	}
	ce, err := ToCloudEvent(evs[0], time.Now())
	if err != nil {
		return false, false, err
	}
	ceJSON, err := json.Marshal(ce)
	if err != nil {
		return false, false, err
	}
	filter, err := json.Marshal(tr.Filter)
	if err != nil {
		return false, false, err
	}
	delivered, err = eventgridfilter.Match(filter, ceJSON)
	return delivered, tr.Enforceable(), err
}
