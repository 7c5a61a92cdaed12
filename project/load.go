package project

import "errors"

// LoadOptions are the overrides applied on top of the file:
// Flags (non-empty values) > EVCLI_* variables in Environ > file > defaults.
type LoadOptions struct {
	Flags   map[string]string // keys: provider, region
	Environ []string          // KEY=VALUE, as os.Environ
}

// Load reads, validates and returns the project file at path.
func Load(path string, o LoadOptions) (*Project, error) {
	return nil, errors.New("project loading: not implemented yet")
}
