package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// BenchmarkAppendEvents measures durable (fsynced) appends; one op is one
// event, in transactions of batch events.
//
//	go test -run '^$' -bench AppendEvents -benchtime 2000x ./providers/local/store
func BenchmarkAppendEvents(b *testing.B) {
	for _, c := range []struct {
		sync  string
		batch int
	}{{"FULL", 1}, {"FULL", 10}, {"FULL", 100}, {"NORMAL", 1}, {"NORMAL", 10}, {"NORMAL", 100}} {
		batch := c.batch
		b.Run(fmt.Sprintf("sync=%s/batch=%d", c.sync, batch), func(b *testing.B) {
			db := openTest(b, "", WithSynchronous(c.sync))
			ctx := context.Background()
			detail := `{"aggregateId":"order-1","version":1,"correlationId":"c-1","items":[{"sku":"A-1","qty":2}],"total":42.5}`
			evs := make([]providers.StoredEvent, 0, batch)
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; {
				evs = evs[:0]
				for j := 0; j < batch && i < b.N; j++ {
					evs = append(evs, ev(fmt.Sprintf("bench-%d", i), "OrderCreated", t0, detail))
					i++
				}
				if _, err := db.AppendEvents(ctx, evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
		})
	}
}

// BenchmarkAppendLogs measures log appends in batches of 20 lines (about one
// invocation's worth).
func BenchmarkAppendLogs(b *testing.B) {
	db := openTest(b, "")
	ctx := context.Background()
	lines := make([]providers.LogLine, 20)
	for i := range lines {
		lines[i] = providers.LogLine{Function: "f", RequestID: "r", Message: `{"level":"info","correlationId":"c-1","msg":"handled"}`}
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i += len(lines) {
		if err := db.AppendLogs(ctx, lines); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/line")
}

// BenchmarkAppendEventsConcurrent: 16 goroutines appending one event each
// time, as functions publishing at once do; group commit shares the fsyncs.
func BenchmarkAppendEventsConcurrent(b *testing.B) {
	db := openTest(b, "")
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := db.AppendEvents(ctx, []providers.StoredEvent{ev(fmt.Sprint("c-", i), "T", t0, `{"n":1}`)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

// BenchmarkReadEvents measures the event store's read rate for a time window
// (what replay does): one op is one event read. The table holds 4x the window.
func BenchmarkReadEvents(b *testing.B) {
	db := openTest(b, "", WithSynchronous("NORMAL"))
	ctx := context.Background()
	const total = 40000
	for i := 0; i < total; i += 500 {
		var evs []providers.StoredEvent
		for j := i; j < i+500; j++ {
			evs = append(evs, ev(fmt.Sprint("r-", j), "OrderCreated", t0.Add(time.Duration(j)*time.Millisecond),
				fmt.Sprintf(`{"aggregateId":"a-%d","version":%d,"total":42.5}`, j%100, j/100+1)))
		}
		if _, err := db.AppendEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	q := providers.EventQuery{Since: t0.Add(total / 4 * time.Millisecond), Until: t0.Add(total / 2 * time.Millisecond)}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for n < b.N {
		for _, err := range db.Events(ctx, q) {
			if err != nil {
				b.Fatal(err)
			}
			n++
			if n == b.N {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}
