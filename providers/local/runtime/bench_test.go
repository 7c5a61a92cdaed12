package runtime

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks of the local runtime with the Go test handler (testdata/handlers/testfn).
//
//	go test ./providers/local/runtime -run '^$' -bench 'WarmInvoke/go' -benchtime 2000x -count 5
//	go test ./providers/local/runtime -run '^$' -bench 'ColdStart/go' -benchtime 100x -count 5
//	go test ./providers/local/runtime -run '^$' -bench 'Sustained' -benchtime 5000x -count 5
//
// (sub-benchmarks go, node and python run the same echo handler.)
//
// WarmInvoke reports the p50 of the whole Invoke round trip and of evcli's
// own overhead in it: the round trip minus the invocation's Duration (the
// time from handing the event to the runtime to its response, which
// includes the handler).

func percentile(d []float64, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// benchRuntimes are the handlers the benchmarks run: the same echo in Go,
// Node.js and Python.
var benchRuntimes = []struct{ name, runtime, handler, interp string }{
	{"go", ProvidedAL2023, "bootstrap", ""},
	{"node", NodeJS20, "index.handler", "node"},
	{"python", Python312, "app.handler", "python3"},
}

func benchSpec(b *testing.B, rt, handler, interp string) FunctionSpec {
	b.Helper()
	spec := FunctionSpec{Runtime: rt, Handler: handler}
	switch interp {
	case "":
		spec.CodeDir = buildGoHandler(b)
	case "node":
		spec.CodeDir = writeFiles(b, map[string]string{"index.js": "exports.handler = async (event) => event;"})
	case "python3":
		spec.CodeDir = writeFiles(b, map[string]string{"app.py": "def handler(event, context):\n    return event\n"})
	}
	if interp != "" {
		if _, err := exec.LookPath(interp); err != nil {
			b.Skipf("%s is not installed", interp)
		}
	}
	return spec
}

func benchManager(b *testing.B, spec FunctionSpec) *Manager {
	b.Helper()
	m, err := New(Options{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	if spec.Runtime == "" {
		spec.Runtime = ProvidedAL2023
	}
	if spec.CodeDir == "" {
		spec.CodeDir = buildGoHandler(b)
	}
	if err := m.Deploy(spec); err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkWarmInvoke(b *testing.B) {
	for _, rt := range benchRuntimes {
		b.Run(rt.name, func(b *testing.B) {
			spec := benchSpec(b, rt.runtime, rt.handler, rt.interp)
			spec.Name, spec.Concurrency = "echo", 1
			benchWarm(b, benchManager(b, spec))
		})
	}
}

func benchWarm(b *testing.B, m *Manager) {
	ctx := context.Background()
	payload := []byte(`{"action":"echo"}`)
	if _, err := m.Invoke(ctx, "echo", payload); err != nil { // cold start outside the timing
		b.Fatal(err)
	}
	totals := make([]float64, 0, b.N)
	overheads := make([]float64, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		r, err := m.Invoke(ctx, "echo", payload)
		total := float64(time.Since(t0).Microseconds())
		if err != nil || r.FunctionError != "" {
			b.Fatalf("%v %s", err, r.Payload)
		}
		totals = append(totals, total)
		overheads = append(overheads, total-r.DurationMs*1000)
	}
	b.StopTimer()
	b.ReportMetric(percentile(totals, 0.5), "p50-µs")
	b.ReportMetric(percentile(totals, 0.99), "p99-µs")
	b.ReportMetric(percentile(overheads, 0.5), "overhead-p50-µs")
}

func BenchmarkColdStart(b *testing.B) {
	for _, rt := range benchRuntimes {
		b.Run(rt.name, func(b *testing.B) {
			spec := benchSpec(b, rt.runtime, rt.handler, rt.interp)
			spec.Name = "cold"
			benchCold(b, benchManager(b, spec), spec)
		})
	}
}

func benchCold(b *testing.B, m *Manager, spec FunctionSpec) {
	ctx := context.Background()
	payload := []byte(`{"action":"echo"}`)
	inits := make([]float64, 0, b.N)
	totals := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// A new code hash retires the warm instance: the next invoke is cold.
		spec.CodeSha256 = fmt.Sprint(i)
		if err := m.Deploy(spec); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		r, err := m.Invoke(ctx, "cold", payload)
		totals = append(totals, float64(time.Since(t0).Microseconds())/1000)
		if err != nil || r.FunctionError != "" || r.InitDurationMs == 0 {
			b.Fatalf("%v %s init %v", err, r.Payload, r.InitDurationMs)
		}
		inits = append(inits, r.InitDurationMs)
	}
	b.StopTimer()
	b.ReportMetric(percentile(inits, 0.5), "init-p50-ms")
	b.ReportMetric(percentile(totals, 0.5), "cold-invoke-p50-ms")
}

func BenchmarkSustainedInvokes(b *testing.B) {
	const conc = 4
	m := benchManager(b, FunctionSpec{Name: "busy", Concurrency: conc})
	ctx := context.Background()
	payload := []byte(`{"action":"echo"}`)
	var wg sync.WaitGroup
	for range conc { // start every instance before timing
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Invoke(ctx, "busy", []byte(`{"action":"sleep","ms":50}`))
		}()
	}
	wg.Wait()
	var failed atomic.Int64
	b.SetParallelism(conc) // conc * GOMAXPROCS callers
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := m.Invoke(ctx, "busy", payload)
			if err != nil || r.FunctionError != "" {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d invokes failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "invokes/s")
}
