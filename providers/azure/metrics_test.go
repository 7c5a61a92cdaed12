package azure

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azmetrics"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/azure/aztest"
)

const testApp = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/sites/shop-app"

func testMetrics(t *testing.T, srv *aztest.MetricsServer, mem int, mod func(*metricsConfig)) (*metricsSource, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	cfg := metricsConfig{Credential: testToken{}, Endpoint: srv.URL(), SubscriptionID: "sub",
		App:              func(string) string { return testApp },
		InstanceMemoryMB: func(context.Context, string) (int, error) { return mem, nil },
		Sleep:            sl.sleep,
		ClientOptions:    &azmetrics.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client()}}}
	if mod != nil {
		mod(&cfg)
	}
	m, err := newMetrics(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, sl
}

// TestMetricsInvocations turns a minute's executions and execution units
// into records of the minute's mean duration at the instance memory.
func TestMetricsInvocations(t *testing.T) {
	srv := aztest.NewMetrics(nil)
	defer srv.Close()
	until := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	since := until.Add(-time.Hour)
	m1, m2 := since.Add(10*time.Minute), since.Add(20*time.Minute)
	// Minute 1: 3 executions on demand of 200 ms at 2048 MB, working set
	// peaking at 300 MB. Minute 2: 2 executions, one on an always-ready
	// instance, of 50 ms; working set beyond the instance (clamped).
	srv.Add(testApp, "OnDemandFunctionExecutionCount", aztest.MetricPoint{Time: m1, Total: 2}, aztest.MetricPoint{Time: m1.Add(30 * time.Second), Total: 1},
		aztest.MetricPoint{Time: m2, Total: 1})
	srv.Add(testApp, "OnDemandFunctionExecutionUnits", aztest.MetricPoint{Time: m1, Total: 3 * 200 * 2048}, aztest.MetricPoint{Time: m2, Total: 50 * 2048})
	srv.Add(testApp, "AlwaysReadyFunctionExecutionCount", aztest.MetricPoint{Time: m2, Total: 1})
	srv.Add(testApp, "AlwaysReadyFunctionExecutionUnits", aztest.MetricPoint{Time: m2, Total: 50 * 2048})
	srv.Add(testApp, "MemoryWorkingSet", aztest.MetricPoint{Time: m1, Maximum: 300 << 20}, aztest.MetricPoint{Time: m2, Maximum: 3000 << 20})
	srv.Add(testApp, "OnDemandFunctionExecutionCount", aztest.MetricPoint{Time: since.Add(-time.Minute), Total: 9}) // before the window
	m, _ := testMetrics(t, srv, 2048, nil)
	var got []providers.InvocationRecord
	for r, err := range m.Invocations(context.Background(), "orders", since, until) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 5 {
		t.Fatalf("%d records, want 5: %+v", len(got), got)
	}
	ids := map[string]bool{}
	for i, r := range got {
		wantDur, wantUsed, wantAt := 200.0, 300, m1
		if i < 2 { // newest minute first
			wantDur, wantUsed, wantAt = 50, 2048, m2
		}
		if math.Abs(r.DurationMs-wantDur) > 1e-9 || r.MaxMemoryUsedMB != wantUsed || r.MemorySizeMB != 2048 || !r.Time.Equal(wantAt) || r.Function != "orders" {
			t.Errorf("record %d = %+v: want %v ms, %d of 2048 MB used, at %s", i, r, wantDur, wantUsed, wantAt)
		}
		if ids[r.RequestID] || r.RequestID == "" {
			t.Errorf("request id %q empty or repeated", r.RequestID)
		}
		ids[r.RequestID] = true
	}
	n, errs, thr, err := m.InvocationTotals(context.Background(), "orders", since, until)
	if err != nil || n != 5 || errs != 0 || thr != 0 {
		t.Errorf("totals = %d %d %d %v, want 5 0 0", n, errs, thr, err)
	}
	gbs, err := m.GBSeconds(context.Background(), "orders", since, until)
	if want := float64(3*200*2048+2*50*2048) / 1_024_000; err != nil || math.Abs(gbs-want) > 1e-9 {
		t.Errorf("GB-s = %v %v, want %v", gbs, err, want)
	}
}

