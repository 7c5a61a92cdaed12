package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
	"github.com/evcli/evcli/providers/providertest"
)

// TestConformance runs the provider conformance suite against the AWS
// driver on awstest (a fresh fake per check) and, for the event store,
// dynalite (one per run, a table per project), skipping the store when
// dynalite is not installed.
func TestConformance(t *testing.T) {
	ddb, absent := startDynalite(t)
	providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) {
		srv := awstest.New(awstest.WithSettleReads(1), awstest.WithInvoke(conformanceHandler))
		for _, kv := range srv.Env() {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		if ddb != "" {
			t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb)
		}
		return &fakeHarness{srv: srv, dir: t.TempDir(), dynamo: ddb, noDynamo: absent}, nil
	})
}

// conformanceHandler is providertest.Handler as the fake runs it.
func conformanceHandler(_ string, payload []byte) ([]byte, error) {
	var ev struct {
		Fail string `json:"fail"`
	}
	if json.Unmarshal(payload, &ev) == nil && ev.Fail != "" {
		return nil, &awstest.FunctionError{Type: "RuntimeError", Message: ev.Fail}
	}
	return payload, nil
}

type fakeHarness struct {
	srv      *awstest.Server
	dir      string
	dynamo   string // dynalite's endpoint, "" when absent
	noDynamo string // why it is absent
}

func (h *fakeHarness) Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	o.Dir = h.dir
	o.Endpoint = h.srv.URL()
	o.Sleep = fastSleep
	if h.dynamo != "" {
		o.Store = providers.StoreSpec{Type: "dynamodb", Table: o.Project + "-events"}
	}
	return Open(ctx, o)
}

// fastSleep keeps the driver's polling (function states settle after one
// read here) from slowing the suite.
func fastSleep(ctx context.Context, d time.Duration) error {
	return providers.Sleep(ctx, min(d, 5*time.Millisecond))
}

func (h *fakeHarness) Function(name string, variant int) (providers.FunctionDeployment, error) {
	path, sha, err := providertest.PythonArtifact(h.dir, variant)
	return providers.FunctionDeployment{Runtime: providertest.PythonRuntime, Handler: providertest.PythonHandler,
		ArtifactPath: path, CodeSha256: sha}, err
}

func (h *fakeHarness) Close() { h.srv.Close() }

// MutatingCalls names the calls the fake recorded as changing its state.
func (h *fakeHarness) MutatingCalls() []string {
	var out []string
	for _, c := range h.srv.MutatingCalls() {
		if c.Action == "PutEvents" {
			continue // publishing is not deploying
		}
		out = append(out, c.Service+" "+c.Action+" "+c.Resource)
	}
	return out
}

// Received does what EventBridge would with the events the fake accepted:
// each goes to the Lambda targets of the enabled rules on its bus whose
// pattern matches it. The fake does not deliver, so this observes what the
// driver is responsible for: the event on the right bus, and rules with the
// right patterns targeting the right functions.
func (h *fakeHarness) Received(ctx context.Context, bus string, ids []string) (map[string][]string, error) {
	b, ok := h.srv.Bus(bus)
	if !ok {
		return nil, fmt.Errorf("bus %s does not exist", bus)
	}
	out := map[string][]string{}
	for _, ev := range h.srv.Events(bus) {
		if !slices.Contains(ids, ev.ID) {
			continue
		}
		env, err := json.Marshal(providers.Event{Version: "0", ID: ev.ID, Source: ev.Source, DetailType: ev.DetailType,
			Time: ev.Time, Resources: ev.Resources, Detail: json.RawMessage(ev.Detail)})
		if err != nil {
			return nil, err
		}
		for _, name := range b.Rules {
			r, _ := h.srv.Rule(bus, name)
			if r.State != "ENABLED" || r.EventPattern == "" {
				continue
			}
			pat, err := filter.Parse([]byte(r.EventPattern))
			if err != nil {
				return nil, fmt.Errorf("rule %s has a pattern EventBridge would refuse: %v", name, err)
			}
			if ok, err := pat.Match(env); err != nil || !ok {
				continue
			}
			for _, tg := range r.Targets {
				if parts := strings.Split(tg.Arn, ":"); len(parts) >= 7 && parts[2] == "lambda" {
					// The function as the project names it (its tag), not
					// its physical <project>-<fn>.
					name := parts[6]
					if f, ok := h.srv.Function(name); ok && f.Tags[TagFunction] != "" {
						name = f.Tags[TagFunction]
					}
					if name == StoreWriterFunction {
						continue // the event store's writer, not a consumer
					}
					out[ev.ID] = append(out[ev.ID], name)
				}
			}
		}
	}
	return out, nil
}

