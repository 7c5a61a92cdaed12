package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/replay"
)

// dynaliteEndpoint is testenv.Dynalite: a DynamoDB emulator for the test.
func dynaliteEndpoint(t *testing.T) string { return testenv.Dynalite(t) }

// startDynalite is testenv.StartDynalite.
func startDynalite(t *testing.T) (endpoint, absent string) { return testenv.StartDynalite(t) }

func dynamoClient(endpoint string) *dynamodb.Client {
	cfg := awssdk.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = awssdk.String(endpoint) })
}

var ddbT0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

type ddbEvent struct {
	agg     string
	ver     int64
	at      time.Time
	id, typ string
}

// seedTable creates table (pk aggregateId S, sk timestamp of skType) and
// writes nAgg aggregates × nVer events, one every 997 ms, interleaved.
func seedTable(t *testing.T, c *dynamodb.Client, table string, skType ddbtypes.ScalarAttributeType, nAgg, nVer int) []ddbEvent {
	t.Helper()
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: &table,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: awssdk.String("aggregateId"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: awssdk.String("timestamp"), AttributeType: skType},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: awssdk.String("aggregateId"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: awssdk.String("timestamp"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	var evs []ddbEvent
	var batch []ddbtypes.WriteRequest
	flush := func() {
		for len(batch) > 0 {
			out, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{table: batch}})
			if err != nil {
				t.Fatalf("batch write: %v", err)
			}
			batch = out.UnprocessedItems[table]
		}
	}
	i := 0
	for v := 1; v <= nVer; v++ {
		for a := range nAgg {
			e := ddbEvent{agg: fmt.Sprintf("order-%03d", a), ver: int64(v), at: ddbT0.Add(time.Duration(i) * 997 * time.Millisecond),
				id: fmt.Sprintf("ev-%05d", i), typ: []string{"OrderPlaced", "OrderPaid", "OrderShipped"}[i%3]}
			evs = append(evs, e)
			var sk ddbtypes.AttributeValue = &ddbtypes.AttributeValueMemberS{Value: e.at.Format(time.RFC3339Nano)}
			if skType == ddbtypes.ScalarAttributeTypeN {
				sk = &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(e.at.UnixMilli(), 10)}
			}
			var data ddbtypes.AttributeValue
			if i%2 == 0 {
				data = &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf(`{"orderId":%q,"n":%d}`, e.agg, i)}
			} else {
				data = &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
					"orderId": &ddbtypes.AttributeValueMemberS{Value: e.agg},
					"n":       &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(i)},
				}}
			}
			batch = append(batch, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: map[string]ddbtypes.AttributeValue{
				"aggregateId":   &ddbtypes.AttributeValueMemberS{Value: e.agg},
				"timestamp":     sk,
				"eventId":       &ddbtypes.AttributeValueMemberS{Value: e.id},
				"eventType":     &ddbtypes.AttributeValueMemberS{Value: e.typ},
				"version":       &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(v)},
				"data":          data,
				"correlationId": &ddbtypes.AttributeValueMemberS{Value: "c-" + e.agg},
			}}})
			if len(batch) == 25 {
				flush()
			}
			i++
		}
	}
	flush()
	return evs
}

func ddbCollect(t *testing.T, s providers.EventStore, q providers.EventQuery) []providers.StoredEvent {
	t.Helper()
	var out []providers.StoredEvent
	for ev, err := range s.Events(context.Background(), q) {
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		out = append(out, ev)
	}
	return out
}

func ddbWantIDs(evs []ddbEvent, keep func(ddbEvent) bool) []string {
	var ids []string
	for _, e := range evs {
		if keep(e) {
			ids = append(ids, e.id)
		}
	}
	slices.Sort(ids)
	return ids
}

