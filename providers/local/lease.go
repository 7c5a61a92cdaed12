package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// A Lease is an exclusive hold on a name in the project's state directory
// (a running replay, the project's `local serve`), kept with an OS file
// lock: it ends when the holder releases it or dies, kill -9 and power loss
// included, so a crash never leaves a stale lease to clean up. The lock
// file holds who took it (HeldError).
type Lease struct{ f *os.File }

// HeldError says that another process holds a lease: its pid and when it
// took the lease (zero values when it had not written them yet).
type HeldError struct {
	Name    string
	PID     int
	Started time.Time
}

func (e *HeldError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("%s is held by another evcli process", e.Name)
	}
	return fmt.Sprintf("%s is held by evcli process %d (started %s)", e.Name, e.PID, e.Started.Local().Format(time.RFC3339))
}

// Held reports true: the lease is another process's (replay.Leaser).
func (e *HeldError) Held() bool { return true }

type leaseHolder struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// leasePath is the lock file of name: names are hashed, so any string
// (a replay name with a slash) is a safe file name.
func leasePath(dir, name string) string {
	h := sha256.Sum256([]byte(name))
	return filepath.Join(dir, "leases", hex.EncodeToString(h[:12])+".lock")
}

// AcquireLease takes the lease on name in dir, or returns a *HeldError
// naming its holder.
func AcquireLease(dir, name string) (*Lease, error) {
	p := leasePath(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("local provider: lease %s: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local provider: lease %s: %w", name, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("local provider: lease %s: %w", name, err)
	}
	if held {
		var h leaseHolder
		b, _ := os.ReadFile(p)
		_ = json.Unmarshal(b, &h)
		f.Close()
		return nil, &HeldError{Name: name, PID: h.PID, Started: h.Started}
	}
	b, _ := json.Marshal(leaseHolder{PID: os.Getpid(), Started: time.Now().UTC().Truncate(time.Second)})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(b, 0)
	}
	return &Lease{f}, nil
}

// Release ends the lease.
func (l *Lease) Release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// LeaseKV makes one process at a time the holder of a key of the
// project's KV (replay.KVLeaser: a running replay's name), with an OS file
// lock that a crash releases; the error of a refusal is a *HeldError.
func (a *stateAbility) LeaseKV(ctx context.Context, ns, key string) (func(), error) {
	l, err := AcquireLease(a.o.Dir, ns+" "+key)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}
