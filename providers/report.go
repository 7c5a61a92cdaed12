package providers

import (
	"strconv"
	"strings"
)

// reportPrefix starts a Lambda REPORT line.
const reportPrefix = "REPORT RequestId: "

// ParseReportLine reads a Lambda REPORT line in its text format, as Lambda
// writes it to CloudWatch Logs and the local runtime writes it too:
//
//	REPORT RequestId: id	Duration: 12.34 ms	Billed Duration: 13 ms	Memory Size: 128 MB	Max Memory Used: 64 MB	Init Duration: 150.21 ms	[Status: timeout|error	[Error Type: Runtime.OutOfMemory]]
//
// Text before "REPORT RequestId: " (a Logs Insights or log-tail prefix) is
// skipped. Fields are tab-separated and may come in any order; unknown ones
// are ignored. The record's Outcome is "ok" (no Status, or success),
// "timeout", "oom" (Error Type Runtime.OutOfMemory) or "error" (any other
// Status). ok is false when line
// is not a REPORT line or has no Duration; r then holds what was read.
// Function and Time are left to the caller.
func ParseReportLine(line string) (r InvocationRecord, ok bool) {
	i := strings.Index(line, reportPrefix)
	if i < 0 {
		return r, false
	}
	status, errorType, hasDuration := "", "", false
	for n, f := range strings.Split(line[i:], "\t") {
		k, v, found := strings.Cut(strings.TrimSpace(f), ": ")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		if n == 0 { // REPORT RequestId: id
			r.RequestID = firstField(v)
			continue
		}
		switch k {
		case "Duration":
			r.DurationMs, hasDuration = reportNumber(v)
		case "Billed Duration":
			b, _ := reportNumber(v)
			r.BilledDurationMs = int64(b)
		case "Memory Size":
			m, _ := reportNumber(v)
			r.MemorySizeMB = int(m)
		case "Max Memory Used":
			m, _ := reportNumber(v)
			r.MaxMemoryUsedMB = int(m)
		case "Init Duration":
			r.InitDurationMs, _ = reportNumber(v)
		case "Status":
			status = strings.ToLower(firstField(v))
		case "Error Type":
			errorType = firstField(v)
		}
	}
	if !hasDuration {
		return r, false
	}
	switch {
	case status == "" || status == "success":
		r.Outcome = "ok"
	case status == "timeout":
		r.Outcome = "timeout"
	case errorType == "Runtime.OutOfMemory":
		r.Outcome = "oom"
	default: // error, or a status this parser does not know
		r.Outcome = "error"
	}
	return r, true
}

// reportNumber reads "12.34 ms" or "128 MB": an unsigned decimal number
// below 2^53 (so that whole numbers convert exactly), then a unit.
func reportNumber(v string) (float64, bool) {
	s := firstField(v)
	if s == "" || strings.Trim(s, "0123456789.") != "" {
		return 0, false
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n >= 1<<53 {
		return 0, false
	}
	return n, true
}

func firstField(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}
