package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAzureSagaEndToEnd: the azure saga's functions publish each next step
// to the bus's Event Grid topic (CloudEvents 1.0 on the data plane; locally
// EVENTGRID_TOPIC_ENDPOINT and EVENTGRID_TOPIC_KEY point at the instance's
// own topic endpoint), which the local provider puts on the bus with the
// calling invocation, so send --wait follows the whole chain — the happy
// path, and the compensations when shipment fails — and tail shows it
// under the order's correlation id, in Node.js, Python and Go (a custom
// handler, standard library only).
func TestAzureSagaEndToEnd(t *testing.T) {
	flows := []struct {
		event, corr string
		deliveries  []string // function<-detail-type, sorted: a step may end after the one its event started
		says        []string
	}{
		{"order-created.json", "c0ffee00-0000-4000-8000-000000003001",
			[]string{"inventory<-PaymentCompleted", "payment<-OrderCreated", "shipment<-InventoryReserved"},
			[]string{"payment captured", "stock reserved", "shipment scheduled"}},
		{"order-created-shipment-fails.json", "c0ffee00-0000-4000-8000-000000003002",
			[]string{"inventory<-PaymentCompleted", "inventory<-ShipmentFailed", "payment<-InventoryReleased",
				"payment<-OrderCreated", "shipment<-InventoryReserved"},
			[]string{"payment captured", "shipment failed", "stock released (compensation)", "payment refunded (compensation)"}},
	}
	for _, lang := range []string{"node", "python", "go"} {
		t.Run(lang, func(t *testing.T) {
			needInterpreter(t, lang)
			root := t.TempDir()
			must(t, root, "init", "shop", "--provider", "azure", "--template", "saga", "--lang", lang)
			dir := filepath.Join(root, "shop")
			must(t, dir, "deploy")
			for _, f := range flows {
				t.Run(f.event, func(t *testing.T) {
					r := must(t, dir, "send", "events/"+f.event, "--wait", "-o", "json")
					var got []string
					for _, d := range records(t, r.stdout, "delivery") {
						got = append(got, fmt.Sprintf("%v<-%v", d["function"], d["detailType"]))
						if d["status"] != "ok" || d["correlationId"] != f.corr {
							t.Errorf("delivery %v<-%v: %v (%v), correlation %v", d["function"], d["detailType"], d["status"], d["error"], d["correlationId"])
						}
					}
					slices.Sort(got)
					if !slices.Equal(got, f.deliveries) {
						t.Errorf("deliveries %v, want %v", got, f.deliveries)
					}
					r = must(t, dir, "tail", "--correlation", f.corr, "--follow=false", "--since", "1h")
					for _, line := range f.says {
						if !strings.Contains(r.stdout, line) {
							t.Errorf("tail --correlation lacks %q:\n%s", line, r.stdout)
						}
					}
				})
			}
		})
	}
}
