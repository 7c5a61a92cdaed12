package aztest

import (
	"net/http"
	"slices"
	"strings"
)

// Azure RBAC through ARM (Microsoft.Authorization/roleAssignments under a
// resource's scope): assignments kept by name with ARM's checks (a GUID
// name, a built-in role definition of the scope's subscription, a
// principal that exists in the directory, one assignment per role, scope
// and principal: a second one is 409 RoleAssignmentExists). The fake's
// directory holds the system-assigned identities of its function apps.

// builtinRoles are the Azure built-in role definitions the fake knows.
var builtinRoles = []string{
	"d5a91429-5739-47e2-a06b-3470a27159e7", // EventGrid Data Sender
	"b24988ac-6180-42a0-ab88-20f7382dd24c", // Contributor
}

// ARMRoleAssignment is one Microsoft.Authorization role assignment.
type ARMRoleAssignment struct {
	Name, Scope, RoleDefinitionID, PrincipalID, PrincipalType string
}

// ARMRoleAssignments returns the role assignments, sorted by name.
func (s *Server) ARMRoleAssignments() []ARMRoleAssignment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ARMRoleAssignment, 0, len(s.armRoles))
	for _, a := range s.armRoles {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b ARMRoleAssignment) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// DeleteARMRoleAssignment removes an assignment, as az role assignment
// delete would.
func (s *Server) DeleteARMRoleAssignment(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.armRoles, strings.ToLower(name))
}

// principalExists reports whether id is an app's system-assigned identity.
func (s *Server) principalExists(id string) bool {
	for _, site := range s.sites {
		if ident, _ := site["identity"].(map[string]any); ident != nil && strings.EqualFold(ident["principalId"].(string), id) {
			return true
		}
	}
	return false
}

// authzAPI serves {scope}/providers/Microsoft.Authorization/roleAssignments[/{name}].
func (s *Server) authzAPI(method, path string, in map[string]any) (int, any, *armError) {
	scope, name, _ := strings.Cut(path, "/providers/Microsoft.Authorization/roleAssignments")
	name = strings.TrimPrefix(name, "/")
	sub := strings.Split(strings.TrimPrefix(scope, "/subscriptions/"), "/")[0]
	if s.armRoles == nil {
		s.armRoles = map[string]ARMRoleAssignment{}
	}
	view := func(a ARMRoleAssignment) map[string]any {
		return map[string]any{"id": a.Scope + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name, "name": a.Name,
			"type":       "Microsoft.Authorization/roleAssignments",
			"properties": map[string]any{"roleDefinitionId": a.RoleDefinitionID, "principalId": a.PrincipalID, "principalType": a.PrincipalType, "scope": a.Scope}}
	}
	if name == "" {
		if method != http.MethodGet {
			return 0, nil, errf(405, "MethodNotAllowed", "")
		}
		// At the scope, above it and below it, as ARM lists without a filter.
		ls := strings.ToLower(scope)
		list := []any{}
		for _, k := range slices.Sorted(mapsKeys(s.armRoles)) {
			a := s.armRoles[k]
			as := strings.ToLower(a.Scope)
			if as == ls || strings.HasPrefix(ls, as+"/") || strings.HasPrefix(as, ls+"/") {
				list = append(list, view(a))
			}
		}
		return 200, map[string]any{"value": list}, nil
	}
	key := strings.ToLower(name)
	switch method {
	case http.MethodGet:
		a, ok := s.armRoles[key]
		if !ok || !strings.EqualFold(a.Scope, scope) {
			return 0, nil, errf(404, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name)
		}
		return 200, view(a), nil
	case http.MethodDelete:
		a, ok := s.armRoles[key]
		if !ok {
			return 204, nil, nil
		}
		delete(s.armRoles, key)
		return 200, view(a), nil
	case http.MethodPut:
		if !guid.MatchString(name) {
			return 0, nil, errf(400, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
		}
		props, _ := in["properties"].(map[string]any)
		role, _ := props["roleDefinitionId"].(string)
		principal, _ := props["principalId"].(string)
		ptype, _ := props["principalType"].(string)
		rdef, found := strings.CutPrefix(strings.ToLower(role), strings.ToLower("/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"))
		if !found || !slices.Contains(builtinRoles, rdef) {
			return 0, nil, errf(400, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", lastSegment(role))
		}
		if !guid.MatchString(principal) || !s.principalExists(principal) {
			return 0, nil, errf(400, "PrincipalNotFound", "Principal %s does not exist in the directory 72f988bf-0000-4000-8000-000000000000.", strings.ReplaceAll(principal, "-", ""))
		}
		if ex, ok := s.armRoles[key]; ok && (!strings.EqualFold(ex.PrincipalID, principal) || !strings.EqualFold(ex.RoleDefinitionID, role) || !strings.EqualFold(ex.Scope, scope)) {
			return 0, nil, errf(400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
		}
		for k, a := range s.armRoles {
			if k != key && strings.EqualFold(a.Scope, scope) && strings.EqualFold(a.RoleDefinitionID, role) && strings.EqualFold(a.PrincipalID, principal) {
				return 0, nil, errf(409, "RoleAssignmentExists", "The role assignment already exists. The ID of the existing role assignment is %s.", strings.ReplaceAll(a.Name, "-", ""))
			}
		}
		a := ARMRoleAssignment{Name: name, Scope: scope, RoleDefinitionID: role, PrincipalID: principal, PrincipalType: ptype}
		s.armRoles[key] = a
		return 201, view(a), nil
	}
	return 0, nil, errf(405, "MethodNotAllowed", "")
}
