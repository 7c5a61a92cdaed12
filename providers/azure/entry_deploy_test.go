package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/eventgrid/armeventgrid/v2"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
)

// TestGuardRefusedOutsideNode: the in-function guard runs in evcli's
// Node.js entrypoint only, so, even opted into, a Python or Go function
// with a pattern Event Grid cannot enforce is refused at plan time
// (Unsupported: exit 2) at the operator's file:line:col, saying why, and
// by ApplyFunction before any call.
func TestGuardRefusedOutsideNode(t *testing.T) {
	e := newTestEnv(t, "noguard", map[string]string{EnvGuard: "in-function"})
	rc := e.p.Deployer.(providers.RuleChecker)
	where := &providers.RulePlace{File: "/p/evcli.yaml", Line: 9, Col: 7, Members: map[string][2]int{"detail": {10, 9}, "detail/ip": {11, 11}}}
	cidr := json.RawMessage(`{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`)
	for _, c := range []struct {
		runtime string
		refused bool
	}{{"nodejs20.x", false}, {"python3.12", true}, {"go", true}} {
		fds := []providers.FunctionDeployment{{Name: "audit", Runtime: c.runtime, Rules: []providers.RuleSpec{{ID: "audit-0", Pattern: cidr, Where: where}}}}
		err := rc.CheckRules(fds)
		if !c.refused {
			if err != nil {
				t.Errorf("%s with the guard: %v", c.runtime, err)
			}
			continue
		}
		want := "/p/evcli.yaml:11:11: functions.audit.events[0] detail.ip: Event Grid cannot enforce cidr"
		if providers.CodeOf(err) != providers.Unsupported || err == nil || !strings.HasPrefix(err.Error(), want) ||
			!strings.Contains(err.Error(), "the in-function guard runs in Node.js functions only, and this function's runtime is "+c.runtime) {
			t.Errorf("%s: CheckRules = %v (code %v), want Unsupported at %q saying the guard is Node.js only", c.runtime, err, providers.CodeOf(err), want)
		}
		var pe *providers.Error
		if asError(err, &pe) && !strings.Contains(pe.Hint, "Node.js") {
			t.Errorf("%s: hint %q", c.runtime, pe.Hint)
		}
	}
	before := len(e.h.fake.Calls())
	fd := e.fn("audit", 1, string(cidr)) // Python
	if err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil); providers.CodeOf(err) != providers.Unsupported || !strings.Contains(err.Error(), "Node.js functions only") {
		t.Errorf("ApplyFunction of a guarded Python function = %v, want Unsupported", err)
	}
	if n := len(e.h.fake.Calls()) - before; n != 0 {
		t.Errorf("a refused function made %d calls", n)
	}
}

// TestBadPackageRefusedBeforeAnyCall: a function whose code registers two
// Event Grid functions is refused (InvalidArgument, naming the file)
// before any call, and the other functions deploy.
func TestBadPackageRefusedBeforeAnyCall(t *testing.T) {
	e := newTestEnv(t, "badpkg", nil)
	good := e.fn("good", 1, `{"source":["shop"]}`)
	bad := e.fn("bad", 1, `{"source":["shop"]}`)
	bad.Runtime, bad.Handler = "nodejs20.x", "index.payment"
	bad.ArtifactPath, bad.CodeSha256 = writeArtifact(t, t.TempDir(), "bad", map[string]string{
		"index.js": nodeHandlerJS + "app.eventGrid('refund', { handler: () => {} });\n"})
	before := len(e.h.fake.Calls())
	err := e.p.Deployer.ApplyFunction(e.ctx, bad, true, nil)
	if providers.CodeOf(err) != providers.InvalidArgument || !strings.Contains(err.Error(), "index.js registers 2 Event Grid functions (payment, refund)") {
		t.Fatalf("ApplyFunction = %v (code %v), want InvalidArgument naming index.js", err, providers.CodeOf(err))
	}
	if n := len(e.h.fake.Calls()) - before; n != 0 {
		t.Errorf("a refused package made %d calls", n)
	}
	if err := e.p.Deployer.ApplyFunction(e.ctx, good, true, nil); err != nil {
		t.Fatalf("the other function: %v", err)
	}
}

