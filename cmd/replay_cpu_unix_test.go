//go:build unix

package cmd

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system, all threads) this process has
// used, for BenchmarkReplayLocal's cpu-µs/event.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
