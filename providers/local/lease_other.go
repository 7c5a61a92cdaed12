//go:build !unix

package local

import "os"

// tryLock always succeeds where flock is not available: leases are then
// advisory only.
func tryLock(*os.File) (bool, error) { return false, nil }
