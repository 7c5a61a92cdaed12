package runtime

import (
	"testing"

	"github.com/evcli/evcli/providers"
)

// TestReportLineRoundTrip: what the local runtime writes is what
// providers.ParseReportLine (used by tail, tune and the AWS driver) reads.
func TestReportLineRoundTrip(t *testing.T) {
	tests := []struct {
		r    report
		want providers.InvocationRecord
	}{
		{report{RequestID: "r1", DurationMs: 12.34, BilledMs: 13, MemorySizeMB: 128, MaxMemoryMB: 23},
			providers.InvocationRecord{RequestID: "r1", DurationMs: 12.34, BilledDurationMs: 13, MemorySizeMB: 128, MaxMemoryUsedMB: 23, Outcome: "ok"}},
		{report{RequestID: "r2", DurationMs: 1.5, BilledMs: 47, MemorySizeMB: 256, MaxMemoryMB: 40, InitMs: 45.67},
			providers.InvocationRecord{RequestID: "r2", DurationMs: 1.5, BilledDurationMs: 47, MemorySizeMB: 256, MaxMemoryUsedMB: 40, InitDurationMs: 45.67, Outcome: "ok"}},
		{report{RequestID: "r3", DurationMs: 3000.12, BilledMs: 3001, MemorySizeMB: 128, MaxMemoryMB: 20, Status: "timeout"},
			providers.InvocationRecord{RequestID: "r3", DurationMs: 3000.12, BilledDurationMs: 3001, MemorySizeMB: 128, MaxMemoryUsedMB: 20, Outcome: "timeout"}},
		{report{RequestID: "r4", DurationMs: 812.4, BilledMs: 813, MemorySizeMB: 256, MaxMemoryMB: 256, Status: "error", ErrorType: "Runtime.OutOfMemory"},
			providers.InvocationRecord{RequestID: "r4", DurationMs: 812.4, BilledDurationMs: 813, MemorySizeMB: 256, MaxMemoryUsedMB: 256, Outcome: "oom"}},
		{report{RequestID: "r5", DurationMs: 3.004, BilledMs: 4, MemorySizeMB: 10240, MaxMemoryMB: 31, Status: "error", ErrorType: "Runtime.ExitError"},
			providers.InvocationRecord{RequestID: "r5", DurationMs: 3, BilledDurationMs: 4, MemorySizeMB: 10240, MaxMemoryUsedMB: 31, Outcome: "error"}},
	}
	for _, tt := range tests {
		got, ok := providers.ParseReportLine(tt.r.String())
		if !ok || got != tt.want {
			t.Errorf("ParseReportLine(%q) = %+v, %v; want %+v", tt.r.String(), got, ok, tt.want)
		}
	}
}
