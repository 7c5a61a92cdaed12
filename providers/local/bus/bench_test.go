package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

type noopInvoker struct{}

func (noopInvoker) Invoke(context.Context, string, []byte) (InvokeOutcome, error) {
	return InvokeOutcome{DurationMs: 1}, nil
}

// BenchmarkPublishFanOut measures events per second through Publish ->
// durable store append -> match (built-in matcher, 4 rules plus 4 that do
// not match) -> fan-out to 4 targets -> delivery outcomes recorded, with a
// no-op invoker. One op is one event; Publish takes batch events at a time;
// the clock stops when every delivery is recorded (Drain). publishers is
// how many goroutines publish at once (functions publishing in parallel).
//
//	go test -run '^$' -bench PublishFanOut -benchtime 2000x ./providers/local/bus
func BenchmarkPublishFanOut(b *testing.B) {
	for _, c := range []struct {
		sync       string
		batch      int
		publishers int
	}{{"FULL", 1, 1}, {"FULL", 10, 1}, {"FULL", 100, 1}, {"NORMAL", 10, 1}, {"NORMAL", 100, 1}, {"FULL", 1, 8}, {"FULL", 10, 8}} {
		b.Run(fmt.Sprintf("sync=%s/batch=%d/publishers=%d", c.sync, c.batch, c.publishers), func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(b.TempDir(), store.WithSynchronous(c.sync))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for i, fn := range []string{"billing", "shipping", "email", "analytics"} {
				db.PutFunction(ctx, store.FunctionRecord{Name: fn})
				db.PutFunction(ctx, store.FunctionRecord{Name: fn + "-other"})
				db.SetRules(ctx, fn, []store.Rule{{ID: fn, Pattern: json.RawMessage(fmt.Sprintf(`{"source":["shop.orders"],"detail-type":["OrderCreated"],"detail":{"total":[{"exists":true}],"n":[%d,1,2,3]}}`, i))}})
				db.SetRules(ctx, fn+"-other", []store.Rule{{ID: fn + "-other", Pattern: json.RawMessage(`{"source":["shop.payments"]}`)}})
			}
			bus, err := New(Options{Store: db, Invoker: noopInvoker{}})
			if err != nil {
				b.Fatal(err)
			}
			defer bus.Close()
			detail := json.RawMessage(`{"orderId":"o-1","correlationId":"c-1","n":1,"total":42.5,"items":[{"sku":"A-1","qty":2}]}`)
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range c.publishers {
				wg.Go(func() {
					evs := make([]providers.Event, c.batch)
					for {
						i := int(next.Add(int64(c.batch))) - c.batch
						if i >= b.N {
							return
						}
						n := min(c.batch, b.N-i)
						for j := range n {
							evs[j] = providers.Event{Source: "shop.orders", DetailType: "OrderCreated", Detail: detail}
						}
						res, err := bus.Publish(ctx, "default", evs[:n])
						if err != nil || res[0].ErrorCode != "" {
							b.Error(err, res)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := bus.Drain(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
			b.StopTimer()
			ds, _ := db.Deliveries(ctx, nil)
			if len(ds) != 4*b.N {
				b.Fatalf("%d deliveries recorded; want %d", len(ds), 4*b.N)
			}
		})
	}
}
