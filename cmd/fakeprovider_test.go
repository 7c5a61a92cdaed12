package cmd

import (
	"context"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
)

// openAs returns an OpenFunc that opens, whatever provider is asked for, the
// Provider build makes: tests give commands fake abilities this way. The
// Provider is named after the provider asked for unless build names it.
// The events a fake bus accepts go nowhere unless the test says so.
func openAs(build func() *providers.Provider) cmdutil.OpenFunc {
	return func(ctx context.Context, name string, o providers.OpenOptions) (*providers.Provider, error) {
		p := build()
		if p.Name == "" {
			p.Name = name
			p.Private = name == "local" // as the registry's local driver says
		}
		return p, nil
	}
}
