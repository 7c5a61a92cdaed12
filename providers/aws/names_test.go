package aws

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
)

func TestPhysicalNamesFitAWSLimits(t *testing.T) {
	long := strings.Repeat("x", 70)
	for _, n := range []string{FunctionName("shop", long), RoleNameIn("shop", long, "ap-southeast-2"), RoleNameIn(long, "orders", "eu-west-1")} {
		if len(n) > 64 {
			t.Errorf("%s: %d characters", n, len(n))
		}
	}
	if FunctionName("shop", long+"a") == FunctionName("shop", long+"b") {
		t.Error("shortened names collide")
	}
	if got := FunctionName("shop", "inventory"); got != "shop-inventory" {
		t.Errorf("FunctionName = %s", got)
	}
	if got := LogGroupName("shop", "inventory"); got != "/aws/lambda/shop-inventory" {
		t.Errorf("LogGroupName = %s", got)
	}
	if got := RoleNameIn("shop", "inventory", "eu-west-1"); got != "evcli-shop-inventory-eu-west-1" {
		t.Errorf("RoleNameIn = %s", got)
	}
	if a, b := RoleNameIn("shop", long, "eu-west-1"), RoleNameIn("shop", long, "us-east-1"); a == b {
		t.Errorf("two regions share the shortened role %s", a)
	}
}

// named sets the physical names the driver wants, as deploy.Run does.
func (e *deployEnv) named(fds []providers.FunctionDeployment) []providers.FunctionDeployment {
	for i := range fds {
		fds[i].PhysicalName = e.d.PhysicalName(fds[i].Name)
	}
	return fds
}

// noChange deploys desired again and fails the test on any planned change
// or mutating call.
func (e *deployEnv) noChange(desired []providers.FunctionDeployment) {
	e.t.Helper()
	e.srv.ResetCalls()
	for _, c := range e.mustDeploy(desired, false) {
		if c.Action != deploy.Unchanged {
			e.t.Errorf("no-change deploy plans %s %s %v", c.Action, c.Name, c.Fields)
		}
	}
	if m := e.mutating(); len(m) > 0 {
		e.t.Errorf("no-change deploy made mutating calls: %q", m)
	}
}

func TestTwoProjectsWithTheSameFunctionNamesShareARegion(t *testing.T) {
	shop := newDeployEnv(t, func(o *DeployerOptions) { o.Functions = []string{"inventory", "payment"} })
	saga := newDeployEnvOn(t, shop.srv, "saga")
	saga.d.o.Functions = []string{"inventory", "payment"}
	shopFns := shop.named([]providers.FunctionDeployment{shop.fn("inventory", "v1"), shop.fn("payment", "v1")})
	sagaFns := saga.named([]providers.FunctionDeployment{saga.fn("inventory", "s1"), saga.fn("payment", "s1")})
	shop.mustDeploy(shopFns, false)
	for _, c := range saga.mustDeploy(sagaFns, false) {
		if c.Action != deploy.Create {
			t.Errorf("saga plan: %s %s, want create", c.Action, c.Name)
		}
	}
	for _, n := range []string{"shop-inventory", "shop-payment", "saga-inventory", "saga-payment"} {
		f, ok := shop.srv.Function(n)
		if !ok {
			t.Fatalf("%s does not exist; functions: %v", n, shop.srv.FunctionNames())
		}
		proj, _, _ := strings.Cut(n, "-")
		if f.Tags[TagProject] != proj || !strings.HasSuffix(n, "-"+f.Tags[TagFunction]) {
			t.Errorf("%s tags = %v", n, f.Tags)
		}
		if _, ok := shop.srv.LogGroup("/aws/lambda/" + n); !ok {
			t.Errorf("no log group /aws/lambda/%s", n)
		}
	}
	// Each project reads back its own functions, by the names users type.
	got, err := shop.d.Deployed(shop.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range got {
		names = append(names, fd.Name+"="+fd.PhysicalName)
	}
	if !slices.Equal(names, []string{"inventory=shop-inventory", "payment=shop-payment"}) {
		t.Errorf("shop's deployed = %v", names)
	}
	// The short name works for invoke and rollback.
	if _, err := saga.d.Invoke(saga.ctx, "inventory", []byte(`{}`)); err != nil {
		t.Errorf("invoke inventory: %v", err)
	}
	shop.noChange(shopFns)
	saga.noChange(sagaFns)
}

func TestCollisionWithAnotherProjectsFunctionFailsThePlan(t *testing.T) {
	e := newDeployEnv(t, func(o *DeployerOptions) { o.Functions = []string{"orders"} })
	e.srv.SeedFunction(awstest.FunctionSpec{Name: "shop-orders", Publish: true, Alias: "live", Tags: map[string]string{TagProject: "shop-orders-team"}})
	e.srv.ResetCalls()
	if _, err := e.d.PlanShared(e.ctx, false); err != nil {
		t.Fatal(err)
	}
	_, err := e.d.Deployed(e.ctx)
	if providers.CodeOf(err) != providers.Conflict || !strings.Contains(err.Error(), "shop-orders-team") {
		t.Fatalf("Deployed = %v, want a Conflict naming the owner", err)
	}
	if m := e.mutating(); len(m) > 0 {
		t.Errorf("the plan wrote: %q", m)
	}
	// An untagged function of that name is a collision too.
	e.srv.SeedFunction(awstest.FunctionSpec{Name: "shop-orders", Publish: true, Alias: "live"})
	if _, err := e.d.Deployed(e.ctx); providers.CodeOf(err) != providers.Conflict {
		t.Fatalf("Deployed = %v, want Conflict", err)
	}
}

func TestOneProjectInTwoRegionsKeepsEachRegionsBus(t *testing.T) {
	east := newDeployEnv(t, nil)
	westSrv := awstest.New(awstest.WithRegion("eu-west-1"), awstest.WithIAMOf(east.srv))
	t.Cleanup(westSrv.Close)
	west := &deployEnv{t: t, srv: westSrv, sleep: east.sleep, dir: t.TempDir(), ctx: context.Background(),
		d: NewDeployer(westSrv.Config(context.Background()), DeployerOptions{Project: "shop", Bus: "shop-bus", Sleep: east.sleep.Sleep})}
	eastFns := east.named(east.three())
	westFns := west.named(west.three())
	east.mustDeploy(eastFns, false)
	west.mustDeploy(westFns, false)

	ic := iam.NewFromConfig(east.srv.Config(east.ctx))
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		role := RoleNameIn("shop", "orders", region)
		pol, err := ic.GetRolePolicy(east.ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String(inlinePolicyName)})
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		doc, _ := url.QueryUnescape(awssdk.ToString(pol.PolicyDocument))
		if !strings.Contains(doc, ":events:"+region+":") {
			t.Errorf("%s policy lost PutEvents on its own region's bus: %s", role, doc)
		}
	}
	f, _ := east.srv.Function("shop-orders")
	if !strings.HasSuffix(f.Role, "/"+RoleNameIn("shop", "orders", "us-east-1")) {
		t.Errorf("us-east-1's function runs as %s", f.Role)
	}
	// Deploying the second region changed nothing the first one owns.
	east.srv.ResetCalls()
	west.noChange(westFns)
	if m := east.mutating(); len(m) > 0 {
		t.Errorf("a no-change deploy in eu-west-1 wrote IAM: %q", m)
	}
	east.noChange(eastFns)
}

