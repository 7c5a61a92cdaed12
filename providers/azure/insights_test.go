package azure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
)

// TestInsightsComponentAndConnectionString: the shared resources include
// the project's Log Analytics workspace and a workspace-based App
// Insights component (created once, then only read); every app gets the
// component's connection string as APPLICATIONINSIGHTS_CONNECTION_STRING,
// which is never in the reported environment, the plan, the warnings or
// the debug lines; an app without it (deployed before) is drift the next
// deploy repairs.
func TestInsightsComponentAndConnectionString(t *testing.T) {
	e := newTestEnv(t, "ins", nil)
	var debug, warn bytes.Buffer
	p, err := e.h.Open(e.ctx, providers.OpenOptions{Project: "ins", Bus: "ins-bus", Debug: &debug, Warn: &warn})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	d := p.Deployer.(*deployer)

	comps := e.h.fake.Components()
	comp := comps[d.c.names.Insights()]
	if len(comps) != 1 || comp == nil {
		t.Fatalf("components %v, want %s", comps, d.c.names.Insights())
	}
	if ws, _ := comp["WorkspaceResourceId"].(string); !strings.HasSuffix(ws, "/providers/Microsoft.OperationalInsights/workspaces/"+d.c.names.Workspace()) {
		t.Errorf("the component's workspace is %q, want the project's %s", ws, d.c.names.Workspace())
	}
	cs, _ := comp["ConnectionString"].(string)
	key, _ := comp["InstrumentationKey"].(string)
	if cs == "" || key == "" {
		t.Fatalf("the fake's component has no connection string: %v", comp)
	}
	changes, err := p.Shared.PlanShared(e.ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if (c.Kind == "workspace" || c.Kind == "insights") && c.Action != "unchanged" {
			t.Errorf("after the first deploy PlanShared says %s %s %s", c.Action, c.Kind, c.Name)
		}
	}

	fd := e.fn("orders", 1, `{"source":["ct.shop"]}`)
	plan := e.deploy(p, []providers.FunctionDeployment{fd})
	apps := e.h.fake.Apps()
	if len(apps) != 1 || apps[0].Settings[settingInsights] != cs {
		t.Fatalf("the app's %s is not the component's connection string: %v", settingInsights, apps)
	}
	got, err := p.Deployer.Deployed(e.ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("Deployed = %v, %v", got, err)
	}
	if _, ok := got[0].Env[settingInsights]; ok || len(got[0].Drift) != 0 {
		t.Errorf("Deployed reports the connection string as environment or drift: %+v", got[0])
	}

	// An app deployed without it.
	st := map[string]*string{}
	for k, v := range apps[0].Settings {
		if k != settingInsights {
			st[k] = to.Ptr(v)
		}
	}
	if _, err := d.sites.UpdateApplicationSettings(e.ctx, d.rg(), apps[0].Name, armappservice.StringDictionary{Properties: st}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = p.Deployer.Deployed(e.ctx)
	if len(got) != 1 || len(got[0].Drift) != 1 || !strings.Contains(got[0].Drift[0], "Application Insights") {
		t.Fatalf("an app without the connection string: Deployed = %+v, want drift naming it", got)
	}
	plan2 := e.deploy(p, []providers.FunctionDeployment{fd})
	if len(plan2) != 1 || plan2[0].Action != deploy.Update {
		t.Fatalf("plan = %+v, want one update", plan2)
	}
	if apps := e.h.fake.Apps(); apps[0].Settings[settingInsights] != cs {
		t.Errorf("the repair did not set %s", settingInsights)
	}

	printed := debug.String() + warn.String() + fmt.Sprintf("%+v %+v %+v %+v", plan, plan2, got, changes)
	for _, secret := range []string{cs, key} {
		if strings.Contains(printed, secret) {
			t.Errorf("the connection string's %q was printed:\n%s", secret, printed)
		}
	}
	if debug.Len() == 0 {
		t.Error("no debug lines: the test does not see what --debug prints")
	}
}

// TestInsightsFakeRefusesWhatAzureRefuses: a component needs a location
// and an existing Log Analytics workspace (classic components are
// retired); the driver reports each as Azure's error, classified.
func TestInsightsFakeRefusesWhatAzureRefuses(t *testing.T) {
	e := newTestEnv(t, "insfail", nil)
	d := e.p.Deployer.(*deployer)
	path := d.groupPath() + "/providers/Microsoft.Insights/components/other"
	for _, c := range []struct {
		name string
		body map[string]any
		code providers.Code
		says string
	}{
		{"no location", map[string]any{"kind": "web", "properties": map[string]any{"Application_Type": "web", "WorkspaceResourceId": d.workspacePath()}},
			providers.InvalidArgument, "LocationRequired"},
		{"classic", map[string]any{"location": "westeurope", "kind": "web", "properties": map[string]any{"Application_Type": "web"}},
			providers.InvalidArgument, "classic"},
		{"no such workspace", map[string]any{"location": "westeurope", "kind": "web", "properties": map[string]any{"Application_Type": "web",
			"WorkspaceResourceId": d.groupPath() + "/providers/Microsoft.OperationalInsights/workspaces/nope"}},
			providers.InvalidArgument, "was not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := classify("component other", d.armCall(e.ctx, http.MethodPut, path, insightsAPI, c.body, nil))
			if providers.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.says) {
				t.Errorf("PUT = %v (code %v), want code %v saying %q", err, providers.CodeOf(err), c.code, c.says)
			}
		})
	}
	// A deleted component is NotFound when an app is deployed, with the fix.
	if err := d.armCall(e.ctx, http.MethodDelete, d.insightsPath(), insightsAPI, nil, nil); err != nil {
		t.Fatal(err)
	}
	p := e.open()
	err := p.Deployer.ApplyFunction(e.ctx, e.fn("orders", 1), true, nil)
	if err != nil {
		t.Fatalf("Open recreates a missing component with the shared resources; ApplyFunction = %v", err)
	}
	d2 := e.p.Deployer.(*deployer)
	d2.insightsCS = ""
	if err := d2.armCall(e.ctx, http.MethodDelete, d2.insightsPath(), insightsAPI, nil, nil); err != nil {
		t.Fatal(err)
	}
	err = d2.ApplyFunction(e.ctx, e.fn("orders", 1), false, nil)
	var pe *providers.Error
	if providers.CodeOf(err) != providers.NotFound || !errors.As(err, &pe) || !strings.Contains(pe.Hint, "evcli deploy creates it") {
		t.Errorf("ApplyFunction without a component = %v, want NotFound with the fix", err)
	}
}
