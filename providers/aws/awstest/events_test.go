package awstest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/evcli/evcli/providers/aws/awstest"
)

func newEvents(t *testing.T) (*awstest.Server, *eventbridge.Client) {
	t.Helper()
	f := awstest.New()
	t.Cleanup(f.Close)
	return f, eventbridge.NewFromConfig(f.Config(context.Background()))
}

func TestEventBridgeRulesAndTargets(t *testing.T) {
	ctx := context.Background()
	f, c := newEvents(t)

	if _, err := c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{}); err != nil {
		t.Fatalf("default bus: %v", err)
	}
	cb, err := c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("shop"), Tags: []ebtypes.Tag{{Key: aws.String("evcli:project"), Value: aws.String("shop")}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(cb.EventBusArn); got != "arn:aws:events:us-east-1:123456789012:event-bus/shop" {
		t.Errorf("bus arn = %s", got)
	}
	_, err = c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("shop")})
	var exists *ebtypes.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("second CreateEventBus: %v", err)
	}

	pattern := `{"source":["shop"],"detail-type":["OrderCreated"]}`
	pr, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("orders-created"), EventBusName: aws.String("shop"), EventPattern: aws.String(pattern),
		Tags: []ebtypes.Tag{{Key: aws.String("evcli:function"), Value: aws.String("orders")}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(pr.RuleArn); got != "arn:aws:events:us-east-1:123456789012:rule/shop/orders-created" {
		t.Errorf("rule arn = %s", got)
	}
	dr, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("orders-created"), EventBusName: aws.String("arn:aws:events:us-east-1:123456789012:event-bus/shop")})
	if err != nil || aws.ToString(dr.EventPattern) != pattern || dr.State != ebtypes.RuleStateEnabled {
		t.Errorf("DescribeRule = %+v, %v", dr, err)
	}
	tags, err := c.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: pr.RuleArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "orders" {
		t.Errorf("rule tags = %+v, %v", tags, err)
	}

	lambdaArn := "arn:aws:lambda:us-east-1:123456789012:function:orders:live"
	f.SetPutTargetsFailure(func(bus, rule string, tg awstest.Target) (string, string) {
		if tg.ID == "bad" {
			return "ConcurrentModificationException", "try again"
		}
		return "", ""
	})
	pt, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("orders-created"), EventBusName: aws.String("shop"), Targets: []ebtypes.Target{
		{Id: aws.String("orders"), Arn: aws.String(lambdaArn)},
		{Id: aws.String("bad"), Arn: aws.String(lambdaArn)},
		{Id: aws.String("noarn"), Arn: aws.String("not-an-arn")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if pt.FailedEntryCount != 2 || aws.ToString(pt.FailedEntries[0].TargetId) != "bad" || aws.ToString(pt.FailedEntries[0].ErrorCode) != "ConcurrentModificationException" {
		t.Errorf("PutTargets failures = %d %+v", pt.FailedEntryCount, pt.FailedEntries)
	}
	lt, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("orders-created"), EventBusName: aws.String("shop")})
	if err != nil || len(lt.Targets) != 1 || aws.ToString(lt.Targets[0].Arn) != lambdaArn {
		t.Errorf("targets = %+v, %v", lt, err)
	}

	// A rule with targets cannot be deleted.
	_, err = c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("orders-created"), EventBusName: aws.String("shop")})
	if errCode(err) != "ValidationException" {
		t.Errorf("DeleteRule with targets: %v", err)
	}
	if _, err := c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("orders-created"), EventBusName: aws.String("shop"), Ids: []string{"orders"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("orders-created"), EventBusName: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("orders-created"), EventBusName: aws.String("shop")})
	var nf *ebtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DescribeRule after delete: %v", err)
	}
	if _, ok := f.Rule("shop", "orders-created"); ok {
		t.Error("rule still in state")
	}
}

