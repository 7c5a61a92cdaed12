package deploy

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// stepper reports a function's packaging steps: each new step at once, and
// the current one again every ProgressEvery while it lasts, so a display
// shows elapsed time during a long compile or download.
type stepper struct {
	mu     sync.Mutex
	report func(string)
	cur    string
	done   chan struct{}
	ended  bool
}

func newStepper(report func(string)) *stepper {
	s := &stepper{report: report, done: make(chan struct{})}
	go s.tick()
	return s
}

func (s *stepper) tick() {
	t := time.NewTicker(ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.mu.Lock()
			if !s.ended && s.cur != "" {
				s.report(s.cur)
			}
			s.mu.Unlock()
		}
	}
}

// set starts step (a repeat of the current step is ignored).
func (s *stepper) set(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || step == s.cur {
		return
	}
	s.cur = step
	s.report(step)
}

// stop ends the reports; after it returns, report is not called again.
func (s *stepper) stop() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	close(s.done)
}

// downloadWatcher is the go command's stderr: its first "go: downloading"
// line reports StepDownloading (which stays the step until the build ends:
// the go command does not say when downloads are over).
type downloadWatcher struct {
	mu   sync.Mutex
	step func(string)
	seen bool
	line []byte
}

func (w *downloadWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		if bytes.HasPrefix(w.line[:i], []byte("go: downloading ")) {
			w.seen = true
			w.line = nil
			w.step(StepDownloading)
			return len(p), nil
		}
		w.line = w.line[i+1:]
	}
	return len(p), nil
}

// lockedWriter serialises the writes of a command's stdout and stderr.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
