package cmd

import (
	"context"
	"fmt"
	"path/filepath"

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

// providerOf returns the project's provider, refusing the ones whose driver
// has not landed yet before any work starts.
func providerOf(p *project.Project, what string) error {
	switch p.Provider {
	case "", "local":
		return nil
	case "aws", "gcp", "azure":
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure,
			Msg: fmt.Sprintf("%s on provider %q is not implemented yet: only the local provider is available in this build", what, p.Provider)}
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
				return awsprov.OpenEventBus(ctx, awsOptions(f, p))
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