func TestMetricsErrors(t *testing.T) {
	srv := aztest.NewMetrics(nil)
	defer srv.Close()
	until := time.Now().UTC().Truncate(time.Minute)
	since := until.Add(-10 * time.Minute)

	m, sl := testMetrics(t, srv, 512, nil)
	srv.Throttle(2)
	if _, _, _, err := m.InvocationTotals(context.Background(), "f", since, until); err != nil {
		t.Errorf("after two 429s: %v", err)
	}
	waits := 0
	for _, d := range sl.all() {
		if d == 2*time.Second {
			waits++
		}
	}
	if waits != 2 {
		t.Errorf("sleeps %v: want two of the Retry-After (2s)", sl.all())
	}

	// The legacy plan's meters do not exist on a Flex app: 400, named.
	legacy, _ := testMetrics(t, srv, 512, func(c *metricsConfig) { c.Plan = "consumption" })
	_, _, _, err := legacy.InvocationTotals(context.Background(), "f", since, until)
	if providers.CodeOf(err) != providers.InvalidArgument || !strings.Contains(err.Error(), "FunctionExecutionCount") {
		t.Errorf("legacy meters on Flex: %v (code %v), want InvalidArgument naming the metric", err, providers.CodeOf(err))
	}

	for _, c := range []struct {
		cfg  metricsConfig
		code providers.Code
	}{
		{metricsConfig{SubscriptionID: "s", Credential: testToken{}}, providers.Unconfigured},
		{metricsConfig{Region: "eastus", Credential: testToken{}}, providers.Unconfigured},
		{metricsConfig{Region: "eastus", SubscriptionID: "s"}, providers.Unauthenticated},
	} {
		if _, err := newMetrics(c.cfg); providers.CodeOf(err) != c.code {
			t.Errorf("newMetrics(%+v) = %v, want code %v", c.cfg, err, c.code)
		}
	}
}

func TestMetricsInterval(t *testing.T) {
	for _, c := range []struct {
		window time.Duration
		want   string
	}{{time.Hour, "PT1M"}, {24 * time.Hour, "PT1M"}, {7 * 24 * time.Hour, "PT5M"}, {30 * 24 * time.Hour, "PT1H"}} {
		if got, _ := metricsInterval(c.window); got != c.want {
			t.Errorf("interval for %v = %s, want %s", c.window, got, c.want)
		}
	}
}

func TestValidFlexMemory(t *testing.T) {
	for mb, ok := range map[int]bool{512: true, 2048: true, 4096: true, 1024: false, 128: false} {
		if err := validFlexMemory(mb); (err == nil) != ok {
			t.Errorf("validFlexMemory(%d) = %v", mb, err)
		}
	}
}

// TestMetricsFromRequests: with App Insights' requests at hand, the
// records are the function's own invocations (duration, invocation id,
// outcome), the memory used the app's working set of their minute.
func TestMetricsFromRequests(t *testing.T) {
	msrv := aztest.NewMetrics(nil)
	defer msrv.Close()
	lsrv := aztest.NewLogs()
	defer lsrv.Close()
	until := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	since := until.Add(-time.Hour)
	m1 := since.Add(10 * time.Minute)
	msrv.Add(testApp, "MemoryWorkingSet", aztest.MetricPoint{Time: m1, Maximum: 700 << 20})
	msrv.Add(testApp, "OnDemandFunctionExecutionCount", aztest.MetricPoint{Time: m1, Total: 3})
	req := func(at time.Time, id, fn string, ms float64, ok bool) aztest.Request {
		return aztest.Request{Time: at, ID: "op-" + id, Operation: fn, Role: "shop-app", DurationMs: ms, Success: ok, Dimensions: map[string]string{"InvocationId": id}}
	}
	lsrv.AddRequests(req(m1.Add(time.Second), "i1", "orders", 120.5, true), req(m1.Add(2*time.Second), "i2", "orders", 80, false),
		req(m1.Add(3*time.Second), "i3", "billing", 999, true), req(since.Add(-time.Minute), "i0", "orders", 5, true))
	logs, _ := testLogs(t, lsrv, nil)
	m, _ := testMetrics(t, msrv, 2048, func(c *metricsConfig) { c.Requests = logs })
	var got []string
	for r, err := range m.Invocations(context.Background(), "orders", since, until) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %v %s %d/%d", r.RequestID, r.DurationMs, r.Outcome, r.MaxMemoryUsedMB, r.MemorySizeMB))
	}
	want := []string{"i2 80 error 700/2048", "i1 120.5 ok 700/2048"}
	if !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
}
