package azure

import (
	"bytes"
	"encoding/json"
)

// Describe says, in lines for people, what Event Grid enforces of pattern
// (evcli filter test --target azure): the event subscription's filter as
// deployed (includedEventTypes and advanced filters, in the REST API's
// JSON), each point where Event Grid's semantics deliver more (wider) or
// less (narrower) than the pattern matches, and the parts it cannot
// enforce, which deploy refuses without the in-function guard.
func Describe(pattern []byte) ([]string, error) {
	tr, err := Translate(pattern)
	if err != nil {
		return nil, err
	}
	f := tr.Filter
	if !tr.Enforceable() {
		f = tr.Guarded()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	out := []string{"Event Grid filter: " + string(bytes.TrimSpace(b.Bytes()))}
	for _, w := range tr.Wider {
		out = append(out, "Event Grid delivers more than the pattern matches: "+w)
	}
	for _, n := range tr.Narrower {
		out = append(out, "Event Grid delivers less than the pattern matches: "+n)
	}
	if tr.Enforceable() {
		if len(tr.Wider) == 0 && len(tr.Narrower) == 0 {
			out = append(out, "the filter enforces the whole pattern")
		}
		return out, nil
	}
	for _, p := range tr.Unenforceable {
		out = append(out, "Event Grid cannot enforce "+p.String())
	}
	return append(out, "deploy refuses this pattern unless "+EnvGuard+"=in-function (the function's entrypoint then applies the whole pattern)"), nil
}
