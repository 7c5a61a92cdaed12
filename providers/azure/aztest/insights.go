package aztest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Log Analytics workspaces (Microsoft.OperationalInsights/workspaces,
// 2023-09-01) and Application Insights components
// (Microsoft.Insights/components, 2020-02-02), as ARM keeps them: a
// component is workspace-based (its WorkspaceResourceId must name a
// workspace the fake holds; classic components can no longer be created)
// and answers with a ConnectionString carrying its instrumentation key.

var (
	workspaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$`)
	componentName = regexp.MustCompile(`^[^%&\\?/]{1,255}$`)
)

// Components returns the Application Insights components by name, each
// with its properties (WorkspaceResourceId, ConnectionString, ...).
func (s *Server) Components() map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for _, c := range s.components {
		props, _ := c["properties"].(map[string]any)
		out[c["name"].(string)] = props
	}
	return out
}

func (s *Server) workspacesAPI(method, base, name, rest string, in map[string]any) (int, any, *armError) {
	if rest != "" {
		return 0, nil, errf(404, "NotFound", "the fake has no workspaces/%s%s", name, rest)
	}
	if s.workspaces == nil {
		s.workspaces = map[string]map[string]any{}
	}
	ln := strings.ToLower(name)
	switch method {
	case http.MethodGet:
		if w := s.workspaces[ln]; w != nil {
			return 200, w, nil
		}
		return 0, nil, errf(404, "ResourceNotFound", "The Resource 'Microsoft.OperationalInsights/workspaces/%s' under resource group was not found.", name)
	case http.MethodPut:
		if !workspaceName.MatchString(name) {
			return 0, nil, errf(400, "InvalidWorkspaceName", "workspace name %q is not 4-63 letters, digits and '-', starting and ending with a letter or digit", name)
		}
		if loc, _ := in["location"].(string); loc == "" {
			return 0, nil, errf(400, "LocationRequired", "the location property is required for this definition")
		}
		props, _ := in["properties"].(map[string]any)
		stored := map[string]any{"provisioningState": "Succeeded", "customerId": fmt.Sprintf("00000000-0000-4000-8000-%012d", len(s.workspaces)+1)}
		for k, v := range props {
			stored[k] = v
		}
		res := map[string]any{"id": base + "/" + name, "name": name, "type": "Microsoft.OperationalInsights/workspaces",
			"location": in["location"], "tags": in["tags"], "properties": stored}
		status := 200
		if s.workspaces[ln] == nil {
			status = 201
		}
		s.workspaces[ln] = res
		return status, res, nil
	case http.MethodDelete:
		delete(s.workspaces, ln)
		return 200, nil, nil
	}
	return 0, nil, errf(405, "MethodNotAllowed", "")
}

func (s *Server) componentsAPI(method, base, name, rest string, in map[string]any) (int, any, *armError) {
	if rest != "" {
		return 0, nil, errf(404, "NotFound", "the fake has no components/%s%s", name, rest)
	}
	if s.components == nil {
		s.components = map[string]map[string]any{}
	}
	ln := strings.ToLower(name)
	switch method {
	case http.MethodGet:
		if c := s.components[ln]; c != nil {
			return 200, c, nil
		}
		return 0, nil, errf(404, "ResourceNotFound", "The Resource 'Microsoft.Insights/components/%s' under resource group was not found.", name)
	case http.MethodPut:
		if !componentName.MatchString(name) {
			return 0, nil, errf(400, "InvalidResourceName", "component name %q is not valid", name)
		}
		if loc, _ := in["location"].(string); loc == "" {
			return 0, nil, errf(400, "LocationRequired", "the location property is required for this definition")
		}
		if kind, _ := in["kind"].(string); kind == "" {
			return 0, nil, errf(400, "BadRequest", "kind is required")
		}
		props, _ := in["properties"].(map[string]any)
		if t, _ := props["Application_Type"].(string); t == "" {
			return 0, nil, errf(400, "BadRequest", "properties.Application_Type is required")
		}
		ws, _ := props["WorkspaceResourceId"].(string)
		if ws == "" {
			return 0, nil, errf(400, "BadRequest", "Creating classic (non-workspace-based) Application Insights resources is no longer supported: set properties.WorkspaceResourceId")
		}
		if s.workspaces[strings.ToLower(lastSegment(ws))] == nil || !strings.Contains(strings.ToLower(ws), "/providers/microsoft.operationalinsights/workspaces/") {
			return 0, nil, errf(400, "BadRequest", "Workspace resource %s was not found", ws)
		}
		stored := map[string]any{}
		if old := s.components[ln]; old != nil {
			for k, v := range old["properties"].(map[string]any) {
				stored[k] = v
			}
		}
		for k, v := range props {
			stored[k] = v
		}
		if stored["InstrumentationKey"] == nil {
			key := fmt.Sprintf("1a2b3c4d-0000-4000-8000-%012d", len(s.components)+1)
			stored["InstrumentationKey"], stored["AppId"] = key, "app-"+key
			stored["ConnectionString"] = "InstrumentationKey=" + key + ";IngestionEndpoint=" + s.srv.URL + "/ingest/;ApplicationId=app-" + key
		}
		stored["provisioningState"], stored["Name"] = "Succeeded", name
		res := map[string]any{"id": base + "/" + name, "name": name, "type": "microsoft.insights/components", "location": in["location"],
			"kind": in["kind"], "tags": in["tags"], "properties": stored}
		status := 200
		if s.components[ln] == nil {
			status = 201
		}
		s.components[ln] = res
		return status, res, nil
	case http.MethodDelete:
		delete(s.components, ln)
		return 200, nil, nil
	}
	return 0, nil, errf(405, "MethodNotAllowed", "")
}
