package azure

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// TestCheckRulesNamesTheOperatorsPlace: the deployer's RuleChecker
// refuses a pattern Event Grid cannot enforce at the operator's own
// file:line:col (RuleSpec.Where's members), Unsupported (exit 2), and
// passes it with the guard opted into (OpenOptions.InFunctionGuard, as
// EVCLI_AZURE_GUARD=in-function).
func TestCheckRulesNamesTheOperatorsPlace(t *testing.T) {
	ctx := context.Background()
	for _, guard := range []bool{false, true} {
		h := newHarness(t.TempDir())
		defer h.Close()
		p, err := Open(ctx, h.options(providers.OpenOptions{Project: "shop", Bus: "shop-bus", InFunctionGuard: guard}))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		rc, ok := p.Deployer.(providers.RuleChecker)
		if !ok {
			t.Fatal("the azure deployer is not a providers.RuleChecker")
		}
		where := &providers.RulePlace{File: "/p/evcli.yaml", Line: 9, Col: 7,
			Members: map[string][2]int{"detail": {10, 9}, "detail/ip": {11, 11}}}
		fds := []providers.FunctionDeployment{
			{Name: "orders", Rules: []providers.RuleSpec{{ID: "orders-0", Pattern: json.RawMessage(`{"source":["shop"]}`)}}},
			{Name: "audit", Rules: []providers.RuleSpec{{ID: "audit-0", Pattern: json.RawMessage(`{"source":["shop"]}`)},
				{ID: "audit-1", Pattern: json.RawMessage(`{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`), Where: where}}},
		}
		err = rc.CheckRules(fds)
		if guard {
			if err != nil {
				t.Errorf("with the guard: %v", err)
			}
			continue
		}
		want := "/p/evcli.yaml:11:11: functions.audit.events[1] detail.ip: Event Grid cannot enforce cidr"
		if providers.CodeOf(err) != providers.Unsupported || err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "orders") {
			t.Errorf("CheckRules = %v (code %v), want Unsupported starting %q", err, providers.CodeOf(err), want)
		}
		if n := len(h.fake.Calls()); n != 0 {
			t.Errorf("CheckRules made %d calls", n)
		}
	}
}

// TestDeployRefusesBeforeAnyCall: evcli deploy (deploy.Run) asks the
// driver's RuleChecker before it plans: an unenforceable pattern stops it
// with Unsupported and the fake sees no call at all.
func TestDeployRefusesBeforeAnyCall(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "functions", "audit"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "functions", "audit", "index.js"), []byte("exports.handler = async () => 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	proj := &project.Project{Path: filepath.Join(dir, "evcli.yaml"), Dir: dir, Name: "shop", Bus: "shop-bus",
		Functions: []project.Function{{Name: "audit", Source: "functions/audit", Runtime: "nodejs20.x", Handler: "index.handler",
			Events: []project.EventSource{{Pattern: json.RawMessage(`{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`), Pos: project.Pos{Line: 8, Col: 9}}}}}}
	h := newHarness(t.TempDir())
	defer h.Close()
	p, err := Open(ctx, h.options(providers.OpenOptions{Project: "shop", Bus: "shop-bus"}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	_, err = deploy.Run(ctx, p.Deployer, p.Shared, deploy.RunOptions{Project: proj})
	if providers.CodeOf(err) != providers.Unsupported || !strings.Contains(err.Error(), "functions.audit.events[0] detail.ip: Event Grid cannot enforce cidr") {
		t.Errorf("deploy = %v (code %v), want Unsupported naming the cidr", err, providers.CodeOf(err))
	}
	if calls := h.fake.Calls(); len(calls) != 0 {
		t.Errorf("deploy made %d calls before refusing: %+v", len(calls), calls)
	}
}
