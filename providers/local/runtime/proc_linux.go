//go:build linux

package runtime

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux platform Go supports.
const clockTicks = 100

// procStats measures an instance's process tree from /proc: resident memory
// (current and peak) and CPU time.
type procStats struct {
	pid int

	mu      sync.Mutex
	peak    int64 // KB
	desc    []int // descendants found at the last full scan
	cpuSeen time.Duration
	buf     []byte
}

func newProcStats(pid int) *procStats {
	return &procStats{pid: pid, buf: make([]byte, 4096)}
}

// sample returns the tree's resident memory in KB and updates the peak. The
// root's own peak comes from VmHWM, which the kernel keeps, so spikes
// between samples are not missed; descendants are rediscovered when full.
func (p *procStats) sample(full bool) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	rss, hwm, ok := p.status(p.pid)
	if !ok {
		return 0
	}
	if full {
		p.desc = p.descendants(p.pid, p.desc[:0])
	}
	total, peak := rss, hwm
	for _, c := range p.desc {
		if r, _, ok := p.status(c); ok {
			total += r
			peak += r
		}
	}
	p.peak = max(p.peak, peak, total)
	return total
}

func (p *procStats) peakKB() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// peakMB is the peak in MB, rounded up.
func (p *procStats) peakMB() int {
	return int((p.peakKB() + 1023) / 1024)
}

// cpuDelta returns the CPU time (user+system) the tree used since the last
// call. Reaped children count through cutime/cstime.
func (p *procStats) cpuDelta() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	total, ok := p.cpu(p.pid, true)
	if !ok {
		return 0
	}
	for _, c := range p.desc {
		if t, ok := p.cpu(c, false); ok {
			total += t
		}
	}
	d := total - p.cpuSeen
	if d < 0 {
		d = 0
	}
	p.cpuSeen = total
	return d
}

func (p *procStats) read(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	n, _ := f.Read(p.buf)
	return p.buf[:n]
}

func (p *procStats) status(pid int) (rss, hwm int64, ok bool) {
	b := p.read("/proc/" + strconv.Itoa(pid) + "/status")
	if b == nil {
		return 0, 0, false
	}
	hwm = kbField(b, "VmHWM:")
	rss = kbField(b, "VmRSS:")
	return rss, max(hwm, rss), true
}

func kbField(b []byte, name string) int64 {
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return 0
	}
	b = b[i+len(name):]
	b = bytes.TrimLeft(b, " \t")
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func (p *procStats) cpu(pid int, withChildren bool) (time.Duration, bool) {
	b := p.read("/proc/" + strconv.Itoa(pid) + "/stat")
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	// After the command: state(0) ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime(11) stime(12) cutime(13) cstime(14).
	if len(fields) < 15 {
		return 0, false
	}
	sum := func(idx ...int) int64 {
		var t int64
		for _, k := range idx {
			v, _ := strconv.ParseInt(string(fields[k]), 10, 64)
			t += v
		}
		return t
	}
	ticks := sum(11, 12)
	if withChildren {
		ticks += sum(13, 14)
	}
	return time.Duration(ticks) * time.Second / clockTicks, true
}

// descendants appends the pids below pid, from each thread's children list.
func (p *procStats) descendants(pid int, out []int) []int {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return out
	}
	for _, t := range tasks {
		b := p.read("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		for _, f := range bytes.Fields(b) {
			c, err := strconv.Atoi(string(f))
			if err == nil {
				out = append(out, c)
				out = p.descendants(c, out)
			}
		}
	}
	return out
}
