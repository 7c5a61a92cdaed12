package cmd

import (
	"context"
	"fmt"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
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
		Store: providers.StoreSpec{Type: p.Store.Type, Table: p.Store.Table, Keys: providers.StoreKeys{
			Aggregate: k.Aggregate, Sort: k.Sort, ID: k.ID, Type: k.Type, Data: k.Data, Version: k.Version, TTL: k.TTL}, TTLDays: p.Store.TTLDays},
		Now: f.Now, Sleep: f.Sleep, Getenv: f.Getenv, Warn: f.IO.ErrOut,
	}
	for _, fn := range p.Functions {
		o.Functions = append(o.Functions, fn.Name)
	}
	for _, w := range p.Workflows {
		o.Workflows = append(o.Workflows, providers.WorkflowSpec{Name: w.Name, Type: w.Type, Definition: w.Definition})
	}
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

// closeProvider closes prov when the command ends. Close lets an
// in-process provider finish the deliveries the command caused; ctx ending
// (Ctrl-C, SIGTERM, or a --timeout the command passes as ctx) stops that
// wait too: the local provider leaves what is pending to the next evcli
// process and says so (printed here), and the command ends with ctx's
// error (exit 130 on Ctrl-C) unless something failed first. Otherwise a
// close failure is reported when nothing else failed.
func closeProvider(ctx context.Context, io *cmdutil.IOStreams, prov *providers.Provider, errp *error) {
	err := prov.Close(ctx)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		fmt.Fprintln(io.ErrOut, err)
		if *errp == nil {
			*errp = ctx.Err()
		}
	case *errp == nil:
		*errp = err
	}
}
