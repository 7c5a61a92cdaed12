package azure

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
)

// busEndpoint is what the bus's topic reports as properties.endpoint.
func (e *testEnv) busEndpoint(d *deployer) string {
	e.t.Helper()
	tp, err := d.topics.Get(e.ctx, d.rg(), Topic(d.bus), nil)
	if err != nil || tp.Properties == nil || tp.Properties.Endpoint == nil {
		e.t.Fatalf("topic %s: %v", Topic(d.bus), err)
	}
	return *tp.Properties.Endpoint
}

// checkPublish asserts every deployed app has the topic's endpoint as
// EVENTGRID_TOPIC_ENDPOINT and its identity EventGrid Data Sender on the
// topic, under deploy's deterministic name.
func (e *testEnv) checkPublish(d *deployer, apps []string) {
	e.t.Helper()
	endpoint := e.busEndpoint(d)
	scope := d.topicScope(Topic(d.bus))
	byPrincipal := map[string]string{}
	for _, a := range e.h.fake.ARMRoleAssignments() {
		if !strings.EqualFold(a.Scope, scope) || !strings.EqualFold(a.RoleDefinitionID, d.senderRoleID()) || a.PrincipalType != "ServicePrincipal" {
			e.t.Errorf("role assignment %+v: want EventGrid Data Sender on %s for a ServicePrincipal", a, scope)
		}
		byPrincipal[a.PrincipalID] = a.Name
	}
	if len(byPrincipal) != len(apps) {
		e.t.Errorf("%d role assignments for %d apps", len(byPrincipal), len(apps))
	}
	for _, app := range apps {
		st, err := d.settings(e.ctx, app)
		if err != nil {
			e.t.Fatal(err)
		}
		if st[SettingTopicEndpoint] != endpoint {
			e.t.Errorf("%s: %s = %q, want the topic's endpoint %q", app, SettingTopicEndpoint, st[SettingTopicEndpoint], endpoint)
		}
		s, err := d.site(e.ctx, app)
		if err != nil || s.Identity == nil {
			e.t.Fatalf("%s: %v (identity %v)", app, err, s)
		}
		principal := str(s.Identity.PrincipalID)
		if got, want := byPrincipal[principal], roleAssignmentName(scope, principal, EventGridDataSender); got != want {
			e.t.Errorf("%s: role assignment %q, want %q", app, got, want)
		}
	}
}

// mutating are the mutating calls made since call index from.
func (e *testEnv) mutating(from int) []string {
	var out []string
	for _, c := range e.h.fake.Calls()[from:] {
		if c.Mutating {
			out = append(out, c.Method+" "+c.Path)
		}
	}
	return out
}

