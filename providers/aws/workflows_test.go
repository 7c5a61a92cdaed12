package aws

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
)

const sagaDef = `{"StartAt":"Pay","States":{
  "Pay":{"Type":"Task","Resource":"${function:payment}","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Fail"}],"Next":"Ship"},
  "Ship":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"shipment","Payload.$":"$"},"Next":"Fan"},
  "Fan":{"Type":"Parallel","Branches":[{"StartAt":"N","States":{"N":{"Type":"Task","Resource":"notify","End":true}}}],"End":true},
  "Fail":{"Type":"Fail","Error":"OrderFailed"}}}`

// TestDeployWorkflow: deploy creates the state machine with every Task
// pointed at this project's function ARNs, a role that may invoke exactly
// those functions, and its log group; a second deploy plans it unchanged
// and makes no mutating call; a changed definition is an update of the
// definition only.
func TestDeployWorkflow(t *testing.T) {
	wf := providers.WorkflowSpec{Name: "order", Type: "STANDARD", Definition: []byte(sagaDef)}
	e := newDeployEnv(t, func(o *DeployerOptions) { o.Workflows = []providers.WorkflowSpec{wf} })
	changes, err := e.d.PlanShared(e.ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var sm *providers.ResourceChange
	for i, c := range changes {
		if c.Kind == "statemachine" {
			sm = &changes[i]
		}
	}
	if sm == nil || sm.Name != "shop-order" || sm.Action != "create" {
		t.Fatalf("plan %+v", changes)
	}
	if err := e.d.ApplyShared(e.ctx, changes, nil); err != nil {
		t.Fatal(err)
	}
	got := e.srv.StateMachines()["shop-order"]
	for _, want := range []string{
		`"Resource":"arn:aws:lambda:us-east-1:123456789012:function:shop-payment"`,
		`"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:shop-shipment"`,
		`"Resource":"arn:aws:lambda:us-east-1:123456789012:function:shop-notify"`,
	} {
		if !strings.Contains(got.Definition, want) {
			t.Errorf("deployed definition lacks %s:\n%s", want, got.Definition)
		}
	}
	if got.Type != "STANDARD" || !strings.HasSuffix(got.RoleArn, "/"+StateMachineRoleName("shop", "order", "us-east-1")) || len(got.Logging) == 0 {
		t.Errorf("state machine %+v", got)
	}
	role, ok := e.srv.Role(StateMachineRoleName("shop", "order", "us-east-1"))
	if !ok || !strings.Contains(role.AssumeRolePolicy, "states.amazonaws.com") {
		t.Fatalf("role %+v", role)
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(role.Inline[inlinePolicyName]), &doc); err != nil {
		t.Fatal(err)
	}
	invoke := doc.Statement[0]
	want := []string{"arn:aws:lambda:us-east-1:123456789012:function:shop-notify", "arn:aws:lambda:us-east-1:123456789012:function:shop-notify:*",
		"arn:aws:lambda:us-east-1:123456789012:function:shop-payment", "arn:aws:lambda:us-east-1:123456789012:function:shop-payment:*",
		"arn:aws:lambda:us-east-1:123456789012:function:shop-shipment", "arn:aws:lambda:us-east-1:123456789012:function:shop-shipment:*"}
	if strings.Join(invoke.Action, ",") != "lambda:InvokeFunction" || strings.Join(invoke.Resource, " ") != strings.Join(want, " ") {
		t.Errorf("invoke statement %+v", invoke)
	}
	if _, ok := e.srv.LogGroup(StateMachineLogGroup("shop", "order")); !ok {
		t.Error("no log group")
	}

	// no change: unchanged, no mutating call
	e.srv.ResetCalls()
	again, err := e.d.PlanShared(e.ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.d.ApplyShared(e.ctx, again, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range again {
		if c.Kind == "statemachine" && c.Action != "unchanged" {
			t.Errorf("second plan %+v", c)
		}
	}
	if m := e.srv.MutatingCalls(); len(m) != 0 {
		t.Errorf("a no-change deploy made mutating calls: %v", m)
	}

	// a changed definition updates the definition
	wf.Definition = []byte(strings.Replace(sagaDef, `"Error":"OrderFailed"`, `"Error":"OrderRejected"`, 1))
	e2 := newDeployEnvOn(t, e.srv, "shop")
	e2.d.o.Workflows = []providers.WorkflowSpec{wf}
	plan, err := e2.d.PlanShared(e.ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan {
		if c.Kind == "statemachine" && (c.Action != "update" || strings.Join(c.Fields, ",") != "definition") {
			t.Errorf("plan after a change %+v", c)
		}
	}
	if err := e2.d.ApplyShared(e.ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.StateMachines()["shop-order"]; !strings.Contains(got.Definition, "OrderRejected") || got.Revision != 2 {
		t.Errorf("after update: revision %d\n%s", got.Revision, got.Definition)
	}
}

// TestWorkflowRuleStartsExecution: a workflow with events: deploys a rule
// whose target is the state machine, with a role EventBridge assumes that
// may start exactly that state machine; an event sent to the bus starts an
// execution with the event as input (its correlation id read from it); a
// second deploy changes nothing; removing the events deletes the rule and
// the role; removing the workflow, with prune, deletes the state machine,
// its roles and its log group.
func TestWorkflowRuleStartsExecution(t *testing.T) {
	def := `{"StartAt":"Pay","States":{"Pay":{"Type":"Task","Resource":"${function:payment}","End":true}}}`
	wf := providers.WorkflowSpec{Name: "order", Type: "STANDARD", Definition: []byte(def), Correlation: "$.detail.orderId",
		Rules: []providers.RuleSpec{{ID: "workflow-order-0", Bus: "shop-bus", Pattern: []byte(`{"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}`)}}}
	e := newDeployEnv(t, func(o *DeployerOptions) { o.Workflows = []providers.WorkflowSpec{wf} })
	e.srv.SeedFunction(awstest.FunctionSpec{Name: "shop-payment"})
	deploy := func(d *Deployer, prune bool) []providers.ResourceChange {
		t.Helper()
		plan, err := d.PlanShared(e.ctx, prune)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.ApplyShared(e.ctx, plan, nil); err != nil {
			t.Fatal(err)
		}
		var out []providers.ResourceChange
		for _, c := range plan {
			if c.Kind == "statemachine" {
				out = append(out, c)
			}
		}
		return out
	}
	if got := deploy(e.d, false); len(got) != 1 || got[0].Action != "create" {
		t.Fatalf("plan %+v", got)
	}
	smArn := "arn:aws:states:us-east-1:123456789012:stateMachine:shop-order"
	eventsRole := StateMachineEventsRoleName("shop", "order", "us-east-1")
	rule := RuleName("shop", "workflow-order-0")
	targets := e.srv.Targets("shop-bus", rule)
	if len(targets) != 1 || targets[0].Arn != smArn || targets[0].RoleArn != "arn:aws:iam::123456789012:role/"+eventsRole || targets[0].Input != "" {
		t.Fatalf("rule %s targets %+v", rule, targets)
	}
	role, ok := e.srv.Role(eventsRole)
	if !ok || !strings.Contains(role.AssumeRolePolicy, "events.amazonaws.com") {
		t.Fatalf("events role %+v", role)
	}
	if want := `{"Version":"2012-10-17","Statement":[{"Sid":"StartTheWorkflow","Effect":"Allow","Action":["states:StartExecution"],"Resource":["` + smArn + `"]}]}`; !samePolicy(role.Inline[inlinePolicyName], want) {
		t.Errorf("events role policy %s, want %s", role.Inline[inlinePolicyName], want)
	}

	// an event starts an execution, with the event as its input
	eb := eventbridge.NewFromConfig(e.srv.Config(e.ctx))
	if _, err := eb.PutEvents(e.ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{EventBusName: awssdk.String("shop-bus"),
		Source: awssdk.String("shop.orders"), DetailType: awssdk.String("OrderPlaced"), Detail: awssdk.String(`{"orderId":"o-1"}`)}}}); err != nil {
		t.Fatal(err)
	}
	e.srv.WaitDeliveries()
	if f := e.srv.FailedInvocations(); len(f) > 0 {
		t.Fatalf("failed invocations %+v", f)
	}
	a := &workflowAbility{d: e.d, sleep: e.sleep.Sleep}
	xs, err := a.ListExecutions(e.ctx, "order")
	if err != nil || len(xs) != 1 {
		t.Fatalf("executions %+v %v", xs, err)
	}
	x, hist, err := a.DescribeExecution(e.ctx, xs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != "SUCCEEDED" || x.CorrelationID != "o-1" || !strings.Contains(string(x.Input), `"detail-type":"OrderPlaced"`) || len(hist) == 0 {
		t.Errorf("execution %+v (%d events)", x, len(hist))
	}

	// no change: unchanged, no mutating call
	e.srv.ResetCalls()
	if got := deploy(e.d, true); len(got) != 1 || got[0].Action != "unchanged" {
		t.Errorf("second plan %+v", got)
	}
	if m := e.srv.MutatingCalls(); len(m) != 0 {
		t.Errorf("a no-change deploy made mutating calls: %v", m)
	}

	// without events: the rule and the events role go, the state machine stays
	e2 := newDeployEnvOn(t, e.srv, "shop")
	wf.Rules = nil
	e2.d.o.Workflows = []providers.WorkflowSpec{wf}
	if got := deploy(e2.d, false); len(got) != 1 || got[0].Action != "update" || strings.Join(got[0].Fields, ",") != "rules" {
		t.Errorf("plan without events %+v", got)
	}
	if _, ok := e.srv.Rule("shop-bus", rule); ok {
		t.Error("the rule is still there")
	}
	if _, ok := e.srv.Role(eventsRole); ok {
		t.Error("the events role is still there")
	}
	if _, ok := e.srv.StateMachines()["shop-order"]; !ok {
		t.Error("the state machine is gone")
	}

	// without the workflow: kept without prune, deleted with it
	e3 := newDeployEnvOn(t, e.srv, "shop")
	if got := deploy(e3.d, false); len(got) != 0 {
		t.Errorf("plan without prune %+v", got)
	}
	if got := deploy(e3.d, true); len(got) != 1 || got[0].Action != "delete" || got[0].Name != "shop-order" {
		t.Errorf("plan with prune %+v", got)
	}
	if _, ok := e.srv.StateMachines()["shop-order"]; ok {
		t.Error("the state machine is still there")
	}
	if _, ok := e.srv.Role(StateMachineRoleName("shop", "order", "us-east-1")); ok {
		t.Error("the state machine's role is still there")
	}
	if _, ok := e.srv.LogGroup(StateMachineLogGroup("shop", "order")); ok {
		t.Error("the log group is still there")
	}
	if got := deploy(e3.d, true); len(got) != 0 {
		t.Errorf("plan after the prune %+v", got)
	}
}

// TestDescribeShowsRetries: Step Functions records a retry as the
// function scheduled again in the same state; describe shows it as
// RetryScheduled with the error and the attempt, and the caught failure
// of the last attempt as CatchMatched.
func TestDescribeShowsRetries(t *testing.T) {
	def := `{"StartAt":"Pay","States":{
"Pay":{"Type":"Task","Resource":"${function:payment}","Retry":[{"ErrorEquals":["Busy"],"MaxAttempts":2,"IntervalSeconds":1}],
  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Failed"}],"End":true},
"Failed":{"Type":"Fail","Error":"OrderFailed"}}}`
	wf := providers.WorkflowSpec{Name: "order", Type: "STANDARD", Definition: []byte(def)}
	calls := 0
	e := newDeployEnv(t, func(o *DeployerOptions) { o.Workflows = []providers.WorkflowSpec{wf} },
		awstest.WithInvoke(func(fn string, payload []byte) ([]byte, error) {
			calls++
			return nil, &awstest.FunctionError{Type: "Busy", Message: "try again"}
		}))
	e.srv.SeedFunction(awstest.FunctionSpec{Name: "shop-payment"})
	plan, err := e.d.PlanShared(e.ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.d.ApplyShared(e.ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	a := &workflowAbility{d: e.d, sleep: e.sleep.Sleep}
	x, err := a.StartExecution(e.ctx, providers.WorkflowStart{Workflow: "order", Input: []byte(`{}`), Name: "x1"})
	if err != nil {
		t.Fatal(err)
	}
	x, hist, err := a.DescribeExecution(e.ctx, x.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range hist {
		switch ev.Type {
		case "RetryScheduled":
			got = append(got, fmt.Sprintf("retry %s %s attempt %d", ev.State, ev.Error, ev.Attempt))
		case "CatchMatched":
			got = append(got, fmt.Sprintf("caught %s %s -> %s", ev.State, ev.Error, ev.Next))
		}
	}
	want := []string{"retry Pay Busy attempt 2", "retry Pay Busy attempt 3", "caught Pay Busy -> Failed"}
	if x.Status != "FAILED" || calls != 3 || strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("status %s, %d calls, history %q, want %q", x.Status, calls, got, want)
	}
}

// TestPruneWithoutStepFunctionsAccess: deploy --prune of a project without
// workflows, with credentials that may not list state machines, prunes
// none and goes on (they could never have made one); with workflows, the
// same denial is an error.
func TestPruneWithoutStepFunctionsAccess(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.Inject(awstest.Fault{Service: "states", Action: "ListStateMachines", Code: "AccessDeniedException", Times: -1})
	if _, err := e.d.PlanShared(e.ctx, true); err != nil {
		t.Fatalf("prune without workflows: %v", err)
	}
	e.d.o.Workflows = []providers.WorkflowSpec{{Name: "order", Type: "STANDARD", Definition: []byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)}}
	if _, err := e.d.PlanShared(e.ctx, true); providers.CodeOf(err) != providers.PermissionDenied {
		t.Fatalf("with a workflow: %v, want PermissionDenied", err)
	}
}
