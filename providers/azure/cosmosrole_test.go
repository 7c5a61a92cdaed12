package azure

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
)

// TestCosmosAccountID: the account is EVCLI_AZURE_COSMOS_ACCOUNT (a name
// in the group or an id), else the endpoint's first host label; an
// emulator on this machine has none.
func TestCosmosAccountID(t *testing.T) {
	const group = "/subscriptions/s/resourceGroups/rg"
	for _, c := range []struct{ v, endpoint, want string }{
		{"", "https://shopdb.documents.azure.com:443/", group + "/providers/Microsoft.DocumentDB/databaseAccounts/shopdb"},
		{"", "https://shopdb.documents.azure.us/", group + "/providers/Microsoft.DocumentDB/databaseAccounts/shopdb"},
		{"other", "https://shopdb.documents.azure.com/", group + "/providers/Microsoft.DocumentDB/databaseAccounts/other"},
		{"/subscriptions/t/resourceGroups/data/providers/Microsoft.DocumentDB/databaseAccounts/x/", "", "/subscriptions/t/resourceGroups/data/providers/Microsoft.DocumentDB/databaseAccounts/x"},
		{"", "https://127.0.0.1:8081/", ""},
		{"", "http://localhost:3000", ""},
	} {
		if got := cosmosAccountID(c.v, c.endpoint, group); got != c.want {
			t.Errorf("cosmosAccountID(%q, %q) = %q, want %q", c.v, c.endpoint, got, c.want)
		}
	}
}

// TestRoleAssignmentName: a GUID, the same for the same scope, principal
// and role (any case), another for another principal.
func TestRoleAssignmentName(t *testing.T) {
	a := roleAssignmentName("/subscriptions/s/x/dbs/evcli", "P1", cosmosDataContributor)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) {
		t.Fatalf("%q is not a name-based GUID", a)
	}
	if b := roleAssignmentName("/SUBSCRIPTIONS/s/x/dbs/evcli", "p1", cosmosDataContributor); b != a {
		t.Errorf("case changed the name: %s, %s", a, b)
	}
	if b := roleAssignmentName("/subscriptions/s/x/dbs/evcli", "p2", cosmosDataContributor); b == a {
		t.Error("another principal got the same name")
	}
}

// TestWriterGetsItsCosmosRole: deploying the store gives the writer app a
// managed identity and that identity Cosmos DB Built-in Data Contributor
// on the store's database through a sqlRoleAssignment named from the
// scope and principal; the next plan reads it and changes nothing; an
// assignment made under another name (az) is the role already given; an
// account ARM does not know is NotFound naming EVCLI_AZURE_COSMOS_ACCOUNT.
func TestWriterGetsItsCosmosRole(t *testing.T) {
	ep, hc := testenv.CosmosDB(t)
	ctx := context.Background()
	h := newHarness(t.TempDir())
	defer h.Close()
	h.cosmosEndpoint, h.cosmosClient = ep, hc
	h.envOver = map[string]string{EnvCosmosAccount: "shopdb"}
	h.fake.AddCosmosAccount("shopdb")
	p, err := h.Open(ctx, providers.OpenOptions{Project: "role", Bus: "role-bus"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	d := p.Deployer.(*deployer)
	principal, err := d.writerPrincipal(ctx)
	if err != nil || principal == "" {
		t.Fatalf("the writer app's identity: %q, %v", principal, err)
	}
	account := d.cosmosAccountID()
	scope := account + "/dbs/" + d.store.cfg.Database
	got := h.fake.RoleAssignments()
	if len(got) != 1 {
		t.Fatalf("role assignments %+v, want one", got)
	}
	a := got[0]
	if a.Name != roleAssignmentName(scope, principal, cosmosDataContributor) || a.PrincipalID != principal || a.Scope != scope ||
		a.RoleDefinitionID != account+"/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002" {
		t.Errorf("role assignment %+v; want the Data Contributor role for %s at %s", a, principal, scope)
	}

	before := len(h.fake.MutatingCalls())
	changes, err := p.Shared.PlanShared(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.Action != "unchanged" {
			t.Errorf("the second plan says %s %s %s %v", c.Action, c.Kind, c.Name, c.Fields)
		}
	}
	if err := p.Shared.ApplyShared(ctx, changes, nil); err != nil {
		t.Fatal(err)
	}
	if m := h.fake.MutatingCalls()[before:]; len(m) != 0 {
		t.Errorf("a no-change shared deploy wrote %v", m)
	}

	// The same role given under another name (az cosmosdb sql role assignment create).
	if err := d.armCall(ctx, http.MethodDelete, account+"/sqlRoleAssignments/"+a.Name, cosmosRBACAPI, nil, nil); err != nil {
		t.Fatal(err)
	}
	other := map[string]any{"properties": map[string]any{"roleDefinitionId": a.RoleDefinitionID, "scope": scope, "principalId": principal}}
	if err := d.armCall(ctx, http.MethodPut, account+"/sqlRoleAssignments/11111111-2222-4333-8444-555555555555", cosmosRBACAPI, other, nil); err != nil {
		t.Fatal(err)
	}
	changes, err = p.Shared.PlanShared(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shared.ApplyShared(ctx, changes, nil); err != nil {
		t.Errorf("the role given under another name: ApplyShared = %v, want it taken as given", err)
	}

	// An account ARM does not know.
	h.envOver[EnvCosmosAccount] = "nosuchdb"
	d.c.getenv = func(k string) string { return h.env()[k] }
	err = d.applyWriterRole(ctx)
	var pe *providers.Error
	if providers.CodeOf(err) != providers.NotFound || !errors.As(err, &pe) || !strings.Contains(pe.Hint, EnvCosmosAccount) {
		t.Errorf("applyWriterRole on an unknown account = %v, want NotFound naming %s", err, EnvCosmosAccount)
	}
}
