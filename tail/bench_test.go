package tail

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// benchLines builds a realistic mix: per invocation a START, a Lambda text
// line, a JSON line carrying the correlation id, a plain line, END and
// REPORT, across 8 functions.
func benchLines(n int) []providers.LogLine {
	ls := make([]providers.LogLine, 0, n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; len(ls) < n; i++ {
		fn := fmt.Sprintf("function-%d", i%8)
		req := fmt.Sprintf("%08x-e9a3-11e6-939a-%012x", i, i)
		corr := fmt.Sprintf("corr-%d", i/4)
		t := base.Add(time.Duration(i) * time.Millisecond)
		for j, msg := range []string{
			"START RequestId: " + req + " Version: $LATEST",
			t.Format("2006-01-02T15:04:05.000Z") + "\t" + req + "\tINFO\tprocessing order",
			`{"timestamp":"` + t.Format(time.RFC3339Nano) + `","level":"INFO","requestId":"` + req + `","message":"order placed","correlationId":"` + corr + `","orderId":"o-` + fmt.Sprint(i) + `","amount":42.5}`,
			"plain text line from a handler",
			"END RequestId: " + req,
			"REPORT RequestId: " + req + "\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB",
		} {
			if len(ls) == n {
				break
			}
			ls = append(ls, providers.LogLine{Time: t.Add(time.Duration(j) * 100 * time.Microsecond), Provider: "local", Function: fn, RequestID: req, Message: msg})
		}
	}
	return ls
}

// BenchmarkExtractMergePrint measures parsing + correlation + reorder merge +
// plain output, the per-record work of evcli tail.
//
//	go test ./tail -run '^$' -bench ExtractMergePrint -benchtime 200000x -count 5
func BenchmarkExtractMergePrint(b *testing.B) {
	lines := benchLines(60_000)
	p, _ := NewParser(nil)
	m := NewMerger(MergerOptions{Window: 500 * time.Millisecond})
	out := NewPlainPrinter(io.Discard, false)
	var buf []Record
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		buf = m.Push(p.Parse(lines[i%len(lines)]), now, buf[:0])
		for _, r := range buf {
			_ = out.Write(r)
		}
	}
	buf = m.Flush(buf[:0])
	for _, r := range buf {
		_ = out.Write(r)
	}
	_ = out.Flush()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	// On a shared machine wall time includes waiting for a core; records
	// per CPU-second is the pipeline's own cost.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRunMillion runs 1,000,000 records through Run (source goroutine,
// parse, merge, filters, plain printer) and reports records/s and the heap
// in use after a GC while the pipeline's state is still alive.
//
//	go test ./tail -run '^$' -bench RunMillion -benchtime 1x -count 5
func BenchmarkRunMillion(b *testing.B) {
	const n = 1_000_000
	lines := benchLines(60_000)
	for i := 0; i < b.N; i++ {
		src := &benchSource{lines: lines, n: n}
		sink := &countSink{p: NewPlainPrinter(io.Discard, false)}
		start := time.Now()
		cpu0 := cpuTime()
		if err := Run(context.Background(), Config{Merge: MergerOptions{Window: 500 * time.Millisecond}}, []Source{{"bench", src}}, sink); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		if sink.n != n {
			b.Fatalf("%d records printed, want %d", sink.n, n)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "records/s")
		b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
	}
}

// BenchmarkHeapAfterMillion feeds 1,000,000 records through the merger and
// the TUI's flow model (the state a long tail keeps) and reports HeapInuse
// after a GC.
//
//	go test ./tail -run '^$' -bench HeapAfterMillion -benchtime 1x -count 5
func BenchmarkHeapAfterMillion(b *testing.B) {
	const n = 1_000_000
	lines := benchLines(60_000)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		p, _ := NewParser(nil)
		m := NewMerger(MergerOptions{Window: 500 * time.Millisecond})
		flows := NewFlows(0, 0)
		now := time.Now()
		var buf []Record
		shift := time.Duration(0)
		for j := 0; j < n; j++ {
			l := lines[j%len(lines)]
			if j%len(lines) == 0 && j > 0 {
				shift += time.Minute
			}
			l.Time = l.Time.Add(shift)
			l.RequestID = fmt.Sprint(l.RequestID, j/len(lines)) // new requests each lap
			buf = m.Push(p.Parse(l), now, buf[:0])
			for _, r := range buf {
				flows.Add(r)
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(m)
		runtime.KeepAlive(flows)
		b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-MB")
		// The tail's own state, without the benchmark's input lines.
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "state-MB")
		if after.HeapInuse > 100<<20 {
			b.Errorf("HeapInuse %d MB after 1,000,000 records; the target is under 100 MB", after.HeapInuse>>20)
		}
		b.ReportMetric(float64(m.Len()), "held")
		b.ReportMetric(float64(flows.Kept()), "flow-lines")
	}
}

type benchSource struct {
	lines []providers.LogLine
	n     int
}

func (s *benchSource) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	out := make(chan providers.LogLine, 1024)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		shift := time.Duration(0)
		for i := 0; i < s.n; i++ {
			l := s.lines[i%len(s.lines)]
			if i%len(s.lines) == 0 && i > 0 {
				shift += time.Minute
			}
			l.Time = l.Time.Add(shift)
			select {
			case out <- l:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
		errc <- nil
	}()
	return out, errc
}

type countSink struct {
	p *PlainPrinter
	n int
}

func (s *countSink) Write(r Record) error { s.n++; return s.p.Write(r) }
func (s *countSink) Flush() error         { return s.p.Flush() }