func TestDeploymentOfTheEarlierNamingIsAdopted(t *testing.T) {
	e := newDeployEnv(t, func(o *DeployerOptions) { o.Functions = []string{"orders", "billing", "shipping"} })
	old := NewDeployer(e.srv.Config(e.ctx), e.d.o)
	old.legacyNaming = true
	oldEnv := &deployEnv{t: t, srv: e.srv, d: old, sleep: e.sleep, dir: e.dir, ctx: e.ctx}
	oldEnv.mustDeploy(e.three(), false)
	if _, ok := e.srv.Function("orders"); !ok {
		t.Fatal("the earlier naming made no function orders")
	}

	desired := e.named(e.three())
	plan := e.mustDeploy(desired, false)
	for _, c := range plan {
		if c.Action != deploy.Update || len(c.Fields) != 1 || c.Fields[0].String() != "rename "+c.Name+" -> shop-"+c.Name {
			t.Errorf("plan: %s %s %v, want update: rename %s -> shop-%s", c.Action, c.Name, c.Fields, c.Name, c.Name)
		}
	}
	for _, n := range []string{"orders", "billing", "shipping"} {
		if _, ok := e.srv.Function(n); ok {
			t.Errorf("%s under the earlier name still exists", n)
		}
		if _, ok := e.srv.Role(RoleName("shop", n)); ok {
			t.Errorf("the earlier role of %s still exists", n)
		}
		tg := e.srv.Targets("shop-bus", RuleName("shop", n+"-0"))
		if len(tg) != 1 || !strings.HasSuffix(tg[0].Arn, ":function:shop-"+n+":live") {
			t.Errorf("rule of %s targets %+v", n, tg)
		}
	}
	e.noChange(desired)
}

// send names the bus the events went to, not "default", when the entries
// carry it (send passes the bus per entry).
func TestPublishErrorNamesTheEntriesBus(t *testing.T) {
	srv := awstest.New()
	t.Cleanup(srv.Close)
	srv.Inject(awstest.Fault{Service: "events", Action: "PutEvents", Code: "AccessDeniedException", Times: -1})
	b := NewEventBus(eventbridge.NewFromConfig(srv.Config(context.Background())))
	_, err := b.Publish(context.Background(), "", []providers.Event{{Source: "s", DetailType: "d", Detail: []byte(`{}`), EventBusName: "shop-bus"}})
	if err == nil || !strings.Contains(err.Error(), "shop-bus") || strings.Contains(err.Error(), "bus default") {
		t.Errorf("err = %v", err)
	}
}

