//go:build linux

package runtime

import (
	"os"
	"testing"
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
