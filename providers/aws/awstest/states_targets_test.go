package awstest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/evcli/evcli/providers/aws/awstest"
)

// A rule whose target is a state machine starts one execution per
// matching event, with the envelope as input, when the target's role may
// be assumed by EventBridge and may states:StartExecution on it; a role
// that may not (another state machine, no role, a Lambda trust) starts
// nothing and is a failed invocation naming why.
func TestStateMachineTargetsStartExecutions(t *testing.T) {
	f := awstest.New()
	t.Cleanup(f.Close)
	ctx := context.Background()
	sc := sfn.NewFromConfig(f.Config(ctx))
	out, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), RoleArn: aws.String("arn:aws:iam::123456789012:role/x"),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	sm := aws.ToString(out.StateMachineArn)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	allow := func(res string) map[string]string {
		return map[string]string{"p": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["states:StartExecution"],"Resource":["` + res + `"]}]}`}
	}
	f.SeedRole(awstest.RoleSpec{Name: "good", AssumeRolePolicy: trust, Inline: allow(sm)})
	f.SeedRole(awstest.RoleSpec{Name: "other", AssumeRolePolicy: trust, Inline: allow(sm + "-other")})
	f.SeedRole(awstest.RoleSpec{Name: "lambda", Inline: allow(sm)})
	role := func(n string) string { return "arn:aws:iam::123456789012:role/" + n }
	f.SeedRule(awstest.RuleSpec{Bus: "shop", Name: "r", EventPattern: `{"source":["shop"]}`, Targets: []awstest.Target{
		{ID: "good", Arn: sm, RoleArn: role("good")}, {ID: "other", Arn: sm, RoleArn: role("other")},
		{ID: "lambda", Arn: sm, RoleArn: role("lambda")}, {ID: "none", Arn: sm}}})
	eb := eventbridge.NewFromConfig(f.Config(ctx))
	put, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{EventBusName: aws.String("shop"),
		Source: aws.String("shop"), DetailType: aws.String("T"), Detail: aws.String(`{"n":1}`)}}})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatal(err, put)
	}
	f.WaitDeliveries()
	m := f.StateMachines()["m"]
	if len(m.Executions) != 1 {
		t.Fatalf("executions %v", m.Executions)
	}
	ex, err := sc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(strings.Replace(sm, ":stateMachine:", ":execution:", 1) + ":" + m.Executions[0])})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != "SUCCEEDED" || !strings.Contains(aws.ToString(ex.Input), `"id":"`+aws.ToString(put.Entries[0].EventId)+`"`) {
		t.Errorf("execution %s input %s", ex.Status, aws.ToString(ex.Input))
	}
	failed := map[string]string{}
	for _, fi := range f.FailedInvocations() {
		failed[fi.Rule+" "+fi.Reason] = fi.Target
	}
	for _, want := range []string{"may not states:StartExecution", "may not assume role", "has no RoleArn"} {
		found := false
		for k := range failed {
			found = found || strings.Contains(k, want)
		}
		if !found {
			t.Errorf("no failed invocation %q in %v", want, failed)
		}
	}
	if len(failed) != 3 {
		t.Errorf("failed invocations %v", failed)
	}
}
