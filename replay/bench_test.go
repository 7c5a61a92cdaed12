package replay

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// genStore generates n events in time order across aggs aggregates without
// holding them.
type genStore struct{ n, aggs int }

func (g genStore) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		vers := make([]int64, g.aggs)
		for i := range g.n {
			a := i % g.aggs
			vers[a]++
			agg := "order-" + strconv.Itoa(a)
			ev := providers.StoredEvent{
				Event: providers.Event{
					Version: "0", ID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), DetailType: "OrderUpdated",
					Source: "shop.orders", Account: "000000000000", Region: "eu-west-1",
					Time:   t0.Add(time.Duration(i) * time.Millisecond),
					Detail: []byte(`{"aggregateId":"` + agg + `","version":` + strconv.FormatInt(vers[a], 10) + `,"total":42.5,"currency":"EUR","items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],"customer":"c-123"}`),
				},
				Seq: int64(i + 1), AggregateID: agg, AggregateVersion: vers[a],
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

type nopBus struct{ n atomic.Int64 }

func (b *nopBus) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	b.n.Add(int64(len(evs)))
	out := make([]providers.PublishResult, len(evs))
	for i := range evs {
		out[i].EventID = evs[i].ID
	}
	return out, nil
}

func benchConfig(name string, order Order) Config {
	return Config{
		Name: name, Bus: "default", Concurrency: 4,
		Selection: Selection{Since: t0.Add(-time.Hour), Until: t0.Add(1000 * time.Hour), Order: order},
	}
}

// BenchmarkReplay measures events/s from a generated store through
// select, order, batch, publish (a no-op bus) and a checkpoint per batch.
//
//	go test ./replay -run '^$' -bench 'BenchmarkReplay$' -benchtime 3x -count 5
func BenchmarkReplay(b *testing.B) {
	const n = 100_000
	for _, order := range []Order{OrderAggregate, OrderTime} {
		b.Run(string(order), func(b *testing.B) {
			var total time.Duration
			for i := 0; b.Loop(); i++ {
				bus := &nopBus{}
				start := time.Now()
				sum, err := Run(context.Background(), benchConfig(fmt.Sprint("bench-", i), order), genStore{n: n, aggs: 1000}, bus, NewMemCheckpoints())
				total += time.Since(start)
				if err != nil || sum.Published != n {
					b.Fatalf("%+v %v", sum, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "events/s")
		})
	}
}

// BenchmarkReplayMemory replays 250,000 and 1,000,000 generated events
// (spilling sorted runs) and reports the peak live Go heap, which stays flat
// as n grows, and the process's peak RSS (a high-water mark over the whole
// test process: run one size alone to read it):
//
//	go test ./replay -run '^$' -bench 'BenchmarkReplayMemory/n=1000000' -benchtime 1x -count 3
func BenchmarkReplayMemory(b *testing.B) {
	for _, n := range []int{250_000, 1_000_000} {
		b.Run(fmt.Sprint("n=", n), func(b *testing.B) { benchMemory(b, n) })
	}
}

func benchMemory(b *testing.B, n int) {
	for i := 0; b.Loop(); i++ {
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			for {
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
		bus := &nopBus{}
		start := time.Now()
		sum, err := Run(context.Background(), benchConfig(fmt.Sprint("mem-", i), OrderAggregate), genStore{n: n, aggs: 10_000}, bus, NewMemCheckpoints())
		el := time.Since(start)
		close(stop)
		<-done
		if err != nil || sum.Published != int64(n) {
			b.Fatalf("%+v %v", sum, err)
		}
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		if hwm := vmHWM(); hwm > 0 {
			b.ReportMetric(hwm, "peak-RSS-MB")
		}
	}
}

// vmHWM is the process's peak resident set in MB (Linux), or 0.
func vmHWM() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