// TestSubscriptionNeedsThePublishedFunction: the fake, as Event Grid,
// refuses an event subscription to a function the app's published
// package does not register ("Endpoint validation": Destination endpoint
// not found) or that has no Event Grid trigger; and the host answers 404
// to invoke when the package has no evcli-invoke route.
func TestSubscriptionNeedsThePublishedFunction(t *testing.T) {
	e := newTestEnv(t, "contract", nil)
	fd := e.fn("orders", 1, `{"source":["shop"]}`)
	e.deploy(e.p, []providers.FunctionDeployment{fd})
	d := e.p.Deployer.(*deployer)
	site, err := d.site(e.ctx, d.c.names.App("orders"))
	if err != nil {
		t.Fatal(err)
	}
	put := func(fn string) error {
		sub := armeventgrid.EventSubscription{Properties: &armeventgrid.EventSubscriptionProperties{
			Destination: &armeventgrid.AzureFunctionEventSubscriptionDestination{EndpointType: to.Ptr(armeventgrid.EndpointTypeAzureFunction),
				Properties: &armeventgrid.AzureFunctionEventSubscriptionDestinationProperties{ResourceID: to.Ptr(*site.ID + "/functions/" + fn)}},
		}}
		poller, err := d.subs.BeginCreateOrUpdate(e.ctx, d.topicScope(Topic(d.bus)), "probe-"+strings.ReplaceAll(fn, "-", ""), sub, nil)
		if err == nil {
			_, err = poller.PollUntilDone(e.ctx, nil)
		}
		return err
	}
	if err := put("payment"); err == nil || !strings.Contains(err.Error(), "Endpoint validation") || !strings.Contains(err.Error(), "Destination endpoint not found") {
		t.Errorf("a subscription to a function the package lacks: %v", err)
	}
	if err := put(InvokeFunction); err == nil || !strings.Contains(err.Error(), "Azure Event Grid supports EventGrid Trigger type only") {
		t.Errorf("a subscription to an HTTP function: %v", err)
	}
	if err := put(EventsFunction); err != nil {
		t.Errorf("a subscription to events: %v", err)
	}

	// A package published by hand, without evcli's entrypoint.
	tok := "Bearer x"
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.h.fake.URL()+"/scm/"+*site.Name+"/api/publish",
		bytes.NewReader(testZip(t, map[string]string{"app.py": "def handler(e, c):\n    return e\n"})))
	req.Header.Set("Authorization", tok)
	req.Header.Set("Content-Type", "application/zip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = e.p.Invoker.Invoke(e.ctx, "orders", []byte(`{}`))
	if providers.CodeOf(err) != providers.NotFound || !strings.Contains(err.Error(), "no /api/evcli-invoke route") {
		t.Errorf("invoke of a package without the route = %v (code %v), want NotFound", err, providers.CodeOf(err))
	}
}

// TestEntryOfAnotherEvcliIsPublishedAgain: an app whose package was
// published with another entrypoint (EVCLI_ENTRY) reads back as changed
// code, so the next deploy publishes it (once), and the one after writes
// nothing.
func TestEntryOfAnotherEvcliIsPublishedAgain(t *testing.T) {
	e := newTestEnv(t, "stale", nil)
	desired := []providers.FunctionDeployment{e.fn("orders", 1, `{"source":["shop"]}`)}
	e.deploy(e.p, desired)
	d := e.p.Deployer.(*deployer)
	app := d.c.names.App("orders")
	st, err := d.settings(e.ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	st[SettingEntry] = "0123456789abcdef"
	props := map[string]*string{}
	for k, v := range st {
		props[k] = to.Ptr(v)
	}
	if _, err := d.sites.UpdateApplicationSettings(e.ctx, d.rg(), app, armappservice.StringDictionary{Properties: props}, nil); err != nil {
		t.Fatal(err)
	}
	before := len(e.h.fake.Calls())
	plan := e.deploy(e.open(), desired)
	if !deploy.HasChanges(plan) {
		t.Fatal("a package of another entrypoint: no change planned")
	}
	published := 0
	for _, c := range e.h.fake.Calls()[before:] {
		if strings.HasSuffix(c.Path, "/api/publish") {
			published++
		}
	}
	if published != 1 {
		t.Errorf("published %d times, want once", published)
	}
	if st, _ := d.settings(e.ctx, app); st[SettingEntry] != entryTag(false) {
		t.Errorf("%s = %q after the deploy, want %q", SettingEntry, st[SettingEntry], entryTag(false))
	}
	before = len(e.h.fake.Calls())
	if plan := e.deploy(e.open(), desired); deploy.HasChanges(plan) {
		t.Errorf("the third deploy changes %v", plan)
	}
	for _, c := range e.h.fake.Calls()[before:] {
		if c.Mutating {
			t.Errorf("the third deploy made the mutating call %s %s", c.Method, c.Path)
		}
	}
}
