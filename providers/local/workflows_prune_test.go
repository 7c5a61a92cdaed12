package local_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local"
)

// A workflow removed from evcli.yaml is kept by a deploy without prune and
// deleted by one with it (its definition and the rules that start it), as
// "delete workflow NAME" in the plan; afterwards nothing is left to prune.
func TestWorkflowPrune(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	def := []byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	wf := providers.WorkflowSpec{Name: "order", Type: "STANDARD", Definition: def,
		Rules: []providers.RuleSpec{{ID: "workflow-order-0", Pattern: []byte(`{"source":["shop"]}`)}}}
	plan := func(specs []providers.WorkflowSpec, prune, apply bool) string {
		t.Helper()
		p, err := local.Open(ctx, providers.OpenOptions{Project: "shop", Dir: dir, Workflows: specs})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(ctx) })
		changes, err := p.Shared.PlanShared(ctx, prune)
		if err != nil {
			t.Fatal(err)
		}
		if apply {
			if err := p.Shared.ApplyShared(ctx, changes, nil); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprint(changes)
	}
	const created = "[{workflow order create []}]"
	if got := plan([]providers.WorkflowSpec{wf}, false, true); got != created {
		t.Fatalf("first plan %s", got)
	}
	for _, tt := range []struct {
		name         string
		specs        []providers.WorkflowSpec
		prune, apply bool
		want         string
	}{
		{"deployed", []providers.WorkflowSpec{wf}, true, false, "[{workflow order unchanged []}]"},
		{"removed, no prune", nil, false, false, "[]"},
		{"removed, prune", nil, true, true, "[{workflow order delete []}]"},
		{"pruned", nil, true, false, "[]"},
		{"back again", []providers.WorkflowSpec{wf}, false, false, created},
	} {
		if got := plan(tt.specs, tt.prune, tt.apply); got != tt.want {
			t.Errorf("%s: plan %s, want %s", tt.name, got, tt.want)
		}
	}
}
