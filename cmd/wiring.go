package cmd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	awsprov "github.com/evcli/evcli/providers/aws"
	"github.com/evcli/evcli/providers/local"
	"github.com/evcli/evcli/providers/local/bus"
	"github.com/evcli/evcli/providers/local/store"
	"github.com/evcli/evcli/tune"
)

// stateDir is where the local provider keeps a project's state.
func stateDir(p *project.Project) string {
	dir := filepath.Join(p.Dir, ".evcli")
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// awsCommands are the commands the AWS driver serves (tail, replay and tune
// open their AWS sources themselves).
var awsCommands = map[string]bool{"deploy": true, "send": true, "invoke": true, "rollback": true, "publishing events": true}

// providerOf checks the project's provider for what (a command), refusing
// the ones whose driver has not landed yet before any work starts.
func providerOf(p *project.Project, what string) error {
	switch p.Provider {
	case "", "local":
		return nil
	case "aws":
		if awsCommands[what] {
			return nil
		}
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure,
			Msg: fmt.Sprintf("%s on provider \"aws\" is not available: it runs on the local provider only", what)}
	case "gcp", "azure":
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure,
			Msg: fmt.Sprintf("%s on provider %q is not implemented yet: this build has the local and aws providers (use --provider local or aws)", what, p.Provider)}
	}
	return cmdutil.UsageError("unknown provider %q: use local, aws, gcp or azure", p.Provider)
}

func localOptions(f *cmdutil.Factory, p *project.Project) local.Options {
	o := local.Options{Dir: stateDir(p), Region: p.Region, Getenv: f.Getenv}
	if f.Globals.Debug {
		o.Logf = func(format string, args ...any) { fmt.Fprintf(f.IO.ErrOut, "debug: "+format+"\n", args...) }
	}
	return o
}

// openStore opens the local store of the project read/write.
func openStore(f *cmdutil.Factory, what string) (*store.DB, error) {
	p, err := f.Project()
	if err != nil {
		return nil, err
	}
	if err := providerOf(p, what); err != nil {
		return nil, err
	}
	return store.Open(stateDir(p))
}

// sessionBus publishes through a local session (replay's EventBus), all in
// one flow, so that replay --wait can wait for every delivery it caused.
type sessionBus struct {
	f    *cmdutil.Factory
	s    local.Session
	flow string
}

func (b *sessionBus) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	return b.s.Publish(ctx, b.flow, bus, evs)
}

// Published implements replayWaiter: the flow already holds every batch.
func (b *sessionBus) Published(context.Context, []providers.Event) {}

// Wait implements replayWaiter: it waits for the flow's deliveries and
// prints them as send --wait does.
func (b *sessionBus) Wait(ctx context.Context) error {
	dels, err := b.s.Wait(ctx, b.flow)
	if err != nil {
		return err
	}
	if failed := printDeliveries(b.f, b.f.Globals.JSON(), nil, dels); failed > 0 {
		fmt.Fprintf(b.f.IO.ErrOut, "%d of %d deliveries failed\n", failed, len(dels))
	}
	return nil
}

// Close ends the session; an in-process one first lets its deliveries finish.
func (b *sessionBus) Close(ctx context.Context) error { return b.s.Close(ctx) }

func awsOptions(f *cmdutil.Factory, p *project.Project) awsprov.Options {
	return awsprov.Options{Region: p.Region, Profile: f.Globals.Profile}
}

// awsConfig loads the AWS configuration and makes sure credentials exist, so
// that a missing credential is one sentence and exit code 4 before any work
// starts rather than an SDK error from the first call. Neither credentials
// nor environment values are ever printed, also not with --debug.
func awsConfig(ctx context.Context, f *cmdutil.Factory, p *project.Project) (awssdk.Config, error) {
	cfg, err := awsprov.LoadConfig(ctx, awsOptions(f, p))
	if err != nil {
		return cfg, err
	}
	var credErr error
	if cfg.Credentials == nil {
		credErr = errors.New("no credential provider")
	} else if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return cfg, ctx.Err()
		}
		credErr = err
	}
	if credErr != nil {
		if f.Globals.Debug {
			// The SDK's chain errors name providers and files, not secrets.
			fmt.Fprintf(f.IO.ErrOut, "debug: aws credential chain: %v\n", credErr)
		}
		msg, hint := "no credentials found", `set AWS_PROFILE (or --profile) to a configured profile, run "aws configure", or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`
		if prof := f.Globals.Profile; prof != "" {
			msg = fmt.Sprintf("no credentials for profile %q", prof)
			hint = `run "aws sso login --profile ` + prof + `" or check the profile in ~/.aws/config and ~/.aws/credentials`
		}
		return cfg, &providers.Error{Code: providers.Unauthenticated, Resource: "aws", Err: errors.New(msg), Hint: hint}
	}
	return cfg, nil
}

// awsDriver is what the AWS deployer offers deploy, rollback and invoke.
type awsDriver interface {
	providers.Deployer
	providers.SharedDeployer
	providers.Rollbacker
	providers.Invoker
}

