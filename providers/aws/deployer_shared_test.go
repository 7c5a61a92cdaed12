package aws

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
)

func TestDeploySharedBus(t *testing.T) {
	e := newDeployEnv(t, nil)
	ctx := e.ctx
	changes, err := e.d.PlanShared(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.ResourceChange{{Kind: "bus", Name: "shop-bus", Action: "create"}}
	if !slices.EqualFunc(changes, want, sameChange) {
		t.Fatalf("plan = %+v, want %+v", changes, want)
	}
	var steps []string
	if err := e.d.ApplyShared(ctx, changes, func(res, step string) { steps = append(steps, res+": "+step) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(steps, []string{"bus shop-bus: create"}) {
		t.Errorf("steps = %q", steps)
	}
	ec := eventbridge.NewFromConfig(e.srv.Config(ctx))
	// Another project's bus, an untagged bus and an old bus of this project.
	for name, project := range map[string]string{"other-bus": "other", "manual-bus": "", "shop-old": "shop"} {
		in := &eventbridge.CreateEventBusInput{Name: awssdk.String(name)}
		if project != "" {
			in.Tags = []ebtypes.Tag{{Key: awssdk.String(TagProject), Value: awssdk.String(project)}}
		}
		if _, err := ec.CreateEventBus(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.ResetCalls()
	changes, err = e.d.PlanShared(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []providers.ResourceChange{{Kind: "bus", Name: "shop-bus", Action: "unchanged"}}; !slices.EqualFunc(changes, want, sameChange) {
		t.Errorf("plan = %+v, want %+v", changes, want)
	}
	if err := e.d.ApplyShared(ctx, changes, nil); err != nil {
		t.Fatal(err)
	}
	if m := e.mutating(); len(m) > 0 {
		t.Errorf("unchanged bus: mutating calls %v", m)
	}
	changes, err = e.d.PlanShared(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	want = []providers.ResourceChange{{Kind: "bus", Name: "shop-bus", Action: "unchanged"}, {Kind: "bus", Name: "shop-old", Action: "delete"}}
	if !slices.EqualFunc(changes, want, sameChange) {
		t.Fatalf("prune plan = %+v, want %+v", changes, want)
	}
	if err := e.d.ApplyShared(ctx, changes, nil); err != nil {
		t.Fatal(err)
	}
	out, err := ec.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range out.EventBuses {
		names = append(names, awssdk.ToString(b.Name))
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"default", "manual-bus", "other-bus", "shop-bus"}) {
		t.Errorf("buses after prune = %v", names)
	}
	// The default bus is never planned.
	def := newDeployEnvOn(t, e.srv, "shop")
	def.d = NewDeployer(e.srv.Config(ctx), DeployerOptions{Project: "shop", Bus: "default", Sleep: def.sleep.Sleep})
	if changes, err := def.d.PlanShared(ctx, false); err != nil || len(changes) != 0 {
		t.Errorf("default bus plan = %+v, %v", changes, err)
	}
}

func sameChange(a, b providers.ResourceChange) bool {
	return a.Kind == b.Kind && a.Name == b.Name && a.Action == b.Action && slices.Equal(a.Fields, b.Fields)
}

func TestDeploySharedTableOnDynalite(t *testing.T) {
	shim := testenv.NewTTLShim(t, dynaliteEndpoint(t))
	e := newDeployEnv(t, func(o *DeployerOptions) {
		o.Bus = ""
		o.Table = &TableSpec{Name: "shop-events-deploy", PartitionKey: "aggregateId", SortKey: "timestamp", TTLAttribute: "expiresAt"}
	})
	ddb := dynamoClient(shim.URL)
	e.d.ddb = dynamodb.NewFromConfig(awssdk.Config{Region: "us-east-1", Credentials: ddb.Options().Credentials},
		func(o *dynamodb.Options) { o.BaseEndpoint = awssdk.String(shim.URL); o.Retryer = awssdk.NopRetryer{} })
	ctx := context.Background()

	plan := func() []providers.ResourceChange {
		t.Helper()
		c, err := e.d.PlanShared(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		// The writer that fills the table: TestStoreWriterFillsTheStore.
		return slices.DeleteFunc(c, func(rc providers.ResourceChange) bool { return rc.Kind == "writer" })
	}
	if got, want := plan(), []providers.ResourceChange{{Kind: "table", Name: "shop-events-deploy", Action: "create"}}; !slices.EqualFunc(got, want, sameChange) {
		t.Fatalf("plan = %+v, want %+v", got, want)
	}
	var steps []string
	if err := e.d.ApplyShared(ctx, plan(), func(res, step string) { steps = append(steps, step) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(steps, []string{"create", "wait for active", "enable ttl"}) {
		t.Errorf("steps = %q", steps)
	}
	desc, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: awssdk.String("shop-events-deploy")})
	if err != nil {
		t.Fatal(err)
	}
	tb := desc.Table
	if tb.TableStatus != ddbtypes.TableStatusActive || tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest {
		t.Errorf("table status %s billing %+v", tb.TableStatus, tb.BillingModeSummary)
	}
	if len(tb.KeySchema) != 2 || awssdk.ToString(tb.KeySchema[0].AttributeName) != "aggregateId" || awssdk.ToString(tb.KeySchema[1].AttributeName) != "timestamp" {
		t.Errorf("key schema = %+v", tb.KeySchema)
	}
	if got, want := plan(), []providers.ResourceChange{{Kind: "table", Name: "shop-events-deploy", Action: "unchanged"}}; !slices.EqualFunc(got, want, sameChange) {
		t.Errorf("second plan = %+v, want %+v (a table is never pruned)", got, want)
	}
	// TTL switched off behind evcli's back: an update of field ttl.
	shim.DisableTTL("shop-events-deploy")
	got := plan()
	if want := []providers.ResourceChange{{Kind: "table", Name: "shop-events-deploy", Action: "update", Fields: []string{"ttl"}}}; !slices.EqualFunc(got, want, sameChange) {
		t.Errorf("ttl plan = %+v, want %+v", got, want)
	}
	if err := e.d.ApplyShared(ctx, got, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(shim.Calls(), " "), "UpdateTimeToLive"); n != 2 {
		t.Errorf("UpdateTimeToLive calls = %d, want 2", n)
	}
	// Keys that differ from evcli.yaml are an error naming both.
	e.d.o.Table = &TableSpec{Name: "shop-events-deploy", PartitionKey: "id", SortKey: "timestamp"}
	_, err = e.d.PlanShared(ctx, false)
	if providers.CodeOf(err) != providers.InvalidArgument || !strings.Contains(err.Error(), "aggregateId/timestamp") {
		t.Errorf("key mismatch: %v", err)
	}
	// Deleting a table is refused.
	err = e.d.ApplyShared(ctx, []providers.ResourceChange{{Kind: "table", Name: "shop-events-deploy", Action: "delete"}}, nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("never deletes")) {
		t.Errorf("delete table: %v", err)
	}
}
