package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/evcli/evcli/providers"
)

// PlanShared implements providers.SharedDeployer: the project's bus
// (created when missing; the default bus is never planned) and the
// event-store table (created when missing, "update" with field "ttl" when
// its TTL attribute is not enabled). A table whose key schema differs from
// evcli.yaml is an error: keys cannot be changed in place. With prune, a bus
// tagged with this project that is no longer the project's bus is deleted.
// A table is never deleted: it holds the event data.
func (d *Deployer) PlanShared(ctx context.Context, prune bool) ([]providers.ResourceChange, error) {
	var out []providers.ResourceChange
	if d.o.Bus != "" {
		_, err := retry(ctx, d, busResource(d.o.Bus), func(ctx context.Context) (*eventbridge.DescribeEventBusOutput, error) {
			return d.events.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(d.o.Bus)})
		})
		switch {
		case err == nil:
			out = append(out, providers.ResourceChange{Kind: "bus", Name: d.o.Bus, Action: "unchanged"})
		case providers.CodeOf(err) == providers.NotFound:
			out = append(out, providers.ResourceChange{Kind: "bus", Name: d.o.Bus, Action: "create"})
		default:
			return nil, err
		}
	}
	if t := d.o.Table; t != nil && t.Name != "" {
		c, err := d.planTable(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if w, err := d.planStoreWriter(ctx); err != nil {
		return nil, err
	} else if w != nil {
		out = append(out, *w)
	}
	wfs, err := d.planWorkflows(ctx, prune)
	if err != nil {
		return nil, err
	}
	out = append(out, wfs...)
	if prune {
		gone, err := d.prunableBuses(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range gone {
			out = append(out, providers.ResourceChange{Kind: "bus", Name: b, Action: "delete"})
		}
	}
	return out, nil
}

func tableResource(name string) string { return "dynamodb table " + name }

func (d *Deployer) planTable(ctx context.Context, t *TableSpec) (providers.ResourceChange, error) {
	res := tableResource(t.Name)
	c := providers.ResourceChange{Kind: "table", Name: t.Name}
	desc, err := retry(ctx, d, res, func(ctx context.Context) (*dynamodb.DescribeTableOutput, error) {
		return d.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		c.Action = "create"
		return c, nil
	}
	if err != nil {
		return c, err
	}
	var pk, sk string
	for _, k := range desc.Table.KeySchema {
		switch k.KeyType {
		case ddbtypes.KeyTypeHash:
			pk = aws.ToString(k.AttributeName)
		case ddbtypes.KeyTypeRange:
			sk = aws.ToString(k.AttributeName)
		}
	}
	if pk != t.PartitionKey || sk != t.SortKey {
		return c, &providers.Error{Code: providers.InvalidArgument, Resource: res,
			Err:  fmt.Errorf("the table's keys are %s/%s, evcli.yaml says %s/%s", orNone(pk), orNone(sk), orNone(t.PartitionKey), orNone(t.SortKey)),
			Hint: "set store.keys in evcli.yaml to the table's keys, or name a new table (keys cannot change in place)"}
	}
	c.Action = "unchanged"
	if t.TTLAttribute != "" {
		ttl, err := retry(ctx, d, res, func(ctx context.Context) (*dynamodb.DescribeTimeToLiveOutput, error) {
			return d.ddb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.Name)})
		})
		if err != nil {
			return c, err
		}
		if !ttlOn(ttl.TimeToLiveDescription, t.TTLAttribute) {
			c.Action, c.Fields = "update", []string{"ttl"}
		}
	}
	return c, nil
}

