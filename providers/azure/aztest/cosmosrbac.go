package aztest

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Cosmos DB's data-plane RBAC through ARM (Microsoft.DocumentDB,
// databaseAccounts/{account}/sqlRoleAssignments/{id}): an account the
// test declares (AddCosmosAccount), the built-in role definitions, and
// assignments kept by id with Azure's checks (a GUID id, an existing role
// definition of the account, a scope within the account, one assignment
// per role, scope and principal). Function apps with a SystemAssigned
// identity get a principal id (sites).

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// builtinSQLRoles are Cosmos DB's built-in data-plane role definitions.
var builtinSQLRoles = []string{
	"00000000-0000-0000-0000-000000000001", // Cosmos DB Built-in Data Reader
	"00000000-0000-0000-0000-000000000002", // Cosmos DB Built-in Data Contributor
}

// RoleAssignment is one sqlRoleAssignment the fake holds.
type RoleAssignment struct {
	Account, Name, RoleDefinitionID, Scope, PrincipalID string
}

// AddCosmosAccount makes a Cosmos DB account the fake's ARM knows (in
// every resource group, as names are global).
func (s *Server) AddCosmosAccount(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cosmosAccounts == nil {
		s.cosmosAccounts = map[string]bool{}
	}
	s.cosmosAccounts[strings.ToLower(name)] = true
}

// RoleAssignments returns the sqlRoleAssignments, sorted by name.
func (s *Server) RoleAssignments() []RoleAssignment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RoleAssignment, 0, len(s.roleAssignments))
	for _, a := range s.roleAssignments {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b RoleAssignment) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// principalOf is the deterministic principal id of an app's identity.
func principalOf(app string) string {
	h := sha256.Sum256([]byte("principal/" + strings.ToLower(app)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (s *Server) cosmosAPI(method, base, name, rest string, in map[string]any) (int, any, *armError) {
	ln := strings.ToLower(name)
	if !s.cosmosAccounts[ln] {
		return 0, nil, errf(404, "ResourceNotFound", "The Resource 'Microsoft.DocumentDB/databaseAccounts/%s' under resource group was not found.", name)
	}
	account := base + "/" + name
	if rest == "" {
		if method != http.MethodGet {
			return 0, nil, errf(405, "MethodNotAllowed", "the fake does not create or change Cosmos DB accounts")
		}
		return 200, map[string]any{"id": account, "name": name, "type": "Microsoft.DocumentDB/databaseAccounts",
			"properties": map[string]any{"documentEndpoint": "https://" + ln + ".documents.azure.com:443/", "provisioningState": "Succeeded"}}, nil
	}
	id, ok := strings.CutPrefix(rest, "/sqlRoleAssignments/")
	if !ok || strings.Contains(id, "/") {
		return 0, nil, errf(404, "NotFound", "the fake has no databaseAccounts/%s%s", name, rest)
	}
	if s.roleAssignments == nil {
		s.roleAssignments = map[string]RoleAssignment{}
	}
	key := ln + "/" + strings.ToLower(id)
	view := func(a RoleAssignment) map[string]any {
		return map[string]any{"id": account + "/sqlRoleAssignments/" + a.Name, "name": a.Name, "type": "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
			"properties": map[string]any{"roleDefinitionId": a.RoleDefinitionID, "scope": a.Scope, "principalId": a.PrincipalID}}
	}
	switch method {
	case http.MethodGet:
		a, ok := s.roleAssignments[key]
		if !ok {
			return 0, nil, errf(404, "NotFound", "The SQL Role Assignment with ID [%s] was not found.", id)
		}
		return 200, view(a), nil
	case http.MethodDelete:
		delete(s.roleAssignments, key)
		return 200, nil, nil
	case http.MethodPut:
		if !guid.MatchString(id) {
			return 0, nil, errf(400, "BadRequest", "The SQL Role Assignment ID [%s] is not a valid GUID.", id)
		}
		props, _ := in["properties"].(map[string]any)
		role, _ := props["roleDefinitionId"].(string)
		scope, _ := props["scope"].(string)
		principal, _ := props["principalId"].(string)
		rdef, found := strings.CutPrefix(strings.ToLower(role), strings.ToLower(account)+"/sqlroledefinitions/")
		if !found || !slices.Contains(builtinSQLRoles, rdef) {
			return 0, nil, errf(400, "BadRequest", "The provided SQL Role Definition ID [%s] does not exist in account %s.", role, name)
		}
		ls := strings.ToLower(scope)
		if ls != strings.ToLower(account) && !strings.HasPrefix(ls, strings.ToLower(account)+"/dbs/") {
			return 0, nil, errf(400, "BadRequest", "The provided scope [%s] is not valid: it must be the account or a database or container of it.", scope)
		}
		if !guid.MatchString(principal) {
			return 0, nil, errf(400, "BadRequest", "The provided principal ID [%s] is not a valid GUID.", principal)
		}
		for k, a := range s.roleAssignments {
			if k != key && strings.EqualFold(a.Account, name) && strings.EqualFold(a.RoleDefinitionID, role) && strings.EqualFold(a.Scope, scope) && strings.EqualFold(a.PrincipalID, principal) {
				return 0, nil, errf(409, "Conflict", "A SQL Role Assignment [%s] with the same role definition, scope and principal already exists.", a.Name)
			}
		}
		a := RoleAssignment{Account: name, Name: id, RoleDefinitionID: role, Scope: scope, PrincipalID: principal}
		s.roleAssignments[key] = a
		return 200, view(a), nil
	}
	return 0, nil, errf(405, "MethodNotAllowed", "")
}
