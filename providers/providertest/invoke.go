package providertest

import (
	"encoding/json"
	"testing"

	"github.com/evcli/evcli/providers"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func testInvoke(t *testing.T, e *env) {
	const proj = "cti"
	p := e.open(proj)
	if !p.Has(providers.AbilityDeploy) {
		t.Skip("invoke is checked on a function the suite deploys: the provider cannot deploy")
	}
	fn := e.fn(proj, "cti-echo", 1)
	e.cleanup(p, fn.Name)
	e.deploy(p, []providers.FunctionDeployment{fn}, false)
	p = e.open(proj) // the command that invokes runs after the deploy

	t.Run("ReturnsThePayload", func(t *testing.T) {
		in := []byte(`{"mark":"invoke-1","nested":{"n":42,"list":[1,"two",null]},"unicode":"é✓"}`)
		res, err := p.Invoker.Invoke(e.ctx, fn.Name, in)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if res.FunctionError != "" {
			t.Fatalf("Invoke of the echo handler: function error %q, payload %s", res.FunctionError, res.Payload)
		}
		if !equalJSON(res.Payload, in) {
			t.Errorf("Invoke returned %s, want the payload %s", res.Payload, in)
		}
	})

	t.Run("HandlerErrorIsAFunctionError", func(t *testing.T) {
		res, err := p.Invoker.Invoke(e.ctx, fn.Name, []byte(`{"mark":"invoke-2","fail":"conformance says no"}`))
		if err != nil {
			t.Fatalf("Invoke of a failing handler returned an error %v (code %v): a handler error is a result, with FunctionError set",
				err, providers.CodeOf(err))
		}
		if res.FunctionError == "" {
			t.Errorf("Invoke of a failing handler: FunctionError is empty (payload %s)", res.Payload)
		}
	})

	t.Run("UnknownFunctionIsNotFound", func(t *testing.T) {
		_, err := p.Invoker.Invoke(e.ctx, "cti-no-such-function", []byte(`{}`))
		if providers.CodeOf(err) != providers.NotFound {
			t.Errorf("Invoke of an unknown function = %v (code %v), want code NotFound", err, providers.CodeOf(err))
		}
	})
}