// WriteEvents puts events in the project's table as the event-sourcing
// layout has them (the keys' defaults; time as RFC 3339 in UTC).
func (h *fakeHarness) WriteEvents(ctx context.Context, p *providers.Provider, evs []providers.StoredEvent) error {
	var c *dynamodb.Client
	if s, ok := p.Store.(*DynamoDBStore); !ok || !s.As(&c) {
		return errors.New("the provider's store is not a DynamoDB table")
	}
	table := p.Store.(*DynamoDBStore).opts.Table
	for _, ev := range evs {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: awssdk.String(table), Item: map[string]ddbtypes.AttributeValue{
			"aggregateId": &ddbtypes.AttributeValueMemberS{Value: ev.AggregateID},
			"timestamp":   &ddbtypes.AttributeValueMemberS{Value: ev.Time.UTC().Format(time.RFC3339Nano)},
			"eventId":     &ddbtypes.AttributeValueMemberS{Value: ev.ID},
			"eventType":   &ddbtypes.AttributeValueMemberS{Value: ev.DetailType},
			"data":        &ddbtypes.AttributeValueMemberS{Value: string(ev.Detail)},
			"version":     &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(ev.AggregateVersion, 10)},
			"source":      &ddbtypes.AttributeValueMemberS{Value: ev.Source},
		}})
		if err != nil {
			return err
		}
	}
	return nil
}

func (h *fakeHarness) Skip(check string) string {
	switch check {
	case "Metrics":
		return "awstest has no CloudWatch Logs Insights (StartQuery), which the AWS metrics source queries"
	case "Store":
		if h.dynamo == "" {
			return "the AWS event store is DynamoDB, checked against dynalite: " + h.noDynamo
		}
	}
	return ""
}

// TestConformanceEndpoint runs the suite against the AWS endpoint in
// EVCLI_CONFORMANCE_AWS_ENDPOINT (LocalStack, or "aws" for the account the
// environment's credentials reach), with credentials and region from the
// environment. It creates and deletes functions, roles and rules named
// cta-*, ctb-*, ... there.
func TestConformanceEndpoint(t *testing.T) {
	ep := os.Getenv("EVCLI_CONFORMANCE_AWS_ENDPOINT")
	if ep == "" {
		t.Skip("set EVCLI_CONFORMANCE_AWS_ENDPOINT (a URL, or aws for the real service) to run the conformance suite against it")
	}
	if ep == "aws" {
		ep = ""
	}
	providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) {
		return &endpointHarness{endpoint: ep, dir: t.TempDir()}, nil
	})
}

type endpointHarness struct {
	endpoint, dir string
}

func (h *endpointHarness) Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	o.Dir, o.Endpoint = h.dir, h.endpoint
	return Open(ctx, o)
}

func (h *endpointHarness) Function(name string, variant int) (providers.FunctionDeployment, error) {
	path, sha, err := providertest.PythonArtifact(h.dir, variant)
	return providers.FunctionDeployment{Runtime: providertest.PythonRuntime, Handler: providertest.PythonHandler,
		ArtifactPath: path, CodeSha256: sha}, err
}

func (h *endpointHarness) Close() {}

var (
	_ providertest.MutationRecorder = (*fakeHarness)(nil)
	_ providertest.DeliveryObserver = (*fakeHarness)(nil)
	_ providertest.StoreWriter      = (*fakeHarness)(nil)
	_ providertest.Skipper          = (*fakeHarness)(nil)
)
