package aws

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
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
