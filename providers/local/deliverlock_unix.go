//go:build unix

package local

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// deliveryLock is a process's shared hold on the delivery lock.
type deliveryLock struct{ f *os.File }

// acquireDeliveryLock takes the shared delivery lock of dir for the calling
// engine's lifetime. When no other holder exists it first runs whileSole
// with the lock held exclusively, and reports sole.
func acquireDeliveryLock(dir string, whileSole func() error) (l *deliveryLock, sole bool, err error) {
	lockPath, gatePath := deliverLockPaths(dir)
	gate, err := os.OpenFile(gatePath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("local provider: delivery lock: %w", err)
	}
	defer gate.Close() // releases the gate
	if err := flock(gate, syscall.LOCK_EX); err != nil {
		return nil, false, fmt.Errorf("local provider: lock %s: %w", gatePath, err)
	}
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("local provider: delivery lock: %w", err)
	}
	switch err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); {
	case err == nil:
		sole = true
		if whileSole != nil {
			if err := whileSole(); err != nil {
				f.Close()
				return nil, false, err
			}
		}
	case !errors.Is(err, syscall.EWOULDBLOCK):
		f.Close()
		return nil, false, fmt.Errorf("local provider: lock %s: %w", lockPath, err)
	}
	// Shared from now on. Converting is not atomic, but every process that
	// could take the lock exclusively in between must hold the gate first.
	if err := flock(f, syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("local provider: lock %s: %w", lockPath, err)
	}
	return &deliveryLock{f}, sole, nil
}

// release drops the lock.
func (l *deliveryLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
