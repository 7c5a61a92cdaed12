package runtime

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// printer is a Node.js handler that writes event.mb MB of output in 100-byte
// lines with synchronous writes (so the bytes are in evcli's pipe, not in
// Node's buffers), or prints until it is stopped when event.forever is set.
var printer = map[string]string{"index.js": `
const fs = require("fs");
const line = "x".repeat(99) + "\n";
const chunk = line.repeat(10000); // 1 MB
exports.handler = async (event) => {
  if (event.forever) { for (;;) fs.writeSync(1, chunk); }
  for (let i = 0; i < event.mb; i++) fs.writeSync(1, chunk);
  return {printed: event.mb};
};`}

// TestHandlerOutputIsCapped: an invocation keeps at most MaxLogBytes of
// handler output, then one line saying how much it dropped; the log lines
// recorded for it are as bounded as its log tail.
func TestHandlerOutputIsCapped(t *testing.T) {
	needInterpreter(t, "node")
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "printer", Runtime: NodeJS20, Handler: "index.handler", CodeDir: writeFiles(t, printer), TimeoutS: 60})
	r := invoke(t, m, "printer", `{"mb":8}`)
	if r.FunctionError != "" {
		t.Fatalf("printer failed: %s", r.Payload)
	}
	kept, marker := 0, ""
	for _, l := range r.Logs {
		switch {
		case strings.HasPrefix(l, "evcli: "):
			marker = l
		case strings.HasPrefix(l, "x"):
			kept += len(l) + 1
		}
	}
	if kept > MaxLogBytes || kept < MaxLogBytes-200 {
		t.Errorf("kept %d bytes of output, want about %d", kept, MaxLogBytes)
	}
	const printed = 8 * 1000000
	want := "evcli: " + strconv.Itoa(printed-kept) + " bytes of output in " + strconv.Itoa((printed-kept)/100) + " lines dropped"
	if !strings.HasPrefix(marker, want) {
		t.Errorf("marker %q, want it to start %q", marker, want)
	}
	stored := 0
	for _, l := range rec.linesOf(r.RequestID) {
		stored += len(l) + 1
	}
	if stored > MaxLogBytes+4096 {
		t.Errorf("%d bytes of log lines recorded for the invocation, want at most the cap and a few lines", stored)
	}
}

// TestTimeoutWhilePrinting: a handler that prints without end is stopped
// at its timeout like any other; its output stays capped.
func TestTimeoutWhilePrinting(t *testing.T) {
	needInterpreter(t, "node")
	m, _ := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "printer", Runtime: NodeJS20, Handler: "index.handler", CodeDir: writeFiles(t, printer), TimeoutS: 1})
	start := time.Now()
	r := invoke(t, m, "printer", `{"forever":true}`)
	if r.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("got %q %s, want Sandbox.Timedout", r.ErrorType, r.Payload)
	}
	t.Logf("a 1 s timeout while printing returned after %s", time.Since(start).Round(time.Millisecond))
	n := 0
	for _, l := range r.Logs {
		n += len(l) + 1
	}
	if n > MaxLogBytes+4096 {
		t.Errorf("log tail of %d bytes", n)
	}
}

// BenchmarkHandlerPrints100MB: evcli's peak RSS while a handler prints
// 100 MB stays under 100 MB (reported as peak-RSS-MB; VmHWM of the test
// process, which is evcli's runtime here).
//
//	go test ./providers/local/runtime -run '^$' -bench HandlerPrints100MB -benchtime 1x
func BenchmarkHandlerPrints100MB(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc")
	}
	m, err := New(Options{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	spec := benchSpec(b, NodeJS20, "index.handler", "node")
	spec.Name, spec.CodeDir, spec.TimeoutS = "printer", writeFiles(b, printer), 120
	if err := m.Deploy(spec); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		r, err := m.Invoke(b.Context(), "printer", []byte(`{"mb":100}`))
		if err != nil || r.FunctionError != "" {
			b.Fatalf("invoke: %v %s", err, r.Payload)
		}
	}
	b.StopTimer()
	hwm := peakRSS(b)
	b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
	if hwm >= 100<<20 {
		b.Fatalf("peak RSS %d MB while a handler printed 100 MB, want under 100 MB", hwm>>20)
	}
}

// peakRSS is the process's VmHWM in bytes.
func peakRSS(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(v)), "kB")), 10, 64)
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM")
	return 0
}
