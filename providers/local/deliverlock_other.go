//go:build !unix

package local

// deliveryLock is a no-op where flock is not available: such builds never
// redeliver, since they cannot tell whether another process is delivering.
type deliveryLock struct{}

func acquireDeliveryLock(dir string, whileSole func() error) (*deliveryLock, bool, error) {
	return &deliveryLock{}, false, nil
}

func (l *deliveryLock) release() {}
