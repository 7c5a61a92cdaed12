package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws"
	"github.com/evcli/evcli/providers/azure"
	"github.com/evcli/evcli/providers/gcp"
	"github.com/evcli/evcli/providers/local"
)

// registry maps a provider's name to its driver's Open. It is the only
// place in cmd that knows the drivers: adding a cloud is a new package, a
// passing providertest suite and one entry here.
var registry = map[string]providers.Opener{
	"local": local.Open,
	"aws":   withProjectState(aws.Open),
	"gcp":   withProjectState(gcp.Open),
	"azure": withProjectState(azure.Open),
}

// translators say what a cloud enforces of a pattern (filter test
// --target), one line each.
var translators = map[string]func(pattern []byte) ([]string, error){
	"gcp":   gcp.Describe,
	"azure": azure.Describe,
}

// evaluators say whether a cloud delivers an event to a rule's function
// under its own filter semantics (filter test --target): delivered, and
// whether the cloud enforces the whole pattern (if not, the in-function
// guard applies the pattern too).
var evaluators = map[string]func(pattern, event []byte) (delivered, enforced bool, err error){
	"azure": azure.Evaluate,
}

// planned are providers users may name that this build does not have yet.
var planned []string

// withProjectState gives a cloud provider the project-local state (replay
// checkpoints under .evcli/) that the local driver keeps.
func withProjectState(open providers.Opener) providers.Opener {
	return func(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
		p, err := open(ctx, o)
		if err != nil || p.State != nil {
			return p, err
		}
		kv, closeKV, err := local.OpenState(o.Dir)
		if err != nil {
			return p, nil // Require(AbilityState) says so where it is needed
		}
		p.State = kv
		p.OnClose(func(context.Context) error { return closeKV() })
		return p, nil
	}
}

// openRegistered opens the named provider from the registry.
func openRegistered(ctx context.Context, name string, o providers.OpenOptions) (*providers.Provider, error) {
	if open, ok := registry[name]; ok {
		return open(ctx, o)
	}
	if slices.Contains(planned, name) {
		return nil, &cmdutil.ExitError{Code: cmdutil.ExitFailure,
			Msg: fmt.Sprintf("provider %q is not in this build yet: it has %s (use --provider local or aws)", name, strings.Join(providerNames(), " and "))}
	}
	msg := fmt.Sprintf("unknown provider %q: use %s", name, strings.Join(append(providerNames(), planned...), ", "))
	if s := suggest(name, append(providerNames(), planned...)); s != "" {
		msg = fmt.Sprintf("unknown provider %q (did you mean %s?): use %s", name, s, strings.Join(append(providerNames(), planned...), ", "))
	}
	return nil, cmdutil.UsageError("%s", msg)
}

// providerNames lists the registered providers, sorted.
func providerNames() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
