package aws

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/evcli/evcli/providers"
)

func reportRow(i int, mem int, d float64, init float64) []map[string]string {
	row := []map[string]string{
		{"field": "@timestamp", "value": fmt.Sprintf("2026-11-20 10:00:%02d.000", i%60)},
		{"field": "@requestId", "value": fmt.Sprintf("req-%d", i)},
		{"field": "@duration", "value": fmt.Sprint(d)},
		{"field": "@billedDuration", "value": fmt.Sprint(int(d) + 1)},
		{"field": "@memorySize", "value": fmt.Sprintf("%d", mem*1000000)},
		{"field": "@maxMemoryUsed", "value": "72000000"},
		{"field": "@message", "value": fmt.Sprintf("REPORT RequestId: req-%d\tDuration: %v ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: 72 MB\t", i, d, int(d)+1, mem)},
	}
	if init > 0 {
		row = append(row, map[string]string{"field": "@initDuration", "value": fmt.Sprint(init)})
	}
	return row
}

func TestMetricsSourceInvocations(t *testing.T) {
	f := newTuneFake(t)
	for i := range 25 {
		init := 0.0
		if i == 0 {
			init = 210.5
		}
		f.logRows = append(f.logRows, reportRow(i, 512, 40+float64(i), init))
	}
	f.logPages = 3
	f.queryPolls = 2
	m := NewMetricsSource(f.config(), &MetricsOptions{Sleep: instant})
	since := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	until := since.Add(7 * 24 * time.Hour)
	var recs []providers.InvocationRecord
	for r, err := range m.Invocations(context.Background(), "orders", since, until) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 25 {
		t.Fatalf("got %d records, want 25 (over 3 pages)", len(recs))
	}
	r0 := recs[0]
	want := providers.InvocationRecord{Function: "orders", RequestID: "req-0", Time: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		DurationMs: 40, BilledDurationMs: 41, MemorySizeMB: 512, MaxMemoryUsedMB: 72, InitDurationMs: 210.5, Outcome: "ok"}
	if r0 != want {
		t.Fatalf("record 0 = %+v\nwant       %+v", r0, want)
	}
	in := f.startInputs[0]
	if in["logGroupName"] != "/aws/lambda/orders" || in["startTime"] != float64(since.Unix()) || in["endTime"] != float64(until.Unix()) {
		t.Fatalf("StartQuery input %v", in)
	}
	if len(f.stopped) != 0 {
		t.Fatalf("a completed query was stopped: %v", f.stopped)
	}

	// A missing log group is NotFound, named.
	for _, err := range m.Invocations(context.Background(), "missing", since, until) {
		if providers.CodeOf(err) != providers.NotFound {
			t.Fatalf("missing log group: %v (code %v)", err, providers.CodeOf(err))
		}
	}
}

func TestMetricsSourceStopsQueryOnCancel(t *testing.T) {
	f := newTuneFake(t)
	f.queryPolls = 1000
	ctx, cancel := context.WithCancel(context.Background())
	polls := 0
	m := NewMetricsSource(f.config(), &MetricsOptions{Sleep: func(ctx context.Context, d time.Duration) error {
		polls++
		if polls == 3 {
			cancel()
		}
		return ctx.Err()
	}})
	for _, err := range m.Invocations(ctx, "orders", time.Now().Add(-time.Hour), time.Now()) {
		if err == nil {
			t.Fatal("want an error")
		}
	}
	if len(f.stopped) != 1 || f.stopped[0] != "q-1" {
		t.Fatalf("the running query was not stopped: %v", f.stopped)
	}
}

func TestMetricsSourceTotals(t *testing.T) {
	f := newTuneFake(t)
	f.metricSums["Invocations"] = []float64{100, 200, 300, 400}
	f.metricSums["Errors"] = []float64{1, 0, 2, 0}
	f.metricSums["Throttles"] = []float64{0, 5, 0, 0}
	m := NewMetricsSource(f.config(), nil)
	since := time.Date(2026, 11, 19, 0, 30, 0, 0, time.UTC)
	inv, errs, thr, err := m.InvocationTotals(context.Background(), "orders", since, since.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if inv != 1000 || errs != 3 || thr != 5 || f.metricCalls != 2 {
		t.Fatalf("totals %d %d %d over %d calls", inv, errs, thr, f.metricCalls)
	}
	req := f.metricReqs[0]
	start, _ := cbor.AsTime(req["StartTime"])
	if !start.Equal(since.Truncate(time.Hour)) {
		t.Fatalf("start %v", start)
	}
	q := req["MetricDataQueries"].(cbor.List)[0].(cbor.Map)["MetricStat"].(cbor.Map)
	metric := q["Metric"].(cbor.Map)
	dim := metric["Dimensions"].(cbor.List)[0].(cbor.Map)
	if metric["Namespace"] != cbor.String("AWS/Lambda") || dim["Value"] != cbor.String("orders") || q["Stat"] != cbor.String("Sum") {
		t.Fatalf("query %v", q)
	}
}

func TestMetricsSourceHonoursEndpointURL(t *testing.T) {
	f := newTuneFake(t)
	f.metricSums["Invocations"] = []float64{7, 3}
	t.Setenv("AWS_ENDPOINT_URL", f.srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	cfg, err := LoadConfig(context.Background(), Options{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, _, err := NewMetricsSource(cfg, nil).InvocationTotals(context.Background(), "orders", time.Now().Add(-2*time.Hour), time.Now())
	if err != nil || inv != 10 {
		t.Fatalf("through AWS_ENDPOINT_URL: %d %v", inv, err)
	}
}
