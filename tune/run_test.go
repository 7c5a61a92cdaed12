package tune

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

type sliceMetrics []providers.InvocationRecord

func (s sliceMetrics) Invocations(ctx context.Context, fn string, since, until time.Time) iter.Seq2[providers.InvocationRecord, error] {
	return func(yield func(providers.InvocationRecord, error) bool) {
		for _, r := range s {
			if !yield(r, nil) {
				return
			}
		}
	}
}

type totalsMetrics struct{ sliceMetrics }

func (totalsMetrics) InvocationTotals(ctx context.Context, fn string, since, until time.Time) (int64, int64, int64, error) {
	return 10000, 12, 3, nil
}

type recordingProber struct {
	sizes []int
	fail  error
}

func (p *recordingProber) Probe(ctx context.Context, fn string, mem int, payload []byte, runs int) ([]providers.InvocationRecord, error) {
	p.sizes = append(p.sizes, mem)
	if p.fail != nil {
		return nil, p.fail
	}
	var out []providers.InvocationRecord
	for range runs {
		out = append(out, providers.InvocationRecord{DurationMs: 10, BilledDurationMs: 10, MaxMemoryUsedMB: 200, Outcome: "ok"})
	}
	return out, nil
}

func TestRunUsesTotalsAndSkipsSizesUnderTheFloor(t *testing.T) {
	m := totalsMetrics{sliceMetrics(records("f", 50, 1024, 10, 1, 300))}
	p := &recordingProber{}
	c := cfg(Cost)
	c.Sizes = []int{128, 256, 512, 2048}
	recs, err := Run(context.Background(), Options{Functions: []Function{{Name: "f", Price: c.Price}}, Since: t0, Until: t0.Add(7 * 24 * time.Hour),
		Config: c, Metrics: m, Totals: m, Prober: p, Payload: []byte(`{}`), Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	// floor: 300 MB * 1.2 = 360 MB: 128 and 256 MB are not probed.
	if fmt.Sprint(p.sizes) != "[512 1024 2048]" {
		t.Fatalf("probed %v", p.sizes)
	}
	r := recs[0]
	if r.Observations.Invocations != 10000 || !r.Observations.Sampled || r.Observations.Throttles != 3 {
		t.Fatalf("totals not applied: %+v", r.Observations)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "not probed: 128 MB, 256 MB, under the floor of 360 MB") {
		t.Fatalf("notes %v", r.Notes)
	}

	p.fail = errors.New("invoke: boom")
	if _, err := Run(context.Background(), Options{Functions: []Function{{Name: "f"}}, Config: c, Prober: p, Runs: 1}); err == nil || !strings.Contains(err.Error(), "probe f at") {
		t.Fatalf("want the probe error, got %v", err)
	}
}

type failingTotals struct{}

func (failingTotals) InvocationTotals(ctx context.Context, fn string, since, until time.Time) (int64, int64, int64, error) {
	return 0, 0, 0, errors.New("GetMetricData (CloudWatch's rpc-v2-cbor protocol; an emulator may not speak it): UnknownOperationException")
}

// When the totals fail, the REPORT rows still give a recommendation, and
// a note says the counts are the records' own and why.
func TestRunFallsBackToRecordsWhenTotalsFail(t *testing.T) {
	m := sliceMetrics(records("f", 50, 1024, 10, 1, 60))
	recs, err := Run(context.Background(), Options{Functions: []Function{{Name: "f", Price: cfg(Cost).Price}}, Since: t0, Until: t0.Add(7 * 24 * time.Hour),
		Config: cfg(Cost), Metrics: m, Totals: failingTotals{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Insufficient || recs[0].Observations.Invocations != 50 {
		t.Fatalf("recs = %+v", recs)
	}
	note := strings.Join(recs[0].Notes, ";")
	if !strings.Contains(note, "invocation totals unavailable") || !strings.Contains(note, "rpc-v2-cbor") || !strings.Contains(note, "50 invocation records") {
		t.Errorf("notes = %q", recs[0].Notes)
	}
}