func ddbIDs(evs []providers.StoredEvent) []string {
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestDynamoDBStore(t *testing.T) {
	c := dynamoClient(dynaliteEndpoint(t))
	evs := seedTable(t, c, "events", ddbtypes.ScalarAttributeTypeS, 80, 40) // 3,200 events over ~53 minutes
	cc := &countingDynamo{DynamoDBAPI: c}
	store := NewDynamoDBStore(cc, DynamoDBStoreOptions{Table: "events", Segments: 4, PageSize: 150, Region: "us-east-1"})

	since, until := ddbT0.Add(10*time.Minute+300*time.Millisecond), ddbT0.Add(40*time.Minute+500*time.Millisecond)
	t.Run("window scan", func(t *testing.T) {
		got := ddbCollect(t, store, providers.EventQuery{Since: since, Until: until})
		want := ddbWantIDs(evs, func(e ddbEvent) bool { return !e.at.Before(since) && e.at.Before(until) })
		if len(want) < 1500 || !slices.Equal(ddbIDs(got), want) {
			t.Fatalf("got %d events, want %d", len(got), len(want))
		}
		// Paged parallel segments with the window filtered by the service.
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if len(cc.segments) != 4 || cc.scans < 3200/150 || !strings.Contains(cc.filter, "#sk BETWEEN :lo AND :hi") {
			t.Errorf("scans %d over segments %v with filter %q", cc.scans, cc.segments, cc.filter)
		}
	})
	t.Run("window and types", func(t *testing.T) {
		got := ddbCollect(t, store, providers.EventQuery{Since: since, Until: until, Types: []string{"OrderPaid", "OrderShipped"}})
		want := ddbWantIDs(evs, func(e ddbEvent) bool {
			return !e.at.Before(since) && e.at.Before(until) && e.typ != "OrderPlaced"
		})
		if !slices.Equal(ddbIDs(got), want) {
			t.Fatalf("got %d events, want %d", len(got), len(want))
		}
	})
	t.Run("query per aggregate", func(t *testing.T) {
		aggs := []string{"order-007", "order-042", "order-079"}
		got := ddbCollect(t, store, providers.EventQuery{Since: since, Until: until, AggregateIDs: aggs, Types: []string{"OrderPaid"}})
		want := ddbWantIDs(evs, func(e ddbEvent) bool {
			return slices.Contains(aggs, e.agg) && !e.at.Before(since) && e.at.Before(until) && e.typ == "OrderPaid"
		})
		if len(want) == 0 || !slices.Equal(ddbIDs(got), want) {
			t.Fatalf("got %v, want %v", ddbIDs(got), want)
		}
		for i := 1; i < len(got); i++ { // each aggregate in sort key order
			if got[i].AggregateID == got[i-1].AggregateID && !got[i].Time.After(got[i-1].Time) {
				t.Fatalf("query results out of order at %d", i)
			}
		}
	})
	t.Run("decoding", func(t *testing.T) {
		got := ddbCollect(t, store, providers.EventQuery{AggregateIDs: []string{"order-001"}})
		if len(got) != 40 {
			t.Fatalf("got %d events", len(got))
		}
		for _, ev := range got {
			var src ddbEvent
			for _, e := range evs {
				if e.id == ev.ID {
					src = e
				}
			}
			n, _ := strconv.Atoi(src.id[3:])
			want := fmt.Sprintf(`{"n":%d,"orderId":"order-001"}`, n)
			var a, b any
			_ = json.Unmarshal(ev.Detail, &a)
			_ = json.Unmarshal([]byte(want), &b)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) || !ev.Time.Equal(src.at) || ev.AggregateVersion != src.ver || ev.DetailType != src.typ ||
				ev.Source != "evcli.eventstore" || ev.CorrelationID != "c-order-001" || ev.Region != "us-east-1" {
				t.Fatalf("decoded %+v (detail %s), from %+v", ev, ev.Detail, src)
			}
		}
	})
	t.Run("early stop", func(t *testing.T) {
		n := 0
		for _, err := range store.Events(context.Background(), providers.EventQuery{}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 25 {
				break
			}
		}
		if got := ddbCollect(t, store, providers.EventQuery{Limit: 7}); len(got) != 7 {
			t.Errorf("limit: %d events", len(got))
		}
	})
	t.Run("replay from dynamodb", func(t *testing.T) {
		// The whole pipeline over the real store: per-aggregate order.
		bus := &replayRecordBus{}
		sum, err := replay.Run(context.Background(), replay.Config{
			Name: "ddb", Bus: "default", Concurrency: 4,
			Selection: replay.Selection{Since: since, Until: until},
		}, store, bus, replay.NewMemCheckpoints())
		want := ddbWantIDs(evs, func(e ddbEvent) bool { return !e.at.Before(since) && e.at.Before(until) })
		if err != nil || sum.Published != int64(len(want)) {
			t.Fatalf("replay: %+v %v, want %d published", sum, err, len(want))
		}
		last := map[string]int64{}
		for _, m := range bus.markers {
			if m.Version <= last[m.AggregateID] {
				t.Fatalf("%s: version %d after %d", m.AggregateID, m.Version, last[m.AggregateID])
			}
			last[m.AggregateID] = m.Version
		}
	})
}

