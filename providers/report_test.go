package providers

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseReportLine(t *testing.T) {
	tests := []struct {
		line string
		want InvocationRecord
		ok   bool
	}{
		{"REPORT RequestId: 3f2a-11\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\t",
			InvocationRecord{RequestID: "3f2a-11", DurationMs: 12.34, BilledDurationMs: 13, MemorySizeMB: 128, MaxMemoryUsedMB: 64, Outcome: "ok"}, true},
		{"REPORT RequestId: a\tDuration: 1.5 ms\tBilled Duration: 152 ms\tMemory Size: 1024 MB\tMax Memory Used: 80 MB\tInit Duration: 150.21 ms",
			InvocationRecord{RequestID: "a", DurationMs: 1.5, BilledDurationMs: 152, MemorySizeMB: 1024, MaxMemoryUsedMB: 80, InitDurationMs: 150.21, Outcome: "ok"}, true},
		{"REPORT RequestId: b\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\tStatus: timeout",
			InvocationRecord{RequestID: "b", DurationMs: 3000, BilledDurationMs: 3000, MemorySizeMB: 128, MaxMemoryUsedMB: 60, Outcome: "timeout"}, true},
		{"REPORT RequestId: c\tDuration: 9.00 ms\tBilled Duration: 9 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory",
			InvocationRecord{RequestID: "c", DurationMs: 9, BilledDurationMs: 9, MemorySizeMB: 128, MaxMemoryUsedMB: 128, Outcome: "oom"}, true},
		{"2026-11-20T10:00:00.000Z\tREPORT RequestId: e\tMax Memory Used: 70 MB\tDuration: 2.00 ms\tStatus: success",
			InvocationRecord{RequestID: "e", DurationMs: 2, MaxMemoryUsedMB: 70, Outcome: "ok"}, true},
		{"REPORT RequestId: h\tDuration: 1 ms\tStatus: Failure", InvocationRecord{RequestID: "h", DurationMs: 1, Outcome: "error"}, true},
		{"REPORT RequestId: f\tDuration: NaN ms", InvocationRecord{RequestID: "f"}, false},
		{"REPORT RequestId: g\tDuration: -1 ms", InvocationRecord{RequestID: "g"}, false},
		{"START RequestId: c Version: $LATEST", InvocationRecord{}, false},
		{"REPORT RequestId: d", InvocationRecord{RequestID: "d"}, false},
	}
	for _, tt := range tests {
		got, ok := ParseReportLine(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseReportLine(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

// formatReport writes r as Lambda does (the local runtime's writer is
// checked against the parser in providers/local/runtime).
func formatReport(r InvocationRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.RequestID, r.DurationMs, r.BilledDurationMs, r.MemorySizeMB, r.MaxMemoryUsedMB)
	if r.InitDurationMs > 0 {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", r.InitDurationMs)
	}
	switch r.Outcome {
	case "timeout", "error":
		fmt.Fprintf(&b, "\tStatus: %s", r.Outcome)
	case "oom":
		b.WriteString("\tStatus: error\tError Type: Runtime.OutOfMemory")
	}
	return b.String()
}

// FuzzParseReportLine: no panic; a REPORT line's outcome is one of four;
// parse -> format -> parse is stable.
func FuzzParseReportLine(f *testing.F) {
	f.Add("REPORT RequestId: a\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 80 MB\tInit Duration: 150.21 ms")
	f.Add("REPORT RequestId: b\tDuration: 3000.00 ms\tStatus: timeout")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := ParseReportLine(line)
		if !ok {
			if r.Outcome != "" {
				t.Fatalf("not a REPORT line but outcome %q", r.Outcome)
			}
			return
		}
		switch r.Outcome {
		case "ok", "error", "timeout", "oom":
		default:
			t.Fatalf("ParseReportLine(%q) outcome %q", line, r.Outcome)
		}
		if r.DurationMs < 0 || r.BilledDurationMs < 0 || r.MemorySizeMB < 0 || r.MaxMemoryUsedMB < 0 || r.InitDurationMs < 0 {
			t.Fatalf("ParseReportLine(%q) = %+v", line, r)
		}
		once := formatReport(r)
		r2, ok := ParseReportLine(once)
		if !ok || formatReport(r2) != once {
			t.Fatalf("%q -> %q -> %+v, %v", line, once, r2, ok)
		}
	})
}
