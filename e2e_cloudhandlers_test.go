package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCloudHandlersEndToEnd: evcli init --provider gcp|azure writes
// handlers for that cloud (CloudEvent functions of the Functions
// Framework; Event Grid-triggered Azure Functions), and the local provider
// runs them with no account and no framework installed: deploy, send
// --wait (the four fan-out functions ran, each once, one correlation id),
// tail --correlation (every function's own lines and its START/REPORT),
// a failing function (its error in the delivery and the logs) and replay.
// Node.js and Python run through the embedded host stand-ins; one Go
// project (Azure's) builds with deploy's flags.
func TestCloudHandlersEndToEnd(t *testing.T) {
	const corr = "c0ffee00-0000-4000-8000-000000001001"
	fns := []string{"inventory", "payment", "notification", "analytics"}
	for _, tc := range []struct{ provider, lang, msg string }{
		// Node.js on one cloud and Python on the other (the runtime's
		// TestHostShims covers each language on both), and one Go build:
		// Azure's custom handler, standard library only. The gcp Go
		// scaffold compiles functions-framework-go with deploy's flags,
		// minutes on a cold cache: templates' TestProviderGoVet checks it.
		{"gcp", "node", "stock reserved"},
		{"azure", "python", "order reserved"},
		{"azure", "go", "payment captured"},
	} {
		t.Run(tc.provider+"-"+tc.lang, func(t *testing.T) {
			needInterpreter(t, tc.lang)
			root := t.TempDir()
			must(t, root, "init", "shop", "--provider", tc.provider, "--lang", tc.lang)
			dir := filepath.Join(root, "shop")
			must(t, dir, "deploy")

			r := must(t, dir, "send", "events/order-created.json", "--wait", "-o", "json")
			got := map[string]int{}
			for _, d := range records(t, r.stdout, "delivery") {
				got[fmt.Sprint(d["function"])]++
				if d["status"] != "ok" || d["correlationId"] != corr {
					t.Errorf("delivery to %v: %v (%v), correlation %v", d["function"], d["status"], d["error"], d["correlationId"])
				}
			}
			for _, fn := range fns {
				if got[fn] != 1 {
					t.Errorf("%s ran %d times, want once (deliveries %v)", fn, got[fn], got)
				}
			}

			r = must(t, dir, "tail", "--correlation", corr, "--follow=false", "--since", "1h", "-o", "json")
			reports, said := map[string]int{}, false
			for _, l := range records(t, r.stdout, "log") {
				msg, _ := l["message"].(string)
				if l["correlationId"] != corr {
					t.Errorf("tail --correlation printed a line of %v: %s", l["correlationId"], msg)
				}
				if strings.HasPrefix(msg, "REPORT RequestId: ") {
					reports[fmt.Sprint(l["function"])]++
				}
				said = said || strings.Contains(msg, tc.msg)
			}
			for _, fn := range fns {
				if reports[fn] == 0 {
					t.Errorf("tail shows no REPORT line of %s\n%s", fn, r.stdout)
				}
			}
			if !said {
				t.Errorf("tail shows no %q line\n%s", tc.msg, r.stdout)
			}

			// payment refuses an order without a total: the delivery fails
			// with the function's error; the others still run.
			bad := `{"source":"shop.orders","detail-type":"OrderCreated","detail":{"orderId":"ord-0","correlationId":"c-bad","total":0,"items":[]}}`
			if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			r = run(t, dir, "", "send", "bad.json", "--wait", "-o", "json")
			if r.code != 1 {
				t.Errorf("send of a refused order: exit %d, want 1\n%s", r.code, r.stderr)
			}
			for _, d := range records(t, r.stdout, "delivery") {
				if want := map[bool]string{true: "failed", false: "ok"}[d["function"] == "payment"]; d["status"] != want {
					t.Errorf("refused order: %v %v (%v), want %s", d["function"], d["status"], d["error"], want)
				}
			}
			r = must(t, dir, "tail", "--correlation", "c-bad", "--function", "payment", "--follow=false", "--since", "1h")
			if !strings.Contains(r.stdout, "is not positive") {
				t.Errorf("the payment error is not in its logs:\n%s", r.stdout)
			}

			if tc.lang == "go" {
				return // replay is the same for every language; spare the time
			}
			// Both orders are replayed; the refused one fails payment again.
			r = run(t, dir, "", "replay", "--since", "1h", "--type", "OrderCreated", "--wait", "-o", "json")
			got = map[string]int{}
			for _, d := range records(t, r.stdout, "delivery") {
				if d["status"] == "ok" && d["correlationId"] == corr {
					got[fmt.Sprint(d["function"])]++
				}
			}
			for _, fn := range fns {
				if got[fn] != 1 {
					t.Errorf("replay: %s ran %d times, want once\n%s\n%s", fn, got[fn], r.stdout, r.stderr)
				}
			}
		})
	}
}

// TestCloudFunctionsSagaEndToEnd: the gcp saga's functions publish each
// next step to Pub/Sub (REST, PUBSUB_EMULATOR_HOST locally), which the
// local provider puts on the bus with the calling invocation, so send
// --wait follows the whole chain, compensations included, and tail shows
// it under the order's correlation id.
func TestCloudFunctionsSagaEndToEnd(t *testing.T) {
	needInterpreter(t, "node")
	const corr = "c0ffee00-0000-4000-8000-000000003002"
	root := t.TempDir()
	must(t, root, "init", "shop", "--provider", "gcp", "--template", "saga", "--lang", "node")
	dir := filepath.Join(root, "shop")
	must(t, dir, "deploy")
	r := must(t, dir, "send", "events/order-created-shipment-fails.json", "--wait", "-o", "json")
	var got []string
	for _, d := range records(t, r.stdout, "delivery") {
		got = append(got, fmt.Sprintf("%v<-%v", d["function"], d["detailType"]))
		if d["status"] != "ok" || d["correlationId"] != corr {
			t.Errorf("delivery %v<-%v: %v (%v), correlation %v", d["function"], d["detailType"], d["status"], d["error"], d["correlationId"])
		}
	}
	// The order of the records is when each delivery ended: a step may
	// end after the one its event started, so compare them as a set.
	want := []string{"inventory<-PaymentCompleted", "inventory<-ShipmentFailed", "payment<-InventoryReleased",
		"payment<-OrderCreated", "shipment<-InventoryReserved"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("deliveries %v, want %v", got, want)
	}
	r = must(t, dir, "tail", "--correlation", corr, "--follow=false", "--since", "1h")
	for _, line := range []string{"payment captured", "shipment failed", "payment refunded (compensation)"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("tail --correlation lacks %q:\n%s", line, r.stdout)
		}
	}
}
