package cmdutil

import (
	"context"

	"github.com/evcli/evcli/providers"
)

// Opener opens what a command needs from the provider the project (or
// --provider) names. Fields are set by cmd's wiring; tests replace them with
// fakes.
type Opener struct {
	// EventStore opens the project's event store.
	EventStore func(ctx context.Context) (providers.EventStore, error)
	// LogSource opens the provider's log source.
	LogSource func(ctx context.Context) (providers.LogSource, error)
	// Metrics opens the provider's metrics source.
	Metrics func(ctx context.Context) (providers.MetricsSource, error)
	// EventBus opens the provider's event bus (publishing).
	EventBus func(ctx context.Context) (providers.EventBus, error)
	// Invoker opens the provider's synchronous invoke.
	Invoker func(ctx context.Context) (providers.Invoker, error)
}