func ttlOn(td *ddbtypes.TimeToLiveDescription, attr string) bool {
	if td == nil || aws.ToString(td.AttributeName) != attr {
		return false
	}
	return td.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || td.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// prunableBuses are the buses tagged with this project other than its bus.
func (d *Deployer) prunableBuses(ctx context.Context) ([]string, error) {
	buses, err := d.eachBus(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range buses {
		name := aws.ToString(b.Name)
		if name == "default" || name == d.o.Bus {
			continue
		}
		tags, err := retry(ctx, d, busResource(name), func(ctx context.Context) (*eventbridge.ListTagsForResourceOutput, error) {
			return d.events.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: b.Arn})
		})
		if err != nil {
			return nil, err
		}
		for _, t := range tags.Tags {
			if aws.ToString(t.Key) == TagProject && aws.ToString(t.Value) == d.o.Project {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// ApplyShared implements providers.SharedDeployer: it carries out the
// changes PlanShared returned. step reports ("bus NAME", "create"),
// ("table NAME", "wait for active"), ... Deleting a table is refused.
func (d *Deployer) ApplyShared(ctx context.Context, changes []providers.ResourceChange, step func(resource, step string)) error {
	if step == nil {
		step = func(string, string) {}
	}
	var errs []error
	for _, c := range changes {
		if c.Action == "unchanged" {
			continue
		}
		res := c.Kind + " " + c.Name
		var err error
		switch {
		case c.Kind == "bus" && c.Action == "create":
			step(res, "create")
			err = do(ctx, d, busResource(c.Name), func(ctx context.Context) (*eventbridge.CreateEventBusOutput, error) {
				return d.events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(c.Name),
					Tags: []ebtypes.Tag{{Key: aws.String(TagProject), Value: aws.String(d.o.Project)}}})
			})
			if providers.CodeOf(err) == providers.Conflict {
				err = nil // created meanwhile
			}
		case c.Kind == "bus" && c.Action == "delete":
			err = d.deleteBus(ctx, c.Name, func(s string) { step(res, s) })
		case c.Kind == "table" && c.Action == "create":
			err = d.createTable(ctx, func(s string) { step(res, s) })
		case c.Kind == "table" && c.Action == "update":
			step(res, "enable ttl")
			err = d.enableTTL(ctx)
		case c.Kind == "statemachine":
			err = d.applyWorkflow(ctx, c, func(s string) { step(res, s) })
		case c.Kind == "writer":
			err = d.applyStoreWriter(ctx, func(s string) { step(res, s) })
		case c.Kind == "table" && c.Action == "delete":
			err = &providers.Error{Code: providers.InvalidArgument, Resource: tableResource(c.Name),
				Err: errors.New("evcli never deletes an event-store table: it holds the event data"), Hint: "delete it with the AWS console or CLI if you mean to"}
		default:
			err = &providers.Error{Code: providers.InvalidArgument, Resource: res, Err: fmt.Errorf("unknown change %q", c.Action)}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteBus deletes a bus this project tagged, after this project's rules
// on it (EventBridge refuses to delete a bus that has rules).
func (d *Deployer) deleteBus(ctx context.Context, bus string, step func(string)) error {
	rules, err := d.busRulesWhere(ctx, bus, func(ruleMeta) bool { return true })
	if err != nil {
		return err
	}
	if len(rules) > 0 {
		step("delete rules")
	}
	for _, r := range rules {
		// a workflow's rule has no function permission to remove
		if err := d.deleteRule(ctx, r, r.Meta.Function != ""); err != nil {
			return err
		}
	}
	step("delete")
	err = do(ctx, d, busResource(bus), func(ctx context.Context) (*eventbridge.DeleteEventBusOutput, error) {
		return d.events.DeleteEventBus(ctx, &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return nil
	}
	return err
}

// createTable creates the event-store table on demand with its key schema
// (string keys), waits for it to be ACTIVE and enables TTL.
func (d *Deployer) createTable(ctx context.Context, step func(string)) error {
	t := d.o.Table
	res := tableResource(t.Name)
	attrs := []ddbtypes.AttributeDefinition{{AttributeName: aws.String(t.PartitionKey), AttributeType: ddbtypes.ScalarAttributeTypeS}}
	keys := []ddbtypes.KeySchemaElement{{AttributeName: aws.String(t.PartitionKey), KeyType: ddbtypes.KeyTypeHash}}
	if t.SortKey != "" {
		attrs = append(attrs, ddbtypes.AttributeDefinition{AttributeName: aws.String(t.SortKey), AttributeType: ddbtypes.ScalarAttributeTypeS})
		keys = append(keys, ddbtypes.KeySchemaElement{AttributeName: aws.String(t.SortKey), KeyType: ddbtypes.KeyTypeRange})
	}
	step("create")
	err := do(ctx, d, res, func(ctx context.Context) (*dynamodb.CreateTableOutput, error) {
		return d.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(t.Name), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: attrs, KeySchema: keys,
			Tags: []ddbtypes.Tag{{Key: aws.String(TagProject), Value: aws.String(d.o.Project)}}})
	})
	if err != nil && !(providers.CodeOf(err) == providers.Conflict) {
		return err
	}
	step("wait for active")
	wait := 200 * time.Millisecond
	for i := 0; ; i++ {
		desc, err := retry(ctx, d, res, func(ctx context.Context) (*dynamodb.DescribeTableOutput, error) {
			return d.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
		})
		if err != nil && providers.CodeOf(err) != providers.NotFound {
			return err
		}
		if err == nil && desc.Table.TableStatus == ddbtypes.TableStatusActive {
			break
		}
		if i >= pollLimit {
			return &providers.Error{Code: providers.Unavailable, Resource: res, Err: errors.New("not ACTIVE after 10 minutes")}
		}
		if err := d.o.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*3/2, 2*time.Second)
	}
	if t.TTLAttribute == "" {
		return nil
	}
	step("enable ttl")
	return d.enableTTL(ctx)
}

func (d *Deployer) enableTTL(ctx context.Context) error {
	t := d.o.Table
	return do(ctx, d, tableResource(t.Name), func(ctx context.Context) (*dynamodb.UpdateTimeToLiveOutput, error) {
		return d.ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(t.Name),
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)}})
	})
}
