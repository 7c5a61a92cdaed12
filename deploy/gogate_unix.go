//go:build unix

package deploy

import (
	"context"
	"os"
	"syscall"
	"time"
)

// lockPath takes an exclusive lock on the file at path, waiting while
// another process holds it (until ctx ends), and returns its release. A
// lock that cannot be taken costs only speed: the release is then a no-op.
func lockPath(ctx context.Context, path string) (unlock func()) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return func() {}
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			f.Close()
			return func() {}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return func() {}
		case <-time.After(lockPollEvery):
		}
	}
}