// replay --dry-run on AWS names the receivers from the rules the project
// deployed (matched with package filter), by the names users type.
func TestRouteFromTheProjectsRules(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.mustDeploy(e.named(e.three()), false)
	route, err := e.d.Route(e.ctx, "shop-bus")
	if err != nil {
		t.Fatal(err)
	}
	ev := providers.Event{Source: "shop", DetailType: "orders.requested", Detail: []byte(`{}`)}
	if got := route(ev); !slices.Equal(got, []string{"orders"}) {
		t.Errorf("receivers = %v", got)
	}
	ev.DetailType = "nothing"
	if got := route(ev); len(got) != 0 {
		t.Errorf("receivers = %v", got)
	}
}

// The earlier naming's edge cases: a migration interrupted after the new
// function was made (both exist: the next deploy retires the earlier one),
// and a function deployed under the earlier naming that evcli.yaml no
// longer has (deploy --prune deletes it, its role and its rules).
func TestEarlierNamingLeftoversAreRetired(t *testing.T) {
	legacy := func(t *testing.T, fns []string) *deployEnv {
		e := newDeployEnv(t, func(o *DeployerOptions) { o.Functions = fns })
		old := NewDeployer(e.srv.Config(e.ctx), DeployerOptions{Project: "shop", Bus: "shop-bus", Sleep: e.sleep.Sleep, Functions: fns})
		old.legacyNaming = true
		(&deployEnv{t: t, srv: e.srv, d: old, sleep: e.sleep, dir: e.dir, ctx: e.ctx}).mustDeploy(e.three(), false)
		return e
	}
	t.Run("both exist", func(t *testing.T) {
		e := legacy(t, []string{"orders", "billing", "shipping"})
		desired := e.named(e.three())
		// The migration stops before the earlier orders is deleted.
		e.srv.Inject(awstest.Fault{Service: "lambda", Action: "DeleteFunction", Match: "orders", Code: "AccessDeniedException", Times: -1})
		if _, results := e.deploy(desired, false); results[0].Err == nil {
			t.Fatal("the injected failure did not stop the migration of orders")
		}
		e.srv.ClearFaults()
		if _, ok := e.srv.Function("orders"); !ok {
			t.Fatal("the earlier orders is gone")
		}
		if _, ok := e.srv.Function("shop-orders"); !ok {
			t.Fatal("the new orders was not made")
		}
		plan := e.mustDeploy(desired, false)
		want := map[string]deploy.Action{"orders": deploy.Update, "billing": deploy.Unchanged, "shipping": deploy.Unchanged}
		if got := actions(plan); !mapsEqual(got, want) {
			t.Fatalf("plan = %v, want %v", got, want)
		}
		if f := plan[0].Fields; len(f) != 1 || f[0].String() != "delete earlier orders" {
			t.Errorf("orders fields = %v, want [delete earlier orders]", f)
		}
		if _, ok := e.srv.Function("orders"); ok {
			t.Error("the earlier orders still exists")
		}
		if _, ok := e.srv.Role(RoleName("shop", "orders")); ok {
			t.Error("the earlier role of orders still exists")
		}
		tg := e.srv.Targets("shop-bus", RuleName("shop", "orders-0"))
		if len(tg) != 1 || !strings.HasSuffix(tg[0].Arn, ":function:shop-orders:live") {
			t.Errorf("rule of orders targets %+v", tg)
		}
		e.noChange(desired)
	})
	t.Run("pruned", func(t *testing.T) {
		e := legacy(t, []string{"orders", "billing", "shipping"})
		e.d.o.Functions = []string{"orders", "billing"}
		e.d = NewDeployer(e.srv.Config(e.ctx), e.d.o)
		desired := e.named(e.three()[:2])
		plan := e.mustDeploy(desired, true)
		want := map[string]deploy.Action{"orders": deploy.Update, "billing": deploy.Update, "shipping": deploy.Delete}
		if got := actions(plan); !mapsEqual(got, want) {
			t.Fatalf("plan = %v, want %v", got, want)
		}
		if got := e.srv.FunctionNames(); !slices.Equal(got, []string{"shop-billing", "shop-orders"}) {
			t.Errorf("functions = %v", got)
		}
		if _, ok := e.srv.Role(RoleName("shop", "shipping")); ok {
			t.Error("the earlier role of shipping still exists")
		}
		if _, ok := e.srv.Rule("shop-bus", RuleName("shop", "shipping-0")); ok {
			t.Error("the rule of shipping still exists")
		}
		e.srv.ResetCalls()
		if plan := e.mustDeploy(desired, true); len(plan) != 2 || plan[0].Action != deploy.Unchanged || plan[1].Action != deploy.Unchanged {
			t.Errorf("second plan = %+v", plan)
		}
	})
}
