package local

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// TestInvalidStoredRuleDisablesOnlyItself: a rule an older evcli stored
// with a pattern that no longer compiles is left out with a warning naming
// it; the engine starts and the other rules, on the same bus, route.
func TestInvalidStoredRuleDisablesOnlyItself(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for fn, pat := range map[string]string{
		"bad":  `{"detail-type":[{"prefx":"Order"}]}`,
		"good": `{"source":["shop"]}`,
	} {
		if err := db.SetRules(ctx, fn, []store.Rule{{ID: fn + "-rule", Function: fn, Pattern: json.RawMessage(pat)}}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	var warnings []string
	e, err := Start(ctx, Options{Dir: dir, Retries: -1,
		Warnf: func(f string, args ...any) { warnings = append(warnings, fmt.Sprintf(f, args...)) }})
	if err != nil {
		t.Fatalf("Start with one bad stored rule: %v", err)
	}
	defer e.Close()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "bad-rule") || !strings.Contains(warnings[0], `"prefx"`) {
		t.Fatalf("warnings %q, want one naming rule bad-rule and its problem", warnings)
	}
	res, err := e.Send(ctx, "", []providers.Event{{Source: "shop", DetailType: "OrderCreated", Detail: json.RawMessage(`{}`)}}, true)
	if err != nil {
		t.Fatal(err)
	}
	// No function is deployed: routing, not running, is what counts here.
	if len(res.Deliveries) != 1 || res.Deliveries[0].RuleID != "good-rule" {
		t.Fatalf("deliveries %+v, want one, by good-rule", res.Deliveries)
	}
}

// TestDeployerRefusesInvalidPattern: nothing of a function whose rule does
// not compile is saved, so the running server never loads it.
func TestDeployerRefusesInvalidPattern(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reloaded := false
	d := NewDeployer(db, dir, func(context.Context, string) error { reloaded = true; return nil })
	err = d.ApplyFunction(ctx, providers.FunctionDeployment{Name: "f", Runtime: "provided.al2023",
		Rules: []providers.RuleSpec{{ID: "f-rule", Pattern: json.RawMessage(`{"source":"shop.orders"}`)}}}, false, nil)
	if err == nil || !strings.Contains(err.Error(), "must be an array") {
		t.Fatalf("ApplyFunction = %v, want the pattern's error", err)
	}
	fns, _ := db.Functions(ctx)
	rules, _ := db.Rules(ctx)
	if len(fns) != 0 || len(rules) != 0 || reloaded {
		t.Fatalf("saved %d functions, %d rules (reloaded %v) after a refused deploy", len(fns), len(rules), reloaded)
	}
}
