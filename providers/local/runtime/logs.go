package runtime

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

// maxLineBytes splits longer lines, as CloudWatch Logs does at 256 KB.
const maxLineBytes = 256 * 1024

// MaxLogBytes caps the handler output one invocation keeps (its log lines
// in the store and its log tail): 256 KB, CloudWatch Logs' limit on one
// event. The rest is read and dropped, so that evcli's memory and the
// store stay flat however much a handler prints, and one line says how
// much was dropped.
const MaxLogBytes = 256 * 1024

// report is the data of a REPORT line.
type report struct {
	RequestID    string
	DurationMs   float64
	BilledMs     int64
	MemorySizeMB int
	MaxMemoryMB  int
	InitMs       float64 // 0: warm
	Status       string  // "", "timeout", "error"
	ErrorType    string  // with Status "error"
}

// String formats r as Lambda writes it to CloudWatch Logs, fields separated
// by tabs.
func (r report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.RequestID, r.DurationMs, r.BilledMs, r.MemorySizeMB, r.MaxMemoryMB)
	if r.InitMs > 0 {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", r.InitMs)
	}
	if r.Status != "" {
		fmt.Fprintf(&b, "\tStatus: %s", r.Status)
		if r.ErrorType != "" {
			fmt.Fprintf(&b, "\tError Type: %s", r.ErrorType)
		}
	}
	return b.String()
}

func formatStart(id string) string { return "START RequestId: " + id + " Version: $LATEST" }
func formatEnd(id string) string   { return "END RequestId: " + id }

// formatInitReport is the line Lambda writes when the init phase fails.
func formatInitReport(initMs float64, errorType string) string {
	status := "error"
	if errorType == "Sandbox.Timedout" {
		status = "timeout"
	}
	s := fmt.Sprintf("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: %s", initMs, status)
	if status == "error" && errorType != "" {
		s += "\tError Type: " + errorType
	}
	return s
}

// logPipe reads an instance's stdout and stderr (one pipe, so their order is
// kept) and turns them into LogLines tagged with the current request id.
//
// Every read of the pipe happens with mu held, both in the background
// reader and when an invocation flushes: a handler's output written before
// it posted its response is therefore always emitted before END.
type logPipe struct {
	f  *os.File
	rc syscall.RawConn
	in *instance

	mu      sync.Mutex
	buf     []byte
	partial []byte
	tag     string      // request id for lines read now
	corr    string      // and its invocation's correlation id
	cur     *invocation // lines are collected into cur.logs while cur.collect
	eof     bool
	closed  bool
}

func newLogPipe(f *os.File, in *instance) *logPipe {
	p := &logPipe{f: f, in: in, buf: make([]byte, 64*1024)}
	p.rc, _ = f.SyscallConn()
	return p
}

// run reads until EOF; lines are emitted as they come.
func (p *logPipe) run() {
	if p.rc == nil {
		return
	}
	_ = p.rc.Read(func(fd uintptr) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.drainLocked(int(fd))
	})
}

// drainLocked reads what the pipe holds; it reports true at EOF.
func (p *logPipe) drainLocked(fd int) bool {
	if p.eof || p.closed {
		return true
	}
	for {
		n, err := readFD(fd, p.buf)
		if n > 0 {
			p.consumeLocked(p.buf[:n])
			continue
		}
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return false
		}
		p.eof = true
		p.flushPartialLocked()
		return true
	}
}

func (p *logPipe) flushLocked() {
	if p.eof || p.closed || p.rc == nil {
		return
	}
	_ = p.rc.Control(func(fd uintptr) { p.drainLocked(int(fd)) })
}

func (p *logPipe) consumeLocked(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			for len(p.partial) >= maxLineBytes {
				p.outputLocked(p.partial[:maxLineBytes])
				p.partial = append(p.partial[:0], p.partial[maxLineBytes:]...)
			}
			return
		}
		if len(p.partial) > 0 {
			p.partial = append(p.partial, b[:i]...)
			p.outputLocked(p.partial)
			p.partial = p.partial[:0]
		} else {
			p.outputLocked(b[:i])
		}
		b = b[i+1:]
	}
}

func (p *logPipe) flushPartialLocked() {
	if len(p.partial) > 0 {
		p.outputLocked(p.partial)
		p.partial = p.partial[:0]
	}
}

// outputLocked emits one line of handler output, unless the current
// invocation has already kept MaxLogBytes: then it only counts it.
func (p *logPipe) outputLocked(line []byte) {
	if inv := p.cur; inv != nil {
		if inv.logBytes+len(line) > MaxLogBytes {
			inv.droppedBytes += int64(len(line)) + 1
			inv.droppedN++
			return
		}
		inv.logBytes += len(line) + 1
	}
	p.emitLocked(string(line))
}

// droppedLocked says, at the end of inv, how much of its output was dropped.
func (p *logPipe) droppedLocked(inv *invocation) {
	if inv.droppedN == 0 {
		return
	}
	p.emitLocked(fmt.Sprintf("evcli: %d bytes of output in %d lines dropped: an invocation keeps at most %d KB of log output, the size of one CloudWatch Logs event",
		inv.droppedBytes, inv.droppedN, MaxLogBytes/1024))
	inv.droppedBytes, inv.droppedN = 0, 0
}

// emitLocked writes one line. A trailing \r is dropped and inner ones become
// newlines: the Node.js and Python runtimes write a multi-line message as one
// line with \r for \n, so that it stays one record.
func (p *logPipe) emitLocked(text string) {
	text = strings.TrimSuffix(text, "\r")
	if strings.IndexByte(text, '\r') >= 0 {
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	if p.cur != nil && p.cur.collect {
		p.cur.logs = append(p.cur.logs, text)
	}
	if fn := p.in.m.o.Logs; fn != nil {
		fn(LogLine{Time: p.in.m.o.Now(), Function: p.in.spec.Name, RequestID: p.tag, InstanceID: p.in.id, Text: text, CorrelationID: p.corr})
	}
}

// begin tags lines with inv's request id and collects them (the init output
// of a cold start).
func (p *logPipe) begin(inv *invocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tag, p.corr, p.cur = inv.id, inv.opt.CorrelationID, inv
	inv.collect = true
}

// start writes START for inv after the output so far, once.
func (p *logPipe) start(inv *invocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startLocked(inv)
}

func (p *logPipe) startLocked(inv *invocation) {
	if inv.started {
		return
	}
	p.flushLocked()
	if p.cur != inv {
		p.tag, p.corr, p.cur = inv.id, inv.opt.CorrelationID, inv
		inv.collect = true
	}
	inv.started = true
	p.emitLocked(formatStart(inv.id))
}

// end writes the output so far, then the given lines, END and REPORT, and
// returns inv's lines.
func (p *logPipe) end(inv *invocation, initReport string, errLines []string, reportLine string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if initReport != "" && !inv.started {
		p.flushLocked()
		p.tag, p.corr, p.cur = inv.id, inv.opt.CorrelationID, inv
		inv.collect = true
		p.emitLocked(initReport)
	}
	p.startLocked(inv)
	p.flushLocked()
	p.flushPartialLocked()
	p.droppedLocked(inv)
	for _, l := range errLines {
		p.emitLocked(l)
	}
	p.emitLocked(formatEnd(inv.id))
	p.emitLocked(reportLine)
	inv.collect = false
	return inv.logs
}

// close emits what is left and closes the pipe.
func (p *logPipe) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.flushLocked()
	p.flushPartialLocked()
	p.closed = true
	p.mu.Unlock()
	// Not under mu: Close waits for the reader, which may be waiting for mu.
	p.f.Close()
}