// TestAppsCanPublishToTheirBus: after a deploy every app has the topic's
// endpoint and the role; a second deploy changes nothing and writes
// nothing; an assignment deleted outside evcli, or the setting removed,
// shows as drift and the next deploy puts it back (and only it).
func TestAppsCanPublishToTheirBus(t *testing.T) {
	e := newTestEnv(t, "pub", nil)
	desired := []providers.FunctionDeployment{
		e.fn("orders", 1, `{"source":["shop"]}`), e.fn("payment", 1, `{"source":["shop.orders"]}`), e.fn("shipment", 1),
	}
	e.deploy(e.p, desired)
	d := e.p.Deployer.(*deployer)
	var apps []string
	for _, fd := range desired {
		apps = append(apps, d.c.names.App(fd.Name))
	}
	e.checkPublish(d, apps)

	before := len(e.h.fake.Calls())
	if plan := e.deploy(e.open(), desired); deploy.HasChanges(plan) {
		t.Fatalf("the second plan changes %v", plan)
	}
	if m := e.mutating(before); len(m) > 0 {
		t.Errorf("a no-change deploy wrote %v", m)
	}

	// The role deleted outside evcli.
	s, err := d.site(e.ctx, apps[1])
	if err != nil {
		t.Fatal(err)
	}
	e.h.fake.DeleteARMRoleAssignment(roleAssignmentName(d.topicScope(Topic(d.bus)), str(s.Identity.PrincipalID), EventGridDataSender))
	got, err := e.open().Deployer.Deployed(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range got {
		drift := strings.Join(fd.Drift, "; ")
		if (fd.PhysicalName == apps[1]) != strings.Contains(drift, "EventGrid Data Sender") {
			t.Errorf("%s drift %q", fd.PhysicalName, drift)
		}
	}
	before = len(e.h.fake.Calls())
	plan := e.deploy(e.open(), desired)
	var changed []string
	for _, c := range plan {
		if c.Action != deploy.Unchanged {
			changed = append(changed, c.Name)
		}
	}
	if strings.Join(changed, ",") != "payment" {
		t.Errorf("after the role was deleted the plan changes %v, want payment", changed)
	}
	e.checkPublish(d, apps)
	var roleWrites int
	for _, m := range e.mutating(before) {
		if strings.Contains(m, "roleAssignments") {
			roleWrites++
		}
	}
	if roleWrites != 1 {
		t.Errorf("%d role assignment writes to repair one, want 1", roleWrites)
	}

	// The setting removed outside evcli.
	st, err := d.settings(e.ctx, apps[2])
	if err != nil {
		t.Fatal(err)
	}
	delete(st, SettingTopicEndpoint)
	props := map[string]*string{}
	for k, v := range st {
		props[k] = to.Ptr(v)
	}
	if _, err := d.sites.UpdateApplicationSettings(e.ctx, d.rg(), apps[2], armappservice.StringDictionary{Properties: props}, nil); err != nil {
		t.Fatal(err)
	}
	got, err = e.open().Deployer.Deployed(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range got {
		if fd.PhysicalName == apps[2] && !strings.Contains(strings.Join(fd.Drift, "; "), SettingTopicEndpoint) {
			t.Errorf("%s without %s: drift %v", fd.PhysicalName, SettingTopicEndpoint, fd.Drift)
		}
		if _, ok := fd.Env[SettingTopicEndpoint]; ok {
			t.Errorf("%s: evcli's %s is in the function's environment", fd.PhysicalName, SettingTopicEndpoint)
		}
	}
	e.deploy(e.open(), desired)
	e.checkPublish(d, apps)
	if plan := e.deploy(e.open(), desired); deploy.HasChanges(plan) {
		t.Fatalf("after the repair the plan changes %v", plan)
	}
}

// TestProjectTopicEndpointWins: a value in evcli.yaml is the app's
// setting, compared like any variable, and evcli does not replace it.
func TestProjectTopicEndpointWins(t *testing.T) {
	e := newTestEnv(t, "pubown", nil)
	fd := e.fn("orders", 1)
	fd.Env[SettingTopicEndpoint] = "https://mine.westeurope-1.eventgrid.azure.net/api/events"
	e.deploy(e.p, []providers.FunctionDeployment{fd})
	d := e.p.Deployer.(*deployer)
	st, err := d.settings(e.ctx, d.c.names.App("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if st[SettingTopicEndpoint] != fd.Env[SettingTopicEndpoint] || st[settingTopicManaged] != "" {
		t.Errorf("settings %v: want the project's %s and no %s", st, SettingTopicEndpoint, settingTopicManaged)
	}
	if plan := e.deploy(e.open(), []providers.FunctionDeployment{fd}); deploy.HasChanges(plan) {
		t.Fatalf("the second plan changes %v", plan)
	}
	fd.Env[SettingTopicEndpoint] = "https://other.westeurope-1.eventgrid.azure.net/api/events"
	if plan := e.deploy(e.open(), []providers.FunctionDeployment{fd}); !deploy.HasChanges(plan) {
		t.Fatal("a changed project value is no change")
	}
}

// TestRoleAssignmentExistsIsDone: a 409 RoleAssignmentExists (an
// assignment made meanwhile under another name) is the role given.
func TestRoleAssignmentExistsIsDone(t *testing.T) {
	e := newTestEnv(t, "pub409", nil)
	e.h.fake.Fail("PUT", "/roleAssignments/", 409, "RoleAssignmentExists", "", 1)
	e.deploy(e.p, []providers.FunctionDeployment{e.fn("orders", 1)})
	if n := len(e.h.fake.ARMRoleAssignments()); n != 0 {
		t.Errorf("%d assignments after the injected 409, want the one that exists elsewhere (none in the fake)", n)
	}
}

// TestFakeRoleAssignmentRefusals: the fake refuses as ARM does.
func TestFakeRoleAssignmentRefusals(t *testing.T) {
	e := newTestEnv(t, "pubfake", nil)
	e.deploy(e.p, []providers.FunctionDeployment{e.fn("orders", 1)})
	d := e.p.Deployer.(*deployer)
	s, err := d.site(e.ctx, d.c.names.App("orders"))
	if err != nil {
		t.Fatal(err)
	}
	principal := str(s.Identity.PrincipalID)
	scope := d.topicScope(Topic(d.bus))
	name := roleAssignmentName(scope, principal, EventGridDataSender)
	body := func(role, principal string) map[string]any {
		return map[string]any{"properties": map[string]any{"roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal"}}
	}
	other := "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.Authorization/roleDefinitions/" + EventGridDataSender
	for _, tc := range []struct {
		name, path string
		body       map[string]any
		status     int
		code       string
	}{
		{"not a GUID", scope + "/providers/Microsoft.Authorization/roleAssignments/publish", body(d.senderRoleID(), principal), 400, "InvalidRoleAssignmentId"},
		{"unknown principal", scope + "/providers/Microsoft.Authorization/roleAssignments/" + roleAssignmentName(scope, "x", "y"),
			body(d.senderRoleID(), "00000000-0000-0000-0000-000000000bad"), 400, "PrincipalNotFound"},
		{"role of another subscription", scope + "/providers/Microsoft.Authorization/roleAssignments/" + roleAssignmentName(scope, "x", "z"),
			body(other, principal), 400, "RoleDefinitionDoesNotExist"},
		{"duplicate under another name", scope + "/providers/Microsoft.Authorization/roleAssignments/" + roleAssignmentName(scope, principal, "again"),
			body(d.senderRoleID(), principal), 409, "RoleAssignmentExists"},
		{"another principal under the name", scope + "/providers/Microsoft.Authorization/roleAssignments/" + name,
			body(d.senderRoleID(), principalOfFake(e, d)), 400, "RoleAssignmentUpdateNotPermitted"},
		{"scope that does not exist", d.topicScope("nosuch") + "/providers/Microsoft.Authorization/roleAssignments/" + name,
			body(d.senderRoleID(), principal), 404, "ResourceNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.armCall(e.ctx, http.MethodPut, tc.path, authzAPI, tc.body, nil)
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tc.status || re.ErrorCode != tc.code {
				t.Fatalf("err = %v, want %d %s", err, tc.status, tc.code)
			}
		})
	}
	// The same assignment again is idempotent.
	if err := d.armCall(e.ctx, http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/"+name, authzAPI, body(d.senderRoleID(), principal), nil); err != nil {
		t.Fatalf("the same assignment again: %v", err)
	}
	if n := len(e.h.fake.ARMRoleAssignments()); n != 2 {
		t.Errorf("%d assignments, want one per app (2)", n)
	}
}

// principalOfFake is the principal of a second app the fake knows.
func principalOfFake(e *testEnv, d *deployer) string {
	e.t.Helper()
	e.deploy(e.p, []providers.FunctionDeployment{e.fn("orders", 1), e.fn("billing", 1)})
	s, err := d.site(e.ctx, d.c.names.App("billing"))
	if err != nil {
		e.t.Fatal(err)
	}
	return str(s.Identity.PrincipalID)
}

// TestRoleRetriedWhilePrincipalNotFound: ARM refuses a role assignment
// for a managed identity it does not know yet (PrincipalNotFound, as for
// one just created, until Entra ID has replicated it); deploy retries it
// with backoff and succeeds, and gives up with Unavailable and a hint when
// the principal never appears.
func TestRoleRetriedWhilePrincipalNotFound(t *testing.T) {
	e := newTestEnv(t, "principal", nil)
	e.h.fake.Fail("PUT", "/providers/Microsoft.Authorization/roleAssignments/", 400, "PrincipalNotFound", "", 2)
	e.deploy(e.p, []providers.FunctionDeployment{e.fn("orders", 1, `{"source":["shop"]}`)})
	puts := 0
	for _, c := range e.h.fake.Calls() {
		if c.Method == "PUT" && strings.Contains(c.Path, "/roleAssignments/") {
			puts++
		}
	}
	if puts != 3 || len(e.h.fake.ARMRoleAssignments()) != 1 {
		t.Errorf("%d role assignment PUTs and %d assignments, want 3 (two refused) and 1", puts, len(e.h.fake.ARMRoleAssignments()))
	}

	e.h.fake.Fail("PUT", "/providers/Microsoft.Authorization/roleAssignments/", 400, "PrincipalNotFound", "", 100)
	err := e.p.Deployer.ApplyFunction(e.ctx, e.fn("billing", 1, `{"source":["shop"]}`), true, nil)
	var pe *providers.Error
	if providers.CodeOf(err) != providers.Unavailable || !asError(err, &pe) || !strings.Contains(pe.Hint, "run evcli deploy again") ||
		!strings.Contains(pe.Resource, "EventGrid Data Sender role") {
		t.Errorf("a principal that never appears: %v (code %v), want Unavailable with a hint", err, providers.CodeOf(err))
	}
}