// TestDynamoDBStoreExcludeReplays: with ExcludeReplays the service leaves
// out items whose data map has a top-level _replay member (in scans and
// queries); a nested one, or a marker inside a JSON string, is not left out
// by the store (replay's selector decides those).
func TestDynamoDBStoreExcludeReplays(t *testing.T) {
	c := dynamoClient(dynaliteEndpoint(t))
	evs := seedTable(t, c, "replays", ddbtypes.ScalarAttributeTypeS, 3, 2)
	ctx := context.Background()
	marker := &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
		"replayed": &ddbtypes.AttributeValueMemberBOOL{Value: true}}}
	for i, data := range []ddbtypes.AttributeValue{
		&ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"_replay": marker, "n": &ddbtypes.AttributeValueMemberN{Value: "1"}}},
		&ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"inner": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"_replay": marker}}}},
		&ddbtypes.AttributeValueMemberS{Value: `{"_replay":{"replayed":true}}`},
	} {
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: awssdk.String("replays"), Item: map[string]ddbtypes.AttributeValue{
			"aggregateId": &ddbtypes.AttributeValueMemberS{Value: "order-000"},
			"timestamp":   &ddbtypes.AttributeValueMemberS{Value: ddbT0.Add(time.Duration(i+1) * time.Hour).Format(time.RFC3339Nano)},
			"eventId":     &ddbtypes.AttributeValueMemberS{Value: fmt.Sprint("rp-", i)},
			"eventType":   &ddbtypes.AttributeValueMemberS{Value: "OrderPlaced"},
			"version":     &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(10 + i)},
			"data":        data,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	store := NewDynamoDBStore(c, DynamoDBStoreOptions{Table: "replays", Segments: 2, Region: "us-east-1"})
	all := ddbWantIDs(evs, func(ddbEvent) bool { return true })
	for _, q := range []providers.EventQuery{{ExcludeReplays: true}, {ExcludeReplays: true, AggregateIDs: []string{"order-000", "order-001", "order-002"}}} {
		got := ddbIDs(ddbCollect(t, store, q))
		want := append(slices.Clone(all), "rp-1", "rp-2")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%+v: got %v, want %v", q, got, want)
		}
	}
	if got := ddbCollect(t, store, providers.EventQuery{}); len(got) != len(all)+3 {
		t.Errorf("without ExcludeReplays: %d events, want %d", len(got), len(all)+3)
	}
}

func TestDynamoDBStoreNumericSortKeyAndErrors(t *testing.T) {
	c := dynamoClient(dynaliteEndpoint(t))
	evs := seedTable(t, c, "events_ms", ddbtypes.ScalarAttributeTypeN, 10, 30)
	store := NewDynamoDBStore(c, DynamoDBStoreOptions{Table: "events_ms", Segments: 3})
	since, until := ddbT0.Add(time.Minute+1), ddbT0.Add(3*time.Minute)
	got := ddbCollect(t, store, providers.EventQuery{Since: since, Until: until})
	want := ddbWantIDs(evs, func(e ddbEvent) bool { return !e.at.Before(since) && e.at.Before(until) })
	if len(want) == 0 || !slices.Equal(ddbIDs(got), want) {
		t.Fatalf("epoch ms: got %d, want %d", len(got), len(want))
	}

	missing := NewDynamoDBStore(c, DynamoDBStoreOptions{Table: "nope"})
	for _, err := range missing.Events(context.Background(), providers.EventQuery{}) {
		if providers.CodeOf(err) != providers.NotFound {
			t.Errorf("missing table: %v", err)
		}
	}
	wrongKeys := NewDynamoDBStore(c, DynamoDBStoreOptions{Table: "events_ms", Keys: StoreKeys{Aggregate: "pk", Sort: "sk"}})
	for _, err := range wrongKeys.Events(context.Background(), providers.EventQuery{}) {
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Code != providers.InvalidArgument ||
			err.Error() != `dynamodb table events_ms: its partition key is "aggregateId", store.keys.aggregate says "pk"; its sort key is "timestamp", store.keys.sort says "sk"` {
			t.Errorf("wrong keys: %v", err)
		}
	}
}

// countingDynamo counts Scan requests and their segments.
type countingDynamo struct {
	DynamoDBAPI
	mu       sync.Mutex
	scans    int
	segments map[int32]bool
	filter   string
}

func (c *countingDynamo) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.mu.Lock()
	c.scans++
	if c.segments == nil {
		c.segments = map[int32]bool{}
	}
	if in.Segment != nil && in.TotalSegments != nil && *in.TotalSegments == 4 {
		c.segments[*in.Segment] = true
	}
	c.filter = awssdk.ToString(in.FilterExpression)
	c.mu.Unlock()
	return c.DynamoDBAPI.Scan(ctx, in, o...)
}
