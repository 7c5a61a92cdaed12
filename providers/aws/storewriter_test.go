package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
)

// nodeItems runs the embedded writer's item function on envelopes with
// node and returns the DynamoDB items (JSON, DynamoDB's attribute form).
func nodeItems(t *testing.T, keys storeWriterKeys, envs [][]byte) []map[string]map[string]any {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.js"), storeWriterJS, 0o644); err != nil {
		t.Fatal(err)
	}
	kb, _ := json.Marshal(keys)
	script := `const w = require(process.argv[1] + "/index.js");
let s = ""; process.stdin.on("data", c => s += c).on("end", () => {
  const out = JSON.parse(s).map(e => w.item(e));
  process.stdout.write(JSON.stringify(out));
});`
	cmd := exec.Command("node", "-e", script, dir)
	cmd.Env = append(os.Environ(), "EVCLI_STORE_KEYS="+string(kb), "EVCLI_STORE_TABLE=t")
	var in bytes.Buffer
	in.WriteString("[")
	for i, e := range envs {
		if i > 0 {
			in.WriteString(",")
		}
		in.Write(e)
	}
	in.WriteString("]")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var items []map[string]map[string]any
	if err := json.Unmarshal(out, &items); err != nil {
		t.Fatalf("writer output %s: %v", out, err)
	}
	return items
}

func toAV(t *testing.T, m map[string]map[string]any) map[string]ddbtypes.AttributeValue {
	out := map[string]ddbtypes.AttributeValue{}
	for k, v := range m {
		switch {
		case v["S"] != nil:
			out[k] = &ddbtypes.AttributeValueMemberS{Value: v["S"].(string)}
		case v["N"] != nil:
			out[k] = &ddbtypes.AttributeValueMemberN{Value: v["N"].(string)}
		case v["BOOL"] != nil:
			out[k] = &ddbtypes.AttributeValueMemberBOOL{Value: v["BOOL"].(bool)}
		default:
			t.Fatalf("attribute %s: %v", k, v)
		}
	}
	return out
}

