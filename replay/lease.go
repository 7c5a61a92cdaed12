package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Leaser is an optional ability of Checkpoints: a replay name is a lease.
// Run takes the lease on its name before it reads the record and holds it
// until its last checkpoint is written, so a second process asking for a
// running replay (a --resume, or a new replay of the same name) is refused
// instead of publishing the same events again. The local implementation
// holds an OS file lock, which a crash (kill -9) releases with the process:
// a replay killed that way is taken over by the next --resume at once.
type Leaser interface {
	// Lease takes the lease on name, or fails; when another process holds
	// it, the error has a method Held() bool that returns true, and says
	// who holds it. Run then returns a *RunningError (ErrRunning).
	Lease(ctx context.Context, name string) (release func(), err error)
}

// ErrRunning is wrapped by the error Run returns when another process is
// running the replay.
var ErrRunning = errors.New("replay is running")

// RunningError says that the replay Name is running elsewhere; Holder is
// what the lease said of its holder (pid, start time).
type RunningError struct {
	Name   string
	Holder error
}

func (e *RunningError) Error() string {
	return fmt.Sprintf("replay %s is running: %v. Wait for it to finish, or stop it (Ctrl-C in its terminal, or kill that process) and continue it with evcli replay --resume %s; a replay whose process crashed holds nothing, and --resume takes it over at once",
		e.Name, e.Holder, e.Name)
}

func (e *RunningError) Unwrap() []error { return []error{ErrRunning, e.Holder} }

// DefaultName names a replay started at now without --name:
// replay-YYYYMMDD-HHMMSS-xxxxxx, with 24 random bits, so that replays
// started in the same second by different processes never share a name.
func DefaultName(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return "replay-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Lease implements Leaser with the KV store's LeaseKV; without it, every
// name is free.
func (c KVCheckpoints) Lease(ctx context.Context, name string) (func(), error) {
	if l, ok := c.KV.(KVLeaser); ok {
		return l.LeaseKV(ctx, KVNamespace, name)
	}
	return func() {}, nil
}

// Lease implements Leaser within the process (tests).
func (m *MemCheckpoints) Lease(ctx context.Context, name string) (func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leased == nil {
		m.leased = map[string]bool{}
	}
	if m.leased[name] {
		return nil, memHeld(name)
	}
	m.leased[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.leased, name)
			m.mu.Unlock()
		})
	}, nil
}

var (
	_ Leaser = KVCheckpoints{}
	_ Leaser = (*MemCheckpoints)(nil)
)

type memHeld string

func (m memHeld) Error() string { return string(m) + " is held by this process" }
func (memHeld) Held() bool      { return true }
