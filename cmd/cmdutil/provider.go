package cmdutil

import (
	"context"

	"github.com/evcli/evcli/providers"
)

// OpenFunc opens the provider called name. cmd's registry is the real one;
// tests replace it with providers whose abilities are fakes.
type OpenFunc func(ctx context.Context, name string, o providers.OpenOptions) (*providers.Provider, error)
