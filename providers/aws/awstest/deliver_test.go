package awstest_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/evcli/evcli/providers/aws/awstest"
)

// Deliveries go to every target of every ENABLED rule whose pattern
// matches, with EventBridge's envelope (or the target's Input), after
// PutEvents answered; nothing else is delivered.
func TestDeliveriesFollowRulesAndPatterns(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var env map[string]any
	f := awstest.New(awstest.WithDeliver(func(d awstest.Delivery) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d.Rule+" "+d.Target.ID+" "+string(d.Event[:min(len(d.Event), 12)]))
		if d.Target.ID == "a" {
			_ = json.Unmarshal(d.Event, &env)
		}
	}))
	t.Cleanup(f.Close)
	f.SeedRule(awstest.RuleSpec{Bus: "shop", Name: "orders", EventPattern: `{"detail-type":["OrderPlaced"],"detail":{"total":[{"numeric":[">",10]}]}}`,
		Targets: []awstest.Target{{ID: "a", Arn: "arn:aws:lambda:us-east-1:123456789012:function:a:live"}, {ID: "b", Arn: "arn:b", Input: `{"fixed":1}`}}})
	f.SeedRule(awstest.RuleSpec{Bus: "shop", Name: "off", EventPattern: `{"source":["shop"]}`, State: "DISABLED",
		Targets: []awstest.Target{{ID: "c", Arn: "arn:c"}}})
	f.SeedRule(awstest.RuleSpec{Bus: "other", Name: "elsewhere", EventPattern: `{"source":["shop"]}`, Targets: []awstest.Target{{ID: "d", Arn: "arn:d"}}})
	ctx := context.Background()
	c := eventbridge.NewFromConfig(f.Config(ctx))
	entry := func(dt, detail string) ebtypes.PutEventsRequestEntry {
		return ebtypes.PutEventsRequestEntry{EventBusName: aws.String("shop"), Source: aws.String("shop"), DetailType: aws.String(dt), Detail: aws.String(detail)}
	}
	out, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		entry("OrderPlaced", `{"total":12}`), entry("OrderPlaced", `{"total":5}`), entry("Other", `{"total":99}`)}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatal(err, out)
	}
	f.WaitDeliveries()
	slices.Sort(got)
	if want := []string{`orders a {"version":"`, `orders b {"fixed":1}`}; !slices.Equal(got, want) {
		t.Fatalf("deliveries = %q, want %q", got, want)
	}
	if env["id"] != aws.ToString(out.Entries[0].EventId) || env["detail-type"] != "OrderPlaced" || env["account"] != "123456789012" ||
		env["region"] != "us-east-1" || env["time"] == "" || env["detail"].(map[string]any)["total"] != 12.0 {
		t.Errorf("envelope = %v", env)
	}
}

// RunNode runs the code and configuration of the qualified version, with
// its environment, and reports a thrown error as a FunctionError.
func TestRunNode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	code := func(body string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("lib/index.js")
		w.Write([]byte(body))
		zw.Close()
		return buf.Bytes()
	}
	f := awstest.New()
	t.Cleanup(f.Close)
	f.SeedFunction(awstest.FunctionSpec{Name: "fn", Handler: "lib/index.handler", Publish: true, Alias: "live", Environment: map[string]string{"GREETING": "hi"},
		Code: code(`exports.handler = async (e) => { if (e.fail) throw new TypeError("bad " + e.fail); return {greeting: process.env.GREETING, n: e.n, fn: process.env.AWS_LAMBDA_FUNCTION_NAME, extra: process.env.EXTRA}; };`)})
	ctx := context.Background()
	out, err := f.RunNode(ctx, "arn:aws:lambda:us-east-1:123456789012:function:fn:live", []byte(`{"n":7}`), "EXTRA=x")
	if err != nil || string(out) != `{"greeting":"hi","n":7,"fn":"fn","extra":"x"}` {
		t.Fatalf("RunNode = %s, %v", out, err)
	}
	_, err = f.RunNode(ctx, "fn", []byte(`{"fail":"input"}`))
	var fe *awstest.FunctionError
	if !errors.As(err, &fe) || fe.Type != "TypeError" || fe.Message != "bad input" {
		t.Fatalf("thrown error = %v", err)
	}
	if _, err := f.RunNode(ctx, "fn:nosuch", nil); err == nil {
		t.Fatal("an unknown alias ran")
	}
}
