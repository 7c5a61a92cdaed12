package local

import (
	"context"
	"sync"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// logBatcher collects log lines from the runtime (called synchronously per
// line) and writes them to the store in batches, at most flushEvery apart,
// so a busy function does not pay one SQLite transaction per line.
type logBatcher struct {
	db   *store.DB
	logf func(string, ...any)

	mu      sync.Mutex
	pending []providers.LogLine
	kick    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	writeMu sync.Mutex // orders writes: flush() and the loop
}

const (
	flushEvery = 25 * time.Millisecond
	flushSize  = 512
)

func newLogBatcher(db *store.DB, logf func(string, ...any)) *logBatcher {
	b := &logBatcher{db: db, logf: logf, kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go b.loop()
	return b
}

func (b *logBatcher) add(l providers.LogLine) {
	b.mu.Lock()
	b.pending = append(b.pending, l)
	n := len(b.pending)
	b.mu.Unlock()
	if n >= flushSize {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

func (b *logBatcher) loop() {
	defer close(b.stopped)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			b.flush()
			return
		case <-t.C:
		case <-b.kick:
		}
		b.flush()
	}
}

// flush writes what is pending now.
func (b *logBatcher) flush() {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	lines := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	if err := b.db.AppendLogs(context.Background(), lines); err != nil {
		b.logf("local provider: store %d log lines: %v", len(lines), err)
	}
}

func (b *logBatcher) close() {
	select {
	case <-b.done:
	default:
		close(b.done)
	}
	<-b.stopped
}
