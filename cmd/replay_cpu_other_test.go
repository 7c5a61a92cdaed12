//go:build !unix

package cmd

import "time"

// processCPU is not measured here; BenchmarkReplayLocal reports 0 cpu-µs/event.
func processCPU() time.Duration { return 0 }
