package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/filter/stored"
	"github.com/evcli/evcli/providers"
)

// The store that `evcli filter test --since 24h` reads in
// BenchmarkFilterSince: $EVCLI_SINCE_EVENTS events (default 1,000,000) in
// the 24 hours before sinceNow, four detail-types, built once into
// $EVCLI_SINCE_STORE (default: a directory under the system temp dir, kept
// between runs; delete it to rebuild).

var sinceNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

var (
	sinceOnce sync.Once
	sinceDB   *DB
	sinceN    int
	sinceErr  error
)

func sinceStore(b *testing.B) (*DB, int) {
	b.Helper()
	sinceOnce.Do(func() {
		sinceN = 1_000_000
		if s := os.Getenv("EVCLI_SINCE_EVENTS"); s != "" {
			sinceN, _ = strconv.Atoi(s)
		}
		dir := os.Getenv("EVCLI_SINCE_STORE")
		if dir == "" {
			dir = filepath.Join(os.TempDir(), fmt.Sprintf("evcli-bench-since-%d", sinceN))
		}
		db, err := Open(dir, WithSynchronous("OFF"))
		if err != nil {
			sinceErr = err
			return
		}
		have, err := db.LastEventSeq(context.Background())
		if err != nil {
			sinceErr = err
			return
		}
		types := []string{"OrderPlaced", "OrderShipped", "PaymentTaken", "StockReserved"}
		step := 24 * time.Hour / time.Duration(sinceN)
		for i := int(have); i < sinceN; i += 1000 {
			evs := make([]providers.StoredEvent, 0, 1000)
			for j := i; j < min(i+1000, sinceN); j++ {
				evs = append(evs, providers.StoredEvent{Event: providers.Event{
					Version: "0", ID: fmt.Sprintf("ev-%08d", j), Source: "shop.orders", DetailType: types[j%4],
					Time: sinceNow.Add(-24*time.Hour + time.Duration(j)*step), Account: "000000000000", Region: "us-east-1",
					Resources: []string{},
					Detail: json.RawMessage(fmt.Sprintf(`{"orderId":"o-%d","customer":{"id":"c-%d","tier":"%s"},"total":%d.%02d,"currency":"EUR","items":[{"sku":"s-%d","qty":%d}]}`,
						j, j%5000, []string{"gold", "silver", "bronze"}[j%3], j%500, j%100, j%977, 1+j%4)),
				}})
			}
			if _, err := db.AppendEvents(context.Background(), evs); err != nil {
				sinceErr = err
				return
			}
		}
		sinceDB = db
	})
	if sinceErr != nil {
		b.Fatal(sinceErr)
	}
	return sinceDB, sinceN
}

// sincePatterns are what a user tests against a day of events.
var sincePatterns = []string{
	`{"detail-type":["OrderShipped"],"detail":{"total":[{"numeric":[">",400]}]}}`,
	`{"source":["shop.orders"],"detail":{"customer":{"tier":["gold"]},"currency":["EUR"]}}`,
	`{"detail":{"items":{"sku":[{"prefix":"s-97"}]}}}`,
}

func sinceRules(b *testing.B) *filter.RuleSet {
	rs := filter.NewRuleSet()
	for i, p := range sincePatterns {
		pat, err := filter.Parse([]byte(p))
		if err != nil {
			b.Fatal(err)
		}
		rs.Add(strconv.Itoa(i), pat)
	}
	return rs
}

// BenchmarkFilterSince is `evcli filter test --since 24h` over the store:
// read the window and match every event against three patterns. One op is
// one event. filter-since-N is cmd/filter.go's runFilterSince now
// (stored.Match, N readers); stored-envelope is how it was before that
// (Events, the stored envelope matched as it is); decode-reencode is how it
// was before that (each envelope decoded by Events, encoded
// again by providers.MarshalEnvelope, then matched).
func BenchmarkFilterSince(b *testing.B) {
	db, n := sinceStore(b)
	ctx := context.Background()
	q := providers.EventQuery{Since: sinceNow.Add(-24 * time.Hour)}
	run := func(b *testing.B, pass func(rs *filter.RuleSet) (events, matched int)) {
		rs := sinceRules(b)
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		total, matched := 0, 0
		for total < b.N {
			e, m := pass(rs)
			if e != n {
				b.Fatalf("read %d events, want %d", e, n)
			}
			total, matched = total+e, matched+m
		}
		el := time.Since(start)
		b.ReportMetric(float64(total)/el.Seconds(), "events/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(total), "cpu-ns/event")
		b.ReportMetric(float64(el.Nanoseconds())/float64(total), "ns/event")
		_ = matched
	}
	b.Run("stored-envelope", func(b *testing.B) {
		// runFilterSince before stored.Match: Events (a page read ahead while
		// this one is matched), the stored envelope bytes matched as they are.
		run(b, func(rs *filter.RuleSet) (int, int) {
			events, matched := 0, 0
			var dst []string
			for ev, err := range db.Events(ctx, q) {
				if err != nil {
					b.Fatal(err)
				}
				events++
				if dst, err = rs.AppendMatches(dst[:0], ev.Envelope); err != nil {
					b.Fatal(err)
				}
				if len(dst) > 0 {
					matched++
				}
			}
			return events, matched
		})
	})
	for _, readers := range []int{1, 2} {
		b.Run(fmt.Sprintf("filter-since-%d", readers), func(b *testing.B) {
			// runFilterSince now: stored.Match over the store's
			// EachEnvelopes (seq, detail-type and envelope only, nothing
			// decoded), readers connections each matching its own pages.
			run(b, func(rs *filter.RuleSet) (int, int) {
				res, err := stored.Match(ctx, db, q, rs, stored.Options{Samples: 3, Readers: readers})
				if err != nil {
					b.Fatal(err)
				}
				return int(res.Events), int(res.Matched)
			})
		})
	}
	b.Run("decode-reencode", func(b *testing.B) {
		run(b, func(rs *filter.RuleSet) (int, int) {
			events, matched := 0, 0
			var dst []string
			for ev, err := range db.Events(ctx, q) {
				if err != nil {
					b.Fatal(err)
				}
				raw, err := providers.MarshalEnvelope(&ev.Event)
				if err != nil {
					b.Fatal(err)
				}
				events++
				if dst, err = rs.AppendMatches(dst[:0], raw); err != nil {
					b.Fatal(err)
				}
				if len(dst) > 0 {
					matched++
				}
			}
			return events, matched
		})
	})
}
