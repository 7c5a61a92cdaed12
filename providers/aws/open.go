package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/evcli/evcli/providers"
)

// Open opens the AWS provider: it loads the configuration as the AWS CLI
// does (environment, profile, SSO, IMDS; o.Region and o.Profile first),
// makes sure credentials and a region exist — Unauthenticated or
// Unconfigured with the fix otherwise, before any work starts — and builds
// every ability on one configuration. o.Endpoint, AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> point the clients at LocalStack or an
// emulator. Neither credentials nor environment values are ever printed,
// not even to o.Debug.
//
// The event store is the project's DynamoDB table (store.type dynamodb);
// without one, the provider has no event store and says so. Replay
// checkpoints are project-local state, which this driver does not keep:
// the registry supplies them.
func Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	if o.Store.Type != "" && o.Store.Type != "dynamodb" && o.Store.Type != "local" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "aws",
			Err:  fmt.Errorf("the aws provider reads a dynamodb event store; evcli.yaml's store.type is %q", o.Store.Type),
			Hint: "set store.type to dynamodb (with store.table), or remove the store section"}
	}
	cfg, err := LoadConfig(ctx, Options{Region: o.Region, Profile: o.Profile})
	if err != nil {
		return nil, err
	}
	if o.Offline {
		return openOffline(cfg.Region, o), nil
	}
	if o.Endpoint != "" {
		cfg.BaseEndpoint = awssdk.String(o.Endpoint)
	}
	if err := checkCredentials(ctx, cfg, o); err != nil {
		return nil, err
	}
	sleep := o.Sleep
	physical := func(fn string) string { return FunctionName(o.Project, fn) }
	dopts := deployerOptions(o)
	var store providers.EventStore
	missing := map[providers.Ability]string{
		providers.AbilityWait:  "EventBridge and Lambda deliver asynchronously; follow the deliveries with evcli tail",
		providers.AbilityServe: "it runs in the cloud; use the local provider to serve functions on this machine",
		providers.AbilityState: "the aws driver keeps no state on this machine (replay checkpoints are project-local state)",
	}
	if o.Store.Type == "dynamodb" {
		k := o.Store.Keys
		store = NewDynamoDBStore(dynamodb.NewFromConfig(cfg), DynamoDBStoreOptions{
			Table:  o.Store.Table,
			Region: cfg.Region,
			Keys: StoreKeys{Aggregate: k.Aggregate, Sort: k.Sort, ID: k.ID, Type: k.Type,
				Data: k.Data, Version: k.Version},
		})
	} else {
		missing[providers.AbilityStore] = "the project has no event-store table: set store.type to dynamodb and store.table in evcli.yaml, then evcli deploy"
	}
	d := NewDeployer(cfg, dopts)
	metrics := NewMetricsSource(cfg, &MetricsOptions{Sleep: sleep, Physical: physical})
	tuner := NewLambdaTuner(cfg, &TunerOptions{Sleep: sleep, Physical: physical})
	p := &providers.Provider{
		Name:       "aws",
		Deployer:   d,
		Shared:     d,
		Bus:        NewEventBus(eventbridge.NewFromConfig(cfg)),
		BusLimits:  providers.PutEventsLimits,
		Logs:       NewLogSource(cfg, LogSourceOptions{Physical: physical, Project: o.Project, OnFallback: func(err error) { o.Warnf("live tail unavailable (%v); polling FilterLogEvents instead", err) }}),
		Metrics:    metrics,
		Totals:     metrics,
		Invoker:    d,
		Router:     d,
		Rollbacker: d,
		Prober:     tuner,
		Memory:     tuner,
		Workflows:  &workflowAbility{d: d, sleep: sleepOr(sleep), poll: time.Second},
		Exporter:   NewExporter(cfg.Region, dopts),
		Missing:    missing,
	}
	if store != nil {
		p.Store = store
	}
	return p, nil
}

// deployerOptions are the Deployer's (and the Exporter's) options from
// Open's: the project, its functions and bus, and the event-store table
// when store.type is dynamodb, created with the keys the store reads (the
// defaults where the options name none).
func deployerOptions(o providers.OpenOptions) DeployerOptions {
	dopts := DeployerOptions{Project: o.Project, Functions: o.Functions, Bus: o.Bus, ArtifactBucket: o.ArtifactBucket,
		LogRetentionDays: o.LogRetentionDays, Sleep: o.Sleep, Workflows: o.Workflows}
	if o.Store.Type == "dynamodb" {
		k := o.Store.Keys
		keys := StoreKeys{Aggregate: k.Aggregate, Sort: k.Sort}
		keys.defaults()
		full := StoreKeys{Aggregate: k.Aggregate, Sort: k.Sort, ID: k.ID, Type: k.Type, Data: k.Data, Version: k.Version}
		full.defaults()
		dopts.Table = &TableSpec{Name: o.Store.Table, PartitionKey: keys.Aggregate, SortKey: keys.Sort, TTLAttribute: k.TTL,
			ID: full.ID, Type: full.Type, Data: full.Data, Version: full.Version, TTLDays: o.Store.TTLDays}
	}
	return dopts
}

// openOffline is the provider opened with o.Offline: the Exporter alone,
// with no credentials checked and no call made.
func openOffline(region string, o providers.OpenOptions) *providers.Provider {
	p := &providers.Provider{Name: "aws", Exporter: NewExporter(region, deployerOptions(o)), Missing: map[providers.Ability]string{}}
	for _, a := range providers.Abilities {
		if !p.Has(a) {
			p.Missing[a] = "the provider was opened offline, for export only"
		}
	}
	return p
}

// checkCredentials retrieves credentials once, so that a missing one is one
// sentence and exit code 4 rather than an SDK error from the first call.
func checkCredentials(ctx context.Context, cfg awssdk.Config, o providers.OpenOptions) error {
	var credErr error
	if cfg.Credentials == nil {
		credErr = errors.New("no credential provider")
	} else if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		credErr = err
	}
	if credErr == nil {
		return nil
	}
	// The SDK's chain errors name providers and files, not secrets.
	o.Debugf("aws credential chain: %v", credErr)
	msg, hint := "no credentials found", `set AWS_PROFILE (or --profile) to a configured profile, run "aws configure", or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`
	if prof := o.Profile; prof != "" {
		msg = fmt.Sprintf("no credentials for profile %q", prof)
		hint = `run "aws sso login --profile ` + prof + `" or check the profile in ~/.aws/config and ~/.aws/credentials`
	}
	return &providers.Error{Code: providers.Unauthenticated, Resource: "aws", Err: errors.New(msg), Hint: hint}
}

func sleepOr(s func(context.Context, time.Duration) error) func(context.Context, time.Duration) error {
	if s == nil {
		return providers.Sleep
	}
	return s
}
