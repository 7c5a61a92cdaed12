package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/workflow"
)

// providerName is the project's provider after --provider, evcli.yaml and
// the default (local).
func providerName(p *project.Project) string {
	if p == nil || p.Provider == "" {
		return "local"
	}
	return p.Provider
}

// openOptions are the plain values a driver's Open takes, from the project
// and the global flags.
func openOptions(f *cmdutil.Factory, p *project.Project) providers.OpenOptions {
	k := p.Store.Keys
	o := providers.OpenOptions{
		Project: p.Name, Dir: p.Dir, Region: p.Region, Profile: f.Globals.Profile, Bus: p.Bus,
		CloudProject: p.GCP.Project, InFunctionGuard: p.GCP.Guard == project.GuardInFunction,
		Subscription: p.Azure.Subscription, ResourceGroup: p.Azure.ResourceGroup, Location: p.Azure.Location,
		Store: providers.StoreSpec{Type: p.Store.Type, Table: p.Store.Table, Keys: providers.StoreKeys{
			Aggregate: k.Aggregate, Sort: k.Sort, ID: k.ID, Type: k.Type, Data: k.Data, Version: k.Version, TTL: k.TTL}, TTLDays: p.Store.TTLDays},
		Now: f.Now, Sleep: f.Sleep, Getenv: f.Getenv, Warn: f.IO.ErrOut,
	}
	for _, fn := range p.Functions {
		o.Functions = append(o.Functions, fn.Name)
	}
	o.Workflows = workflow.Specs(p)
	if f.Globals.Debug {
		o.Debug = f.IO.ErrOut
	}
	return o
}

// openProvider opens the project's provider and checks, before any work
// starts, that it has the abilities the command needs (exit 2 with the
// driver's reason otherwise). The caller closes it. mod, when given,
// adjusts the options (deploy's settings).
func openProvider(ctx context.Context, f *cmdutil.Factory, p *project.Project, need []providers.Ability, mod ...func(*providers.OpenOptions)) (*providers.Provider, error) {
	o := openOptions(f, p)
	for _, m := range mod {
		m(&o)
	}
	prov, err := f.OpenProvider(ctx, providerName(p), o)
	if err != nil {
		return nil, err
	}
	if err := prov.Require(need...); err != nil {
		_ = prov.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return prov, nil
}

// waiter is what a command waits with: the streams where it says what it
// waits for, and its clock (the Factory's; fakes in tests).
type waiter struct {
	IO    *cmdutil.IOStreams
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

func waiterOf(f *cmdutil.Factory) waiter { return waiter{IO: f.IO, Now: f.Now, Sleep: f.Sleep} }

// closeProvider closes prov when the command ends. First it waits for the
// deliveries the command caused that still run in this process
// (waitForDeliveries): it hands them to a running `evcli local serve` if
// one answers, and otherwise says what it waits for. Close then lets an
// in-process provider finish whatever is left; ctx ending (Ctrl-C,
// SIGTERM, or a --timeout the command passes as ctx) stops that wait too:
// the local provider leaves what is pending to the next evcli process and
// says so (printed here), and the command ends with ctx's error (exit 130
// on Ctrl-C) unless something failed first. Otherwise a close failure is
// reported when nothing else failed.
func closeProvider(ctx context.Context, w waiter, prov *providers.Provider, errp *error) {
	werr := waitForDeliveries(ctx, w, prov.Drainer)
	err := prov.Close(ctx)
	if werr != nil {
		err = errors.Join(werr, err)
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		fmt.Fprintln(w.IO.ErrOut, err)
		if *errp == nil {
			*errp = ctx.Err()
		}
	case *errp == nil:
		*errp = err
	}
}

// How waitForDeliveries checks for a server to hand deliveries to, and
// when it says what it is waiting for.
const (
	drainTick        = time.Second
	drainNoticeAfter = time.Second
	drainNoticeEvery = 5 * time.Second
)

// waitForDeliveries waits until d has nothing pending, or ctx ends. Every
// drainTick it asks d to hand what is pending to a running `evcli local
// serve`, and returns as soon as one took it, saying so; otherwise it says
// after drainNoticeAfter, then every drainNoticeEvery, how many deliveries
// it is waiting for. The error is a failed hand-off's.
func waitForDeliveries(ctx context.Context, w waiter, d providers.Drainer) error {
	if d == nil || d.Pending() == 0 {
		return nil
	}
	now, sleep := w.Now, w.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = providers.Sleep
	}
	// The drain's end wakes the loop at once instead of at its next tick.
	wake, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Drain(wake)
		stop()
	}()
	defer func() { stop(); <-done }()
	next := now().Add(drainNoticeAfter)
	for {
		n := d.Pending()
		if n == 0 || ctx.Err() != nil {
			return nil
		}
		h, ok, err := d.HandOff(ctx)
		if ok {
			if err != nil {
				return err
			}
			fmt.Fprintf(w.IO.ErrOut, "handed %s to %s, which delivers them; follow them with: evcli tail\n", deliveries(h.Deliveries), h.To)
			return nil
		}
		if t := now(); !t.Before(next) {
			fmt.Fprintf(w.IO.ErrOut, "waiting for %s to finish… (Ctrl-C leaves them to the next evcli command that delivers; a running evcli local serve takes them over)\n", deliveries(n))
			next = t.Add(drainNoticeEvery)
		}
		_ = sleep(wake, drainTick)
	}
}

// deliveries is "1 delivery" or "N deliveries".
func deliveries(n int) string {
	if n == 1 {
		return "1 delivery"
	}
	return fmt.Sprintf("%d deliveries", n)
}
