package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// storedTypes returns the detail-types of the stored events, and their
// correlation ids.
func storedTypes(t *testing.T, dir string) (map[string]int, map[string]bool) {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	types, corr := map[string]int{}, map[string]bool{}
	for ev, err := range db.Events(context.Background(), providers.EventQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		types[ev.DetailType]++
		corr[ev.CorrelationID] = true
	}
	return types, corr
}

// The saga template: handlers publish the next step's event through the AWS
// SDK (Go: aws-sdk-go-v2; Node: @aws-sdk/client-eventbridge) to evcli's
// PutEvents endpoint; a failing shipment runs the compensations.
func TestSagaCompensatesThroughSDKPublishes(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"go", "node"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			needInterpreter(t, lang)
			root := t.TempDir()
			must(t, root, "init", "shop", "--template", "saga", "--lang", lang)
			dir := filepath.Join(root, "shop")
			if lang == "node" {
				nodeSDK(t, dir)
			}
			must(t, dir, "deploy")

			r := must(t, dir, "send", "events/order-created-shipment-fails.json", "--wait", "-o", "json")
			ran := map[string]int{}
			handled := map[string]bool{} // "function ← detail-type → published"
			for _, d := range records(t, r.stdout, "delivery") {
				ran[d["function"].(string)]++
				pub := ""
				if list, ok := d["published"].([]any); ok {
					pub = fmt.Sprint(list...)
				}
				handled[fmt.Sprintf("%v ← %v → %s", d["function"], d["detailType"], pub)] = true
				if d["status"] != "ok" {
					t.Errorf("delivery to %v: %v %v", d["function"], d["status"], d["error"])
				}
			}
			// payment (charge, refund), inventory (reserve, release), shipment (fails)
			want := map[string]int{"payment": 2, "inventory": 2, "shipment": 1}
			for fn, n := range want {
				if ran[fn] != n {
					t.Errorf("%s ran %d times, want %d (all: %v)", fn, ran[fn], n, ran)
				}
			}
			// Each delivery says what it handled and what its handler
			// published: the shipment failure and the compensations show.
			for _, want := range []string{"shipment ← InventoryReserved → ShipmentFailed", "inventory ← ShipmentFailed → InventoryReleased"} {
				if !handled[want] {
					t.Errorf("no delivery %q in %v", want, handled)
				}
			}
			types, corr := storedTypes(t, dir)
			for _, typ := range []string{"OrderCreated", "PaymentCompleted", "InventoryReserved", "ShipmentFailed", "InventoryReleased"} {
				if types[typ] != 1 {
					t.Errorf("store holds %d %s events, want 1 (all: %v)", types[typ], typ, types)
				}
			}
			if len(corr) != 1 || corr[""] {
				t.Errorf("stored events carry correlation ids %v, want one", corr)
			}
			text := must(t, dir, "send", "events/order-created-shipment-fails.json", "--wait")
			if !regexp.MustCompile(`shipment\s+← InventoryReserved\s+ok .*→ ShipmentFailed`).MatchString(text.stdout) {
				t.Errorf("send --wait lines do not say what shipment handled:\n%s", text.stdout)
			}
		})
	}
}

// nodeSDK makes the AWS SDK for JavaScript that Lambda's Node runtime
// provides (and that the functions' package.json name) resolvable from the
// project: .ci/run installs @aws-sdk/client-eventbridge in .ci/node_modules,
// and a node_modules link at the project's root is where Node's module
// resolution ends up from the functions' directories (and from the copies
// under .evcli/functions). The test downloads nothing.
func nodeSDK(t *testing.T, dir string) {
	t.Helper()
	mods, err := filepath.Abs(filepath.Join(".ci", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if !fileExists(filepath.Join(mods, "@aws-sdk", "client-eventbridge", "package.json")) {
		testenv.Skip(t, "the AWS SDK for JavaScript (@aws-sdk/client-eventbridge)", "run cd .ci && npm ci")
	}
	if err := os.Symlink(mods, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
