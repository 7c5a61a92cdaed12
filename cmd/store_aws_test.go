package cmd

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers/aws/awstest"
)

// TestAWSFakeSentEventsFillTheStore is the AWS event store end to end:
// deploy with store: dynamodb installs the table, the writer function and
// its rule; evcli send puts events on the bus; the fake's EventBridge
// delivers each matching event to its targets, and the writer's delivery
// runs the deployed writer's code (from the fake's Lambda, with node and
// the AWS SDK for JavaScript, against dynalite) twice, as at-least-once
// delivery may; then replay --dry-run and filter test --since, reading the
// table, see every event once, with the receivers the project's rules
// name.
func TestAWSFakeSentEventsFillTheStore(t *testing.T) {
	ddb := testenv.NewTTLShim(t, testenv.Dynalite(t)).URL // dynalite has no UpdateTimeToLive
	nodePath := testenv.NodeSDK(t)

	var mu sync.Mutex
	received := map[string]int{}
	var failures []string
	var srv *awstest.Server
	srv = awstest.New(awstest.WithSettleReads(1), awstest.WithDeliver(func(d awstest.Delivery) {
		fn := d.Target.Arn[strings.LastIndex(d.Target.Arn, ":function:")+len(":function:"):]
		mu.Lock()
		received[fn]++
		mu.Unlock()
		if fn != "shop-evcli-store-writer:live" {
			return
		}
		for range 2 {
			_, err := srv.RunNode(context.Background(), d.Target.Arn, d.Event, "NODE_PATH="+nodePath,
				"AWS_ENDPOINT_URL_DYNAMODB="+ddb, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret")
			if err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
			}
		}
	}))
	t.Cleanup(srv.Close)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb)
	e := newAWSCmdEnv(t)
	yaml := strings.Replace(awsProjectYAML, "region: eu-west-1", "region: "+srv.Region(), 1)
	writeAWSProject(t, e.dir, yaml)
	e.f.Now = time.Now // the fake and the writer stamp events with the real time

	if code := e.run("deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s%s", code, e.out, e.errOut)
	}
	for _, want := range []string{"+ table shop-events", "+ writer shop-evcli-store-writer"} {
		if !strings.Contains(e.out.String(), want) {
			t.Fatalf("plan has no %q:\n%s", want, e.out)
		}
	}

	events := `{"source":"shop.orders","detail-type":"OrderCreated","detail":{"aggregateId":"order-1","version":1,"total":120}}
{"source":"shop.orders","detail-type":"OrderCreated","detail":{"aggregateId":"order-2","version":1,"total":80}}
{"source":"shop.orders","detail-type":"OrderShipped","detail":{"aggregateId":"order-1","version":2}}
`
	file := filepath.Join(e.dir, "events.ndjson")
	if err := os.WriteFile(file, []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := e.run("send", file); code != 0 {
		t.Fatalf("send: exit %d\n%s%s", code, e.out, e.errOut)
	}
	// A handler that stores an event it publishes itself, as the seed's
	// event-sourcing pattern does: PutEvents with a Time, then PutItem
	// with the key the writer uses (<time>#<EventId>). The writer's copy is
	// dropped: the event is stored once.
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Second)
	detail := `{"aggregateId":"order-2","version":2}`
	put, err := eventbridge.NewFromConfig(srv.Config(ctx)).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: awssdk.String("shop-bus"), Source: awssdk.String("shop.orders"), DetailType: awssdk.String("OrderConfirmed"),
		Detail: awssdk.String(detail), Time: awssdk.Time(at)}}})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, put)
	}
	id := awssdk.ToString(put.Entries[0].EventId)
	ddbc := dynamodb.NewFromConfig(srv.Config(ctx), func(o *dynamodb.Options) { o.BaseEndpoint = awssdk.String(ddb) })
	_, err = ddbc.PutItem(ctx, &dynamodb.PutItemInput{TableName: awssdk.String("shop-events"), Item: map[string]ddbtypes.AttributeValue{
		"aggregateId": &ddbtypes.AttributeValueMemberS{Value: "order-2"},
		"timestamp":   &ddbtypes.AttributeValueMemberS{Value: at.Format(time.RFC3339) + "#" + id},
		"eventId":     &ddbtypes.AttributeValueMemberS{Value: id},
		"eventType":   &ddbtypes.AttributeValueMemberS{Value: "OrderConfirmed"},
		"data":        &ddbtypes.AttributeValueMemberS{Value: detail},
		"version":     &ddbtypes.AttributeValueMemberN{Value: "2"},
	}, ConditionExpression: awssdk.String("attribute_not_exists(eventId)")})
	if err != nil {
		t.Fatalf("the handler's own PutItem: %v", err)
	}

	srv.WaitDeliveries()
	if len(failures) > 0 {
		t.Fatalf("the writer failed: %q", failures)
	}
	// EventBridge's routing: the writer gets every event; inventory and
	// payment the two OrderCreated; shipping (no rule) nothing.
	want := map[string]int{"shop-evcli-store-writer:live": 4, "shop-inventory:live": 2, "shop-payment:live": 2}
	if !mapsEqualInt(received, want) {
		t.Fatalf("deliveries = %v, want %v", received, want)
	}

	// replay --dry-run reads the table: four events (not eight, not
	// five), by type and aggregate, and the receivers of the project's rules.
	if code := e.run("replay", "--since", "1h", "--dry-run", "--name", "check"); code != 0 {
		t.Fatalf("replay --dry-run: exit %d\n%s%s", code, e.out, e.errOut)
	}
	out := e.out.String()
	for _, want := range []string{
		"dry run check: 4 events would be published to bus shop-bus",
		"  OrderCreated    2\n  OrderConfirmed  1\n  OrderShipped    1\n",
		"  order-1  2\n  order-2  2\n",
		"receivers (functions whose rules match):\n  inventory  2\n  payment    2\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("replay --dry-run output has no %q:\n%s", want, out)
		}
	}
	if m := srv.Events("shop-bus"); len(m) != 4 {
		t.Errorf("the dry run published: the bus holds %d events", len(m))
	}

	// filter test --since reads the same events.
	if code := e.run("filter", "test", "--since", "1h", "-p", `{"detail":{"total":[{"numeric":[">",100]}]}}`, "-o", "json"); code != 0 {
		t.Fatalf("filter test --since: exit %d\n%s%s", code, e.out, e.errOut)
	}
	if !strings.Contains(e.out.String(), `"events":4`) || !strings.Contains(e.out.String(), `"matched":1`) {
		t.Errorf("filter test --since:\n%s", e.out)
	}
}

func mapsEqualInt(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if b[k] != a[k] {
			return false
		}
	}
	return true
}
