//go:build !unix

package deploy

import "context"

// lockPath is a no-op where flock is not available: concurrent evcli
// processes then compile shared dependencies each, as go build does.
func lockPath(context.Context, string) func() { return func() {} }
