package project

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/evcli/evcli/internal/asl"
)

type sagaFunctions map[string]string // function -> errorType it fails with ("" = succeeds)

func (f sagaFunctions) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	if typ := f[fn]; typ != "" {
		b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": fn + " failed"})
		return nil, asl.LambdaFailure(b)
	}
	return []byte(`{"ok":true}`), nil
}

// TestSagaRuns: the compiled saga behaves as the seed's: the happy path
// ends in CompleteOrder; a ShipmentError runs ReleaseInventory then
// RefundPayment then FailOrderState; a PaymentError goes straight to
// FailOrderState.
func TestSagaRuns(t *testing.T) {
	p, err := Load("testdata/good/workflows.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sm, err := asl.ParseFile("order-saga", p.Workflow("order-saga").Definition, asl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fails      sagaFunctions
		wantStates string
		wantErr    string
	}{
		{sagaFunctions{}, "ProcessPayment,ReserveInventory,CreateShipment,CompleteOrder", ""},
		{sagaFunctions{"shipment": "ShipmentError"}, "ProcessPayment,ReserveInventory,CreateShipment,ReleaseInventory,RefundPayment,FailOrderState", "OrderFailed"},
		{sagaFunctions{"payment": "PaymentError"}, "ProcessPayment,FailOrderState", "OrderFailed"},
		{sagaFunctions{"inventory": "Anything"}, "ProcessPayment,ReserveInventory,RefundPayment,FailOrderState", "OrderFailed"},
		// not a ShipmentError: not compensated, the execution fails with it
		{sagaFunctions{"shipment": "CarrierDown"}, "ProcessPayment,ReserveInventory,CreateShipment", "CarrierDown"},
	} {
		var states []string
		e := &asl.Executor{Invoker: c.fails, OnEvent: func(ev asl.Event) {
			if ev.Type == asl.StateEntered {
				states = append(states, ev.State)
			}
		}}
		_, err := e.Run(context.Background(), sm, asl.Execution{}, "", map[string]any{"orderId": "o-1"})
		gotErr := ""
		var f *asl.Failure
		if errors.As(err, &f) {
			gotErr = f.Name
		}
		if got := strings.Join(states, ","); got != c.wantStates || gotErr != c.wantErr {
			t.Errorf("with %v: states %s, error %q; want %s, %q", c.fails, got, gotErr, c.wantStates, c.wantErr)
		}
	}
}
