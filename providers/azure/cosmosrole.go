package azure

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/evcli/evcli/providers"
)

// The store writer's data-plane role. The writer reaches Cosmos DB with
// its app's system-assigned managed identity (an identity-based
// connection), which Cosmos DB authorises by its own RBAC: a
// sqlRoleAssignment on the account (Microsoft.DocumentDB, through ARM)
// giving the identity the Cosmos DB Built-in Data Contributor role, scoped
// to the event store's database. Its name is a GUID derived from the
// scope, the principal and the role, so planning reads one assignment and
// applying it again writes the same one; an app created anew (a new
// principal) gets its own. An emulator (an http:// endpoint) authorises
// by key and needs none unless EnvCosmosAccount names an account.
const (
	cosmosRBACAPI = "2024-08-15"
	// EnvCosmosAccount names the event store's Cosmos DB account for its
	// role assignment: a name in the resource group or a full resource
	// id. Without it the account is the first label of the endpoint's
	// host (https://<account>.documents.azure.com).
	EnvCosmosAccount = "EVCLI_AZURE_COSMOS_ACCOUNT"
)

// cosmosAccountID is the ARM id of the event store's account, "" when
// there is none to assign a role on (no store, or an emulator).
func (d *deployer) cosmosAccountID() string {
	if d.store == nil {
		return ""
	}
	return cosmosAccountID(d.c.getenv(EnvCosmosAccount), d.store.cfg.Endpoint, d.groupPath())
}

// cosmosAccountID is the account's id from EnvCosmosAccount's value v (a
// name in group, or an id), else from an https endpoint's host.
func cosmosAccountID(v, endpoint, group string) string {
	prefix := group + "/providers/Microsoft.DocumentDB/databaseAccounts/"
	if v != "" {
		if strings.HasPrefix(v, "/subscriptions/") {
			return strings.TrimRight(v, "/")
		}
		return prefix + v
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || loopback(u.Hostname()) || u.Hostname() == "" {
		return ""
	}
	account, _, _ := strings.Cut(u.Hostname(), ".")
	return prefix + account
}

// cosmosRoleScope is what the writer's role covers: the store's database.
func (d *deployer) cosmosRoleScope(account string) string {
	return account + "/dbs/" + d.store.cfg.Database
}

// roleAssignmentName is the deterministic GUID of the assignment of role
// to principal at scope.
func roleAssignmentName(scope, principal, role string) string {
	h := sha256.Sum256([]byte(strings.ToLower(scope) + "\x00" + strings.ToLower(principal) + "\x00" + role))
	h[6] = h[6]&0x0f | 0x50 // version 5-like (name-based)
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// writerPrincipal is the writer app's managed identity ("" when the app
// or its identity does not exist yet).
func (d *deployer) writerPrincipal(ctx context.Context) (string, error) {
	s, err := d.site(ctx, d.c.names.App(storeWriterFunction))
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if s.Identity == nil {
		return "", nil
	}
	return str(s.Identity.PrincipalID), nil
}

// planWriterRole says whether the writer's role assignment is to be made:
// two reads (the writer app, the assignment). No change when the project
// has no account to assign on.
func (d *deployer) planWriterRole(ctx context.Context) (*providers.ResourceChange, error) {
	account := d.cosmosAccountID()
	if account == "" {
		return nil, nil
	}
	c := &providers.ResourceChange{Kind: "role", Name: "Cosmos DB Built-in Data Contributor for " + d.c.names.App(storeWriterFunction), Action: "create"}
	principal, err := d.writerPrincipal(ctx)
	if err != nil || principal == "" {
		return c, err
	}
	name := roleAssignmentName(d.cosmosRoleScope(account), principal, d.writer.CosmosRole)
	var got struct {
		Properties struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
			Scope            string `json:"scope"`
			PrincipalID      string `json:"principalId"`
		} `json:"properties"`
	}
	switch err := d.armCall(ctx, http.MethodGet, account+"/sqlRoleAssignments/"+name, cosmosRBACAPI, nil, &got); {
	case isNotFound(err):
		return c, nil
	case err != nil:
		return nil, classify("Cosmos DB role assignment "+name, err)
	}
	p := got.Properties
	if strings.EqualFold(lastPathSegment(p.RoleDefinitionID), d.writer.CosmosRole) && strings.EqualFold(p.Scope, d.cosmosRoleScope(account)) && strings.EqualFold(p.PrincipalID, principal) {
		c.Action = "unchanged"
	} else {
		c.Action, c.Fields = "update", []string{"changed outside evcli"}
	}
	return c, nil
}

// applyWriterRole assigns the writer's identity its role on the store's
// database (after the writer app exists). An assignment of the same role
// to the same principal at the same scope under another name (one made
// with az) is the role already given.
func (d *deployer) applyWriterRole(ctx context.Context) error {
	account := d.cosmosAccountID()
	if account == "" {
		return nil
	}
	principal, err := d.writerPrincipal(ctx)
	if err != nil {
		return err
	}
	app := d.c.names.App(storeWriterFunction)
	if principal == "" {
		return &providers.Error{Code: providers.Unavailable, Resource: "store writer " + app,
			Err: errors.New("the app has no managed identity to give the Cosmos DB role to"), Hint: "run evcli deploy again: it gives the app its identity"}
	}
	scope := d.cosmosRoleScope(account)
	name := roleAssignmentName(scope, principal, d.writer.CosmosRole)
	body := map[string]any{"properties": map[string]any{
		"roleDefinitionId": account + "/sqlRoleDefinitions/" + d.writer.CosmosRole, "scope": scope, "principalId": principal}}
	res := "Cosmos DB role assignment " + name + " on " + lastPathSegment(account)
	err = classify(res, d.assignRole(ctx, res, account+"/sqlRoleAssignments/"+name, cosmosRBACAPI, body))
	if providers.CodeOf(err) == providers.Conflict {
		return nil
	}
	if providers.CodeOf(err) == providers.NotFound {
		err.(*providers.Error).Hint = "the Cosmos DB account " + lastPathSegment(account) + " is not in resource group " + d.rg() + ": set " + EnvCosmosAccount + " to its resource id"
	}
	return err
}
