//go:build linux

package runtime

import (
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestKBField(t *testing.T) {
	status := []byte("Name:\tbootstrap\nVmPeak:\t 1266000 kB\nVmHWM:\t   23456 kB\nVmRSS:\t   20480 kB\nThreads:\t7\n")
	for name, want := range map[string]int64{"VmHWM:": 23456, "VmRSS:": 20480, "VmSwap:": 0, "Threads:": 7} {
		if got := kbField(status, name); got != want {
			t.Errorf("kbField(%s) = %d, want %d", name, got, want)
		}
	}
}

func TestProcStatsOfThisProcess(t *testing.T) {
	p := newProcStats(os.Getpid())
	defer p.close()
	rss := p.sample(true)
	if rss <= 0 || p.peakKB() < rss || p.peakMB() <= 0 {
		t.Errorf("rss %d KB, peak %d KB", rss, p.peakKB())
	}
	p.cpuDelta()
	x := 0
	for i := range 20_000_000 {
		x += i % 7
	}
	if d, _ := p.cpuDelta(); d <= 0 || x == 0 {
		t.Errorf("cpu delta after a busy loop = %v", d)
	}
	if newProcStats(1<<30).sample(true) != 0 {
		t.Error("a missing process has memory")
	}
}

// TestSetsidChildEndsWithItsInstance: a process a handler starts in a
// session of its own, whose parent then exits (so it is neither in the
// instance's process group nor its descendant), is killed when the
// instance ends.
func TestSetsidChildEndsWithItsInstance(t *testing.T) {
	needInterpreter(t, "python3")
	needInterpreter(t, "setsid")
	needInterpreter(t, "sh")
	m, _ := newTestManager(t, Options{})
	// The handler returns once the child has a session of its own (else
	// the freeze between invocations may catch it before setsid runs).
	dir := writeFiles(t, map[string]string{"app.py": `import os, subprocess, time

def handler(event, context):
    out = subprocess.run(["sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True).stdout
    pid = int(out.strip())
    for _ in range(500):
        if os.getsid(pid) == pid:
            return {"pid": pid}
        time.sleep(0.01)
    return {"pid": pid, "own_session": False}
`})
	deploy(t, m, FunctionSpec{Name: "daemon", Runtime: Python312, CodeDir: dir, Handler: "app.handler"})
	r := invoke(t, m, "daemon", `{}`)
	var res struct {
		PID        int
		OwnSession *bool `json:"own_session"`
	}
	if err := json.Unmarshal(r.Payload, &res); err != nil || res.PID == 0 || res.OwnSession != nil {
		t.Fatalf("payload %s: %v", r.Payload, err)
	}
	start := startTime(res.PID) // tells it from a later process given the same pid
	if start == "" || !alive(res.PID, start) {
		t.Fatalf("the handler's setsid child %d is not running", res.PID)
	}
	t.Cleanup(func() {
		if alive(res.PID, start) {
			syscall.Kill(res.PID, syscall.SIGKILL)
		}
	})
	m.Close()
	deadline := time.Now().Add(30 * time.Second)
	for alive(res.PID, start) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d, started with setsid by the handler, outlived its instance", res.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startTime is the process's start time in clock ticks (stat field 22).
func startTime(pid int) string {
	if f := statFields(pid); len(f) > 19 {
		return f[19]
	}
	return ""
}

// alive reports whether the process pid that started at start runs (a
// zombie does not; a later process given the same pid is another one).
func alive(pid int, start string) bool {
	f := statFields(pid)
	return len(f) > 19 && f[0] != "Z" && f[19] == start
}

func BenchmarkKillMarkedScan(b *testing.B) {
	for b.Loop() {
		killMarked("EVCLI_BENCH_NO_SUCH_MARKER=1")
	}
}

// TestKillMarkedCatchesAProcessInExec: right after setsid(2), `setsid
// sleep` is in execve, when its environment reads empty for a moment
// (about one process in six here, read at once). killMarkedOf reads it
// again rather than pass it over; that was
// TestSetsidChildEndsWithItsInstance's failure under load.
func TestKillMarkedCatchesAProcessInExec(t *testing.T) {
	needInterpreter(t, "setsid")
	needInterpreter(t, "sh")
	marker := "EVCLI_TEST_MARK=" + randomHex(8)
	for i := range 150 {
		cmd := exec.Command("sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!")
		cmd.Env = append(os.Environ(), marker)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("sh printed %q", out)
		}
		for {
			if sid, _, _ := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0); int(sid) == pid {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		start := startTime(pid)
		if !killMarkedOf([]int{pid}, marker) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("run %d: process %d in its own session was not recognised by its environment", i, pid)
		}
		for alive(pid, start) { // SIGKILL was sent; the exit follows
			time.Sleep(time.Millisecond)
		}
	}
}

// TestKillMarkedPassesAnEmptyEnvironment: a process started with no
// environment at all is not waited for as if it were in execve.
func TestKillMarkedPassesAnEmptyEnvironment(t *testing.T) {
	needInterpreter(t, "env")
	cmd := exec.Command("env", "-i", "sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline"); err == nil && strings.HasPrefix(string(b), "sleep") {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if inExec(cmd.Process.Pid) != emptyEnv {
		t.Fatal("a process with an empty environment counts as one in execve")
	}
	if killMarkedOf([]int{cmd.Process.Pid}, "EVCLI_NO_SUCH=1") {
		t.Fatal("killed an unmarked process")
	}
}
