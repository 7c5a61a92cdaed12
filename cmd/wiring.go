package cmd

import "github.com/evcli/evcli/cmd/cmdutil"

// wireProviders points the Factory at the registry unless a test has
// replaced it.
func wireProviders(f *cmdutil.Factory) {
	if f.OpenProvider == nil {
		f.OpenProvider = openRegistered
	}
}