// TestStoreWriterFillsTheStore: deploy on the AWS path installs the table,
// the writer function and its catch-all rule; events sent on the bus are
// routed by the fake's rules to the writer (awstest does not run
// functions: the harness runs the embedded writer's item function with
// node and does its conditional PutItem into dynalite, each event twice),
// and the store reads them back as the local store would have them.
//
// Proven: what deploy installs (function, code, rule, permissions, role
// policy on the table), that every event on the bus matches the rule, the
// item layout the JS writes (keys, aggregate id/version extraction, TTL,
// replay flag) is what the DynamoDB store reads, and idempotency under
// redelivery. Not proven: the JS handler's SDK call on real Lambda, and
// EventBridge's delivery latency ("within seconds").
func TestStoreWriterFillsTheStore(t *testing.T) {
	ddb, absent := startDynalite(t)
	if ddb == "" {
		t.Skip(absent)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the writer's JS cannot run")
	}
	srv := awstest.New(awstest.WithSettleReads(1))
	t.Cleanup(srv.Close)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb)
	ctx := context.Background()
	open := func() *providers.Provider {
		p, err := Open(ctx, providers.OpenOptions{Project: "shop", Bus: "shop-bus", Endpoint: srv.URL(), Sleep: fastSleep,
			Store: providers.StoreSpec{Type: "dynamodb", Table: "shop-events", TTLDays: 30}}) // dynalite has no UpdateTimeToLive: the TTL attribute is checked below
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := open()
	plan, err := p.Shared.PlanShared(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range plan {
		kinds = append(kinds, c.Kind+" "+c.Name+" "+c.Action)
	}
	if !slices.Equal(kinds, []string{"bus shop-bus create", "table shop-events create", "writer shop-evcli-store-writer create"}) {
		t.Fatalf("plan = %q", kinds)
	}
	if err := p.Shared.ApplyShared(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	// Deployed again: nothing to do, no mutating call; and the writer is
	// not one of the project's functions.
	srv.ResetCalls()
	plan, err = p.Shared.PlanShared(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan {
		if c.Action != "unchanged" {
			t.Errorf("second plan: %+v", c)
		}
	}
	if m := srv.MutatingCalls(); len(m) > 0 {
		t.Errorf("second plan wrote: %v", m)
	}
	if fds, err := p.Deployer.Deployed(ctx); err != nil || len(fds) != 0 {
		t.Errorf("Deployed = %v %v, want no functions", fds, err)
	}
	pol, _ := srv.Role(RoleNameIn("shop", StoreWriterFunction, "us-east-1"))
	if !strings.Contains(pol.Inline["evcli"], "table/shop-events") {
		t.Errorf("the writer's role cannot write the table: %v", pol)
	}

	evs := []providers.Event{
		{Source: "shop", DetailType: "OrderPlaced", Detail: json.RawMessage(`{"aggregateId":"order-1","version":1,"correlationId":"c-1"}`)},
		{Source: "shop", DetailType: "OrderPaid", Detail: json.RawMessage(`{"aggregate_id":"order-1","aggregateVersion":"2"}`)},
		{Source: "shop", DetailType: "Ping", Detail: json.RawMessage(`{"n":1}`)},
		{Source: "shop", DetailType: "OrderPlaced", Detail: json.RawMessage(`{"aggregateId":"order-2","version":1,"_replay":{"replay-name":"r1","replayed":true,"originalId":"x"}}`)},
	}
	rep, err := providers.PublishAll(ctx, p.Bus, "shop-bus", evs, p.BusLimits, providers.RetryPolicy{})
	if err != nil || rep.Failed() > 0 {
		t.Fatalf("PublishAll: %+v %v", rep, err)
	}

	// With a TTL attribute, the writer is told it (and the days).
	withTTL := NewDeployer(srv.Config(ctx), DeployerOptions{Project: "shop", Table: &TableSpec{Name: "shop-events", PartitionKey: "aggregateId",
		SortKey: "timestamp", TTLAttribute: "expiresAt", ID: "eventId", Type: "eventType", Data: "data", Version: "version", TTLDays: 30}})
	if w, err := withTTL.storeWriter(); err != nil || !strings.Contains(w.Env["EVCLI_STORE_KEYS"], `"ttl":"expiresAt","ttlDays":30`) {
		t.Errorf("writer env = %v %v", w, err)
	}

	// Route what the bus accepted through the writer's rule.
	bus, _ := srv.Bus("shop-bus")
	t0 := time.Now().UTC().Truncate(time.Second)
	var envs [][]byte
	for i, ev := range srv.Events("shop-bus") {
		at := ev.Time
		if at.IsZero() {
			at = t0.Add(time.Duration(i) * time.Second)
		}
		env, _ := json.Marshal(providers.Event{Version: "0", ID: ev.ID, Source: ev.Source, DetailType: ev.DetailType,
			Account: "123456789012", Time: at, Region: "us-east-1", Resources: []string{}, Detail: json.RawMessage(ev.Detail)})
		for _, name := range bus.Rules {
			r, _ := srv.Rule("shop-bus", name)
			pat, err := filter.Parse([]byte(r.EventPattern))
			if err != nil {
				t.Fatal(err)
			}
			ok, _ := pat.Match(env)
			toWriter := slices.ContainsFunc(r.Targets, func(tg awstest.Target) bool {
				return strings.HasSuffix(tg.Arn, ":function:shop-evcli-store-writer:live")
			})
			if ok && toWriter && r.State == "ENABLED" {
				envs = append(envs, env, env) // delivered twice: at-least-once
			}
		}
	}
	if len(envs) != 2*len(evs) {
		t.Fatalf("%d deliveries to the writer, want %d", len(envs), 2*len(evs))
	}
	c := dynamoClient(ddb)
	for _, it := range nodeItems(t, storeWriterKeys{Aggregate: "aggregateId", Sort: "timestamp", ID: "eventId", Type: "eventType",
		Data: "data", Version: "version", TTL: "expiresAt", TTLDays: 30}, envs) {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: awssdk.String("shop-events"), Item: toAV(t, it),
			ConditionExpression: awssdk.String("attribute_not_exists(#id)"), ExpressionAttributeNames: map[string]string{"#id": "eventId"}})
		if err != nil && apiCode(err) != "ConditionalCheckFailedException" {
			t.Fatal(err)
		}
		if it["expiresAt"] == nil || it["timestamp"] == nil {
			t.Errorf("item without TTL or time: %v", it)
		}
	}

	// What filter test --since and replay read: every event once, keyed
	// as the local store keys them.
	var got []string
	for se, err := range open().Store.Events(ctx, providers.EventQuery{Since: t0.Add(-time.Hour)}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, se.DetailType+" "+se.AggregateID+"/"+itoa(se.AggregateVersion)+" replay="+boolStr(providers.IsReplayDetail(se.Detail)))
	}
	slices.Sort(got)
	want := []string{"OrderPaid order-1/2 replay=false", "OrderPlaced order-1/1 replay=false", "OrderPlaced order-2/1 replay=true", "Ping /0 replay=false"}
	if !slices.Equal(got, want) {
		t.Errorf("store holds\n %q\nwant\n %q", got, want)
	}
	n, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: awssdk.String("shop-events"), FilterExpression: awssdk.String("replayed = :t"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":t": &ddbtypes.AttributeValueMemberBOOL{Value: true}}})
	if err != nil || n.Count != 1 {
		t.Errorf("replays flagged: %v %v", n, err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
