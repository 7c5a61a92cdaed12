//go:build linux

package runtime

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux platform Go supports.
const clockTicks = 100

// procStats measures an instance's process tree from /proc: resident memory
// (current and peak) and CPU time.
type procStats struct {
	pid int

	mu       sync.Mutex
	peak     int64 // KB
	desc     []int // descendants found at the last full scan
	scanned  time.Time
	cpuSeen  time.Duration
	buf      []byte
	statusFD int // the root's /proc files, kept open and re-read with pread
	statFD   int
	threads  map[int]*thread
}

// rescanEvery bounds how often descendants are looked for.
const rescanEvery = 100 * time.Millisecond

func newProcStats(pid int) *procStats {
	p := &procStats{pid: pid, buf: make([]byte, 4096), statusFD: -1, statFD: -1}
	dir := "/proc/" + strconv.Itoa(pid)
	p.statusFD, _ = openRO(dir + "/status")
	p.statFD, _ = openRO(dir + "/stat")
	return p
}

func openRO(path string) (int, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	return fd, nil
}

// close releases the kept files.
func (p *procStats) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, fd := range []*int{&p.statusFD, &p.statFD} {
		if *fd >= 0 {
			syscall.Close(*fd)
			*fd = -1
		}
	}
	for tid, t := range p.threads {
		syscall.Close(t.fd)
		delete(p.threads, tid)
	}
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
	if full && time.Since(p.scanned) >= rescanEvery {
		p.desc = p.descendants(p.pid, p.desc[:0])
		p.rescanThreads()
		p.scanned = time.Now()
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

// cpuDelta returns the CPU time the tree used since the last call, and how
// long the root's threads were runnable but waiting for a CPU (run-queue
// delay: this machine's contention, not the handler's work). The root's
// threads are read from their schedstat (nanoseconds: on CPU, waiting,
// slices); descendants from stat (clock ticks), reaped ones through the
// root's cutime/cstime.
func (p *procStats) cpuDelta() (cpu, wait time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.threads == nil {
		p.rescanThreads()
	}
	var d time.Duration
	for tid, t := range p.threads {
		n, err := syscall.Pread(t.fd, p.buf, 0)
		if err != nil || n <= 0 {
			syscall.Close(t.fd)
			delete(p.threads, tid)
			continue
		}
		fields := bytes.Fields(p.buf[:n])
		var ns, waited int64
		if len(fields) > 0 {
			ns, _ = strconv.ParseInt(string(fields[0]), 10, 64)
		}
		if len(fields) > 1 {
			waited, _ = strconv.ParseInt(string(fields[1]), 10, 64)
		}
		if ns > t.last {
			d += time.Duration(ns - t.last)
		}
		if waited > t.lastWait {
			wait += time.Duration(waited - t.lastWait)
		}
		t.last, t.lastWait = ns, waited
	}
	_, others, _ := p.cpu(p.pid) // reaped children
	for _, c := range p.desc {
		if t, _, ok := p.cpu(c); ok {
			others += t
		}
	}
	if others > p.cpuSeen {
		d += others - p.cpuSeen
	}
	p.cpuSeen = others
	return d, wait
}

// thread is one of the root's threads and its CPU time so far.
type thread struct {
	fd             int
	last, lastWait int64
}

// rescanThreads opens the schedstat of threads not seen yet.
func (p *procStats) rescanThreads() {
	if p.threads == nil {
		p.threads = map[int]*thread{}
	}
	dir := "/proc/" + strconv.Itoa(p.pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range tasks {
		tid, err := strconv.Atoi(e.Name())
		if err != nil || p.threads[tid] != nil {
			continue
		}
		if fd, err := openRO(dir + "/" + e.Name() + "/schedstat"); err == nil {
			p.threads[tid] = &thread{fd: fd}
		}
	}
}

func (p *procStats) read(path string) []byte {
	fd, err := openRO(path)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	n, err := syscall.Read(fd, p.buf)
	if err != nil || n <= 0 {
		return nil
	}
	return p.buf[:n]
}

// file reads one of the root's files: through its kept descriptor, or by
// path for a descendant.
func (p *procStats) file(pid int, name string, fd int) []byte {
	if pid == p.pid && fd >= 0 {
		n, err := syscall.Pread(fd, p.buf, 0)
		if err != nil || n <= 0 {
			return nil
		}
		return p.buf[:n]
	}
	return p.read("/proc/" + strconv.Itoa(pid) + "/" + name)
}

func (p *procStats) status(pid int) (rss, hwm int64, ok bool) {
	b := p.file(pid, "status", p.statusFD)
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

// cpu returns a process's own CPU time and that of its reaped children.
func (p *procStats) cpu(pid int) (self, children time.Duration, ok bool) {
	b := p.file(pid, "stat", p.statFD)
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	fields := bytes.Fields(b[i+1:])
	// After the command: state(0) ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime(11) stime(12) cutime(13) cstime(14).
	if len(fields) < 15 {
		return 0, 0, false
	}
	sum := func(idx ...int) int64 {
		var t int64
		for _, k := range idx {
			v, _ := strconv.ParseInt(string(fields[k]), 10, 64)
			t += v
		}
		return t
	}
	tick := time.Second / clockTicks
	return time.Duration(sum(11, 12)) * tick, time.Duration(sum(13, 14)) * tick, true
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

// killMarked kills this user's processes whose environment holds marker
// ("NAME=VALUE", unique to one instance): what an instance started and
// took out of its process group — `setsid`, a daemon's double fork, a
// process whose parent died — still inherited the instance's environment,
// so killGroup alone misses it. It rescans while it finds some, since a
// process may fork while it is being looked for. A process that cleared
// or replaced its environment (env -i) escapes; only a cgroup would hold
// it, which an unprivileged evcli cannot count on.
func killMarked(marker string) {
	self := os.Getpid()
	for round := 0; round < 5; round++ {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return
		}
		pids := make([]int, 0, len(ents))
		for _, e := range ents {
			if pid, err := strconv.Atoi(e.Name()); err == nil && pid != self {
				pids = append(pids, pid)
			}
		}
		if !killMarkedOf(pids, marker) {
			return
		}
	}
}

// killMarkedOf kills those of pids whose environment holds marker, and
// reports whether it killed any. A process in the middle of execve (as
// `setsid sleep` is right after setsid(2)) reads as an empty environment
// for a moment although it keeps its own: a live process that reads empty
// is read again until it has one, or is gone, or has read empty with its
// environment's bounds settled twice in a row (it has none: env -i).
// Each environment is read in one read(2), which holds one memory map:
// two reads can straddle execve and return the head of the old
// environment and then nothing.
func killMarkedOf(pids []int, marker string) bool {
	needle := []byte(marker + "\x00")
	inner := append([]byte{0}, needle...)
	killed := false
	settled := map[int]int{}
	var again []int
	buf := make([]byte, 64<<10)
	var err error
	for wait := time.Millisecond; ; wait *= 2 {
		for _, pid := range pids {
			var b []byte
			b, buf, err = readEnviron(pid, buf)
			switch {
			case err != nil:
				continue // another user's, or gone
			case len(b) == 0:
				switch inExec(pid) {
				case execing:
					settled[pid] = 0
				case emptyEnv:
					if settled[pid]++; settled[pid] >= 2 {
						continue
					}
				default:
					continue
				}
				again = append(again, pid)
			case bytes.HasPrefix(b, needle) || bytes.Contains(b, inner):
				_ = syscall.Kill(pid, syscall.SIGKILL)
				killed = true
			}
		}
		if len(again) == 0 || wait > 512*time.Millisecond {
			return killed
		}
		time.Sleep(wait)
		pids, again = again, pids[:0]
	}
}

// readEnviron reads /proc/PID/environ in one read(2) into buf, growing it
// (and returning it) when the environment fills it.
func readEnviron(pid int, buf []byte) ([]byte, []byte, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil, buf, err
	}
	defer f.Close()
	for {
		n, err := f.ReadAt(buf, 0)
		if n < len(buf) {
			if err == io.EOF {
				err = nil
			}
			return buf[:n], buf, err
		}
		buf = make([]byte, 4*len(buf))
	}
}

const (
	notLive  = iota // gone, a zombie or a kernel thread
	execing         // between the halves of execve
	emptyEnv        // no environment, or one being copied in right now
)

// inExec tells what a process whose environment read empty is, from
// /proc/PID/stat: its environment's bounds (fields 50 and 51) are unset,
// or apart, while execve replaces its memory; they are equal when it was
// started with no environment (env -i), and for the moment execve copies
// the strings in.
func inExec(pid int) int {
	const pfKthread = 0x00200000
	f := statFields(pid)
	if len(f) < 49 || f[0] == "Z" || f[0] == "X" {
		return notLive
	}
	if flags, _ := strconv.ParseUint(f[6], 10, 64); flags&pfKthread != 0 {
		return notLive
	}
	if envStart, envEnd := f[47], f[48]; envEnd == "0" || envStart != envEnd {
		return execing
	}
	return emptyEnv
}

// statFields returns the fields of /proc/PID/stat after the command name
// (state is the first), or nil.
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}
