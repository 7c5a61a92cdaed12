package local

import "path/filepath"

// Delivery lock files in the state directory. Every process that delivers
// events from the store (an Engine, in a command or in `evcli local serve`)
// holds a shared flock on deliverLockFile for its lifetime. At Start it
// first tries to take it exclusively: success means no other process is
// delivering, so deliveries recorded as neither ok nor failed were lost with
// a killed process and are this process's to redeliver. deliverGateFile
// serialises that test-and-downgrade (flock cannot downgrade atomically),
// so two processes starting at once cannot both believe they are alone.
const (
	deliverLockFile = "deliver.lock"
	deliverGateFile = "deliver.gate"
)

func deliverLockPaths(dir string) (lock, gate string) {
	return filepath.Join(dir, deliverLockFile), filepath.Join(dir, deliverGateFile)
}
