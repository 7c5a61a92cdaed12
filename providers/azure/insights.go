package azure

import (
	"context"
	"errors"
	"net/http"

	"github.com/evcli/evcli/providers"
)

// Application Insights. Every function app reports to the project's
// component (<project>-insights), which tail and tune read: the apps'
// APPLICATIONINSIGHTS_CONNECTION_STRING names it. New components are
// workspace-based only (classic ones are retired), so the project also
// has a Log Analytics workspace (<project>-logs) that holds the data.
// Both go through ARM directly (no armapplicationinsights or
// armoperationalinsights module is linked for two PUTs and two GETs).
// PlanShared creates them when missing and never deletes them; the
// connection string is a secret-like value (it carries the
// instrumentation key): it is read once, set on the apps, and never
// printed, not even to --debug.
const (
	insightsAPI     = "2020-02-02"
	workspaceAPI    = "2023-09-01"
	settingInsights = "APPLICATIONINSIGHTS_CONNECTION_STRING"
)

func (d *deployer) groupPath() string {
	return "/subscriptions/" + d.c.subscription + "/resourceGroups/" + d.rg()
}

func (d *deployer) workspacePath() string {
	return d.groupPath() + "/providers/Microsoft.OperationalInsights/workspaces/" + d.c.names.Workspace()
}

func (d *deployer) insightsPath() string {
	return d.groupPath() + "/providers/Microsoft.Insights/components/" + d.c.names.Insights()
}

// planInsights says whether the workspace and the component are to be
// created: two reads.
func (d *deployer) planInsights(ctx context.Context) ([]providers.ResourceChange, error) {
	var out []providers.ResourceChange
	for _, r := range []struct{ kind, name, path, api, what string }{
		{"workspace", d.c.names.Workspace(), d.workspacePath(), workspaceAPI, "Log Analytics workspace "},
		{"insights", d.c.names.Insights(), d.insightsPath(), insightsAPI, "Application Insights component "},
	} {
		var v struct{}
		switch err := d.armCall(ctx, http.MethodGet, r.path, r.api, nil, &v); {
		case isNotFound(err):
			out = append(out, providers.ResourceChange{Kind: r.kind, Name: r.name, Action: "create"})
		case err != nil:
			return nil, classify(r.what+r.name, err)
		default:
			out = append(out, providers.ResourceChange{Kind: r.kind, Name: r.name, Action: "unchanged"})
		}
	}
	return out, nil
}

// createWorkspace makes the project's Log Analytics workspace
// (pay-as-you-go, 30 days' retention).
func (d *deployer) createWorkspace(ctx context.Context, name string) error {
	return classify("Log Analytics workspace "+name, d.armCall(ctx, http.MethodPut, d.workspacePath(), workspaceAPI, workspaceBody(d.c), nil))
}

// createInsights makes the project's workspace-based Application Insights
// component.
func (d *deployer) createInsights(ctx context.Context, name string) error {
	return classify("Application Insights component "+name, d.armCall(ctx, http.MethodPut, d.insightsPath(), insightsAPI, insightsBody(d.c, d.workspacePath()), nil))
}

// insightsConnection is the component's connection string, read once.
func (d *deployer) insightsConnection(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.insightsCS != "" {
		return d.insightsCS, nil
	}
	var comp struct {
		Properties struct {
			ConnectionString string `json:"ConnectionString"`
		} `json:"properties"`
	}
	name := d.c.names.Insights()
	if err := d.armCall(ctx, http.MethodGet, d.insightsPath(), insightsAPI, nil, &comp); err != nil {
		err = classify("Application Insights component "+name, err)
		if providers.CodeOf(err) == providers.NotFound {
			err.(*providers.Error).Hint = "evcli deploy creates it with the project's shared resources"
		}
		return "", err
	}
	if comp.Properties.ConnectionString == "" {
		return "", &providers.Error{Code: providers.Unavailable, Resource: "Application Insights component " + name,
			Err: errors.New("the component has no connection string yet"), Hint: "run evcli deploy again in a minute"}
	}
	d.insightsCS = comp.Properties.ConnectionString
	return d.insightsCS, nil
}

// workspaceResource is the workspace deploy PUTs (export writes the same).
type workspaceResource struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		SKU struct {
			Name string `json:"name"`
		} `json:"sku"`
		RetentionInDays int `json:"retentionInDays"`
	} `json:"properties"`
}

func workspaceBody(c *config) workspaceResource {
	w := workspaceResource{Location: c.location, Tags: map[string]string{TagProject: c.project}}
	w.Properties.SKU.Name, w.Properties.RetentionInDays = "PerGB2018", 30
	return w
}

// insightsResource is the component deploy PUTs (export writes the same).
type insightsResource struct {
	Location   string            `json:"location"`
	Kind       string            `json:"kind"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		ApplicationType     string `json:"Application_Type"`
		FlowType            string `json:"Flow_Type"`
		RequestSource       string `json:"Request_Source"`
		IngestionMode       string `json:"IngestionMode"`
		WorkspaceResourceID string `json:"WorkspaceResourceId"`
	} `json:"properties"`
}

func insightsBody(c *config, workspaceID string) insightsResource {
	r := insightsResource{Location: c.location, Kind: "web", Tags: map[string]string{TagProject: c.project}}
	p := &r.Properties
	p.ApplicationType, p.FlowType, p.RequestSource, p.IngestionMode, p.WorkspaceResourceID = "web", "Bluefield", "rest", "LogAnalytics", workspaceID
	return r
}