func TestEventBridgeErrors(t *testing.T) {
	ctx := context.Background()
	_, c := newEvents(t)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"rule on missing bus", func() error {
			_, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("nope"), EventPattern: aws.String(`{"source":["x"]}`)})
			return err
		}, "ResourceNotFoundException"},
		{"bad pattern", func() error {
			_, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":"x"}`)})
			return err
		}, "InvalidEventPatternException"},
		{"no pattern", func() error {
			_, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r")})
			return err
		}, "ValidationException"},
		{"delete default bus", func() error {
			_, err := c.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String("default")})
			return err
		}, "ValidationException"},
		{"targets of missing rule", func() error {
			_, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("nope")})
			return err
		}, "ResourceNotFoundException"},
		{"too many entries", func() error {
			entries := make([]ebtypes.PutEventsRequestEntry, 11)
			_, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
			return err
		}, "ValidationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := errCode(tc.call()); got != tc.want {
				t.Errorf("code = %q, want %s", got, tc.want)
			}
		})
	}
}

func TestEventBridgeListRulesPages(t *testing.T) {
	ctx := context.Background()
	f, c := newEvents(t)
	for i := range 12 {
		f.SeedRule(awstest.RuleSpec{Bus: "shop", Name: fmt.Sprintf("shop-fn%02d", i)})
	}
	f.SeedRule(awstest.RuleSpec{Bus: "shop", Name: "other"})
	var names []string
	pages := 0
	in := &eventbridge.ListRulesInput{EventBusName: aws.String("shop"), NamePrefix: aws.String("shop-"), Limit: aws.Int32(5)}
	for {
		out, err := c.ListRules(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Rules {
			names = append(names, aws.ToString(r.Name))
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if pages != 3 || len(names) != 12 || names[11] != "shop-fn11" {
		t.Errorf("pages=%d names=%v", pages, names)
	}
}

func TestPutEventsPartialFailure(t *testing.T) {
	ctx := context.Background()
	f, c := newEvents(t)
	f.SeedBus("shop", nil)
	f.SetPutEventsFailure(func(e awstest.Event) (string, string) {
		if strings.Contains(e.Detail, `"fail":true`) {
			return "ThrottlingException", "Rate exceeded"
		}
		return "", ""
	})
	when := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	entry := func(detail string) ebtypes.PutEventsRequestEntry {
		return ebtypes.PutEventsRequestEntry{EventBusName: aws.String("shop"), Source: aws.String("shop"), DetailType: aws.String("OrderCreated"), Detail: aws.String(detail), Time: &when}
	}
	out, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		entry(`{"id":1}`), entry(`{"id":2,"fail":true}`), entry(`not json`), entry(`{"id":4}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range out.Entries {
		if e.EventId != nil {
			got = append(got, "ok")
		} else {
			got = append(got, aws.ToString(e.ErrorCode))
		}
	}
	if out.FailedEntryCount != 2 || fmt.Sprint(got) != "[ok ThrottlingException MalformedDetail ok]" {
		t.Errorf("FailedEntryCount=%d entries=%v", out.FailedEntryCount, got)
	}
	evs := f.Events("shop")
	if len(evs) != 2 || evs[1].Detail != `{"id":4}` || !evs[0].Time.Equal(when) || evs[0].ID == "" {
		t.Errorf("stored events = %+v", evs)
	}
	if m := f.MutatingCalls(); len(m) != 1 || m[0].Action != "PutEvents" || m[0].Resource != "shop" {
		t.Errorf("calls = %v", m)
	}
}

func TestEventBridgeThrottleRetried(t *testing.T) {
	ctx := context.Background()
	f, c := newEvents(t)
	f.Inject(awstest.Fault{Service: "events", Action: "PutRule", Code: "ThrottlingException", Times: 2})
	if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, call := range f.Calls() {
		got = append(got, call.String())
	}
	want := "[events:PutRule default/r -> 400 ThrottlingException events:PutRule default/r -> 400 ThrottlingException events:PutRule default/r]"
	if fmt.Sprint(got) != want {
		t.Errorf("calls = %v", got)
	}
}
