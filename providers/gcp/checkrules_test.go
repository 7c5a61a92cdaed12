package gcp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// TestCheckRulesNamesOperatorAndPlace: a pattern Pub/Sub cannot enforce
// is refused before anything is planned (Unsupported: exit 2), one line
// per part with the operator's file:line:col in evcli.yaml, whether the
// pattern is a YAML mapping or a string of JSON; with the guard opt-in
// (gcp.guard: in-function) it passes.
func TestCheckRulesNamesOperatorAndPlace(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	file := filepath.Join(dir, "evcli.yaml")
	data := "project: shop\n" +
		"provider: gcp\n" +
		"functions:\n" +
		"  big:\n" +
		"    source: src\n" +
		"    runtime: nodejs22.x\n" +
		"    handler: index.handler\n" +
		"    events:\n" +
		"      - pattern: {source: [shop], detail: {amount: [{numeric: [\">\", 100]}]}}\n" +
		"      - pattern: '{\"source\": [{\"suffix\": \".shop\"}], \"detail-type\": [\"A\"]}'\n" +
		"  fine:\n" +
		"    source: src\n" +
		"    runtime: nodejs22.x\n" +
		"    handler: index.handler\n" +
		"    events:\n" +
		"      - pattern: {source: [shop], detail-type: [{prefix: Order}]}\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(file, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fds := deploy.Desired(p, []deploy.Artifact{{Function: "big"}, {Function: "fine"}}, nil)
	d := &deployer{project: "shop"}
	err = d.CheckRules(fds)
	if providers.CodeOf(err) != providers.Unsupported {
		t.Fatalf("CheckRules = %v, want Unsupported", err)
	}
	for _, want := range []string{
		file + `:9:54: function big events[0]: operator "numeric" on detail.amount`,
		file + `:10:32: function big events[1]: operator "suffix" on source`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nlacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "fine") {
		t.Errorf("error names the function whose pattern Pub/Sub enforces: %v", err)
	}
	if h := err.(*providers.Error).Hint; !strings.Contains(h, "gcp.guard: in-function") {
		t.Errorf("hint %q does not name the opt-in", h)
	}
	d.guard = true
	if err := d.CheckRules(fds); err != nil {
		t.Errorf("with the guard opt-in: %v", err)
	}
	// A rule without a place (not from a project file) names the function and rule.
	d.guard = false
	err = d.CheckRules([]providers.FunctionDeployment{{Name: "x", Rules: []providers.RuleSpec{{ID: "x-0", Pattern: []byte(`{"detail":{"n":[1]}}`)}}}})
	if err == nil || !strings.Contains(err.Error(), "function x events[0]: exact values of detail.n") {
		t.Errorf("no place: %v", err)
	}
}
