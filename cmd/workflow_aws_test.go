package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers/aws/awstest"
)

// TestAWSFakeEventStartsWorkflow: a workflow with events: deploys to the
// AWS fake as a state machine with a rule targeting it; evcli send puts a
// matching event on the bus, EventBridge starts an execution with the
// event as input, and workflow executions/describe show it run, under the
// correlation id read from the event. A second deploy changes nothing;
// deploy --prune without the workflow deletes the state machine.
func TestAWSFakeEventStartsWorkflow(t *testing.T) {
	srv := awstest.New()
	t.Cleanup(srv.Close)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	e := newAWSCmdEnv(t)
	base := strings.Replace(strings.Replace(awsProjectYAML, "region: eu-west-1", "region: "+srv.Region(), 1), "store: {type: dynamodb, table: shop-events}", "store: {type: local}", 1)
	yaml := base + `workflows:
  order:
    definition: order.asl.json
    correlation: $.detail.orderId
    events:
      - pattern: {source: [shop.orders], detail-type: [OrderPlaced]}
`
	writeAWSProject(t, e.dir, yaml)
	def := `{"StartAt":"Reserve","States":{"Reserve":{"Type":"Task","Resource":"${function:inventory}","ResultPath":"$.reserved","Next":"Ship"},
"Ship":{"Type":"Task","Resource":"shipping","ResultPath":null,"End":true}}}`
	if err := os.WriteFile(filepath.Join(e.dir, "order.asl.json"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	e.f.Now = time.Now
	if code := e.run("deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s%s", code, e.out, e.errOut)
	}
	if !strings.Contains(e.out.String(), "+ statemachine shop-order") {
		t.Fatalf("plan has no state machine:\n%s", e.out)
	}
	file := filepath.Join(e.dir, "event.json")
	if err := os.WriteFile(file, []byte(`{"source":"shop.orders","detail-type":"OrderPlaced","detail":{"orderId":"o-42"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := e.run("send", file); code != 0 {
		t.Fatalf("send: exit %d\n%s%s", code, e.out, e.errOut)
	}
	srv.WaitDeliveries()
	if f := srv.FailedInvocations(); len(f) > 0 {
		t.Fatalf("EventBridge could not start the workflow: %+v", f)
	}
	names := srv.StateMachines()["shop-order"].Executions
	if len(names) != 1 {
		t.Fatalf("executions %v", names)
	}
	if code := e.run("workflow", "executions", "order"); code != 0 || !strings.Contains(e.out.String(), names[0]) || !strings.Contains(e.out.String(), "SUCCEEDED") {
		t.Fatalf("workflow executions: exit %d\n%s%s", code, e.out, e.errOut)
	}
	if code := e.run("workflow", "describe", names[0]); code != 0 {
		t.Fatalf("workflow describe: exit %d\n%s%s", code, e.out, e.errOut)
	}
	for _, want := range []string{"Reserve", "Ship", "shop-inventory", "SUCCEEDED", "o-42"} {
		if !strings.Contains(e.out.String()+e.errOut.String(), want) {
			t.Errorf("describe lacks %q:\n%s%s", want, e.out, e.errOut)
		}
	}

	srv.ResetCalls()
	if code := e.run("deploy"); code != 0 {
		t.Fatalf("second deploy: exit %d\n%s%s", code, e.out, e.errOut)
	}
	if m := srv.MutatingCalls(); len(m) != 0 {
		t.Errorf("a no-change deploy made mutating calls: %v\n%s", m, e.out)
	}

	writeAWSProject(t, e.dir, base)
	if code := e.run("deploy", "--prune"); code != 0 {
		t.Fatalf("deploy --prune: exit %d\n%s%s", code, e.out, e.errOut)
	}
	if !strings.Contains(e.out.String(), "- statemachine shop-order") {
		t.Errorf("plan does not delete the state machine:\n%s", e.out)
	}
	if _, ok := srv.StateMachines()["shop-order"]; ok {
		t.Error("the state machine is still there")
	}
}