// awsDeployFlags are deploy's AWS-only flags.
type awsDeployFlags struct {
	ArtifactBucket   string
	LogRetentionDays int
}

// defaultLogRetentionDays is --log-retention's default.
const defaultLogRetentionDays = 14

// openAWSDriver opens the AWS deployer for the project. Tests replace it
// with a fake (not in parallel tests).
var openAWSDriver = func(ctx context.Context, f *cmdutil.Factory, p *project.Project, fl awsDeployFlags) (awsDriver, error) {
	cfg, err := awsConfig(ctx, f, p)
	if err != nil {
		return nil, err
	}
	return newAWSDeployer(cfg, f, p, fl), nil
}

// wireProviders fills the openers a test has not replaced.
func wireProviders(f *cmdutil.Factory) {
	o := &f.Open
	if o.EventStore == nil {
		o.EventStore = func(ctx context.Context) (providers.EventStore, error) {
			p, err := f.Project()
			if err == nil && p.Provider == "aws" {
				if p.Store.Type != "dynamodb" {
					return nil, cmdutil.UsageError("the aws provider reads a dynamodb event store; evcli.yaml's store.type is %q", p.Store.Type)
				}
				k := p.Store.Keys
				return awsprov.OpenDynamoDBStore(ctx, awsOptions(f, p), awsprov.DynamoDBStoreOptions{
					Table: p.Store.Table,
					Keys: awsprov.StoreKeys{Aggregate: k.Aggregate, Sort: k.Sort, ID: k.ID, Type: k.Type,
						Data: k.Data, Version: k.Version},
				})
			}
			return openStore(f, "reading the event store")
		}
	}
	if o.LogSource == nil {
		o.LogSource = func(ctx context.Context) (providers.LogSource, error) {
			p, err := f.Project()
			if err == nil && p.Provider == "aws" {
				cfg, err := awsprov.LoadConfig(ctx, awsOptions(f, p))
				if err != nil {
					return nil, err
				}
				return awsprov.NewLogSource(cfg, awsprov.LogSourceOptions{OnFallback: func(err error) {
					fmt.Fprintf(f.IO.ErrOut, "warning: live tail unavailable (%v); polling FilterLogEvents instead\n", err)
				}}), nil
			}
			return openStore(f, "tail")
		}
	}
	if o.Metrics == nil {
		o.Metrics = func(ctx context.Context) (providers.MetricsSource, error) { return openStore(f, "tune memory") }
	}
	if o.EventBus == nil {
		o.EventBus = func(ctx context.Context) (providers.EventBus, error) {
			p, err := f.Project()
			if err != nil {
				return nil, err
			}
			if p.Provider == "aws" {
				cfg, err := awsConfig(ctx, f, p)
				if err != nil {
					return nil, err
				}
				return awsprov.NewEventBus(eventbridge.NewFromConfig(cfg)), nil
			}
			if err := providerOf(p, "publishing events"); err != nil {
				return nil, err
			}
			s, err := local.Connect(ctx, localOptions(f, p))
			if err != nil {
				return nil, err
			}
			return &sessionBus{f: f, s: s, flow: bus.NewUUID()}, nil
		}
	}
	if o.Invoker == nil {
		o.Invoker = func(ctx context.Context) (providers.Invoker, error) {
			p, err := f.Project()
			if err != nil {
				return nil, err
			}
			if err := providerOf(p, "invoke"); err != nil {
				return nil, err
			}
			if p.Provider == "aws" {
				return openAWSDriver(ctx, f, p, awsDeployFlags{LogRetentionDays: defaultLogRetentionDays})
			}
			return local.Connect(ctx, localOptions(f, p))
		}
	}
}

func init() {
	localTuneProber = func(ctx context.Context, f *cmdutil.Factory, p *project.Project) (tune.Prober, error) {
		t := local.NewTuner(localOptions(f, p))
		t.Notef = func(format string, args ...any) { fmt.Fprintf(f.IO.ErrOut, "warning: "+format+"\n", args...) }
		return t, nil
	}
	localTuneApplier = func(ctx context.Context, f *cmdutil.Factory, p *project.Project) (tune.Applier, error) {
		return local.NewTuner(localOptions(f, p)), nil
	}
}

// newAWSDeployer builds the AWS driver's deployer for the project: the bus,
// the event-store table when store.type is dynamodb, and deploy's flags.
func newAWSDeployer(cfg awssdk.Config, f *cmdutil.Factory, p *project.Project, fl awsDeployFlags) awsDriver {
	o := awsprov.DeployerOptions{Project: p.Name, Bus: p.Bus, ArtifactBucket: fl.ArtifactBucket,
		LogRetentionDays: fl.LogRetentionDays, Sleep: f.Sleep}
	if p.Store.Type == "dynamodb" {
		k := p.Store.Keys
		o.Table = &awsprov.TableSpec{Name: p.Store.Table, PartitionKey: k.Aggregate, SortKey: k.Sort, TTLAttribute: k.TTL}
	}
	return awsprov.NewDeployer(cfg, o)
}
