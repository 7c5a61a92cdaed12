package gcp

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/gcptest"
)

// TestLogsBackfillWithinTheQuota: a past window is read with
// ListLogEntries, a throttled page is asked again, and each Cloud Run
// request log is a REPORT line that providers.ParseReportLine reads.
func TestLogsBackfillWithinTheQuota(t *testing.T) {
	h, p := deployEnv(t, "shop")
	ctx := context.Background()
	fd := h.fn(t, "shop", "orders", 1)
	if err := p.Deployer.ApplyFunction(ctx, fd, true, nil); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Second)
	for _, body := range []string{`{"mark":"a"}`, `{"mark":"b","fail":"no stock"}`} {
		if _, err := p.Invoker.Invoke(ctx, "orders", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	h.fake.Fail("ListLogEntries", status.Error(codes.ResourceExhausted, "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'"))
	lines, errc := p.Logs.Logs(ctx, providers.LogQuery{Functions: []string{"orders"}, Since: since})
	var got []providers.LogLine
	for l := range lines {
		got = append(got, l)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Logs: %v (a throttled page is asked again)", err)
	}
	var reports, marks int
	for _, l := range got {
		if l.Function != "orders" || l.Token == "" || l.RequestID == "" {
			t.Errorf("line %+v: want function orders, a token and a request id", l)
		}
		if r, ok := providers.ParseReportLine(l.Message); ok {
			reports++
			if r.RequestID != l.RequestID || r.MemorySizeMB != 256 || r.DurationMs <= 0 {
				t.Errorf("REPORT %q read as %+v", l.Message, r)
			}
			if strings.Contains(l.Message, "Status: error") != (r.Outcome == "error") || (reports == 2) != (r.Outcome == "error") {
				t.Errorf("REPORT %q: outcome %s", l.Message, r.Outcome)
			}
		}
		if strings.HasPrefix(l.Message, "conformance id=") {
			marks++
		}
	}
	if reports != 2 || marks != 2 {
		t.Errorf("%d REPORT lines and %d handler lines, want 2 of each:\n%+v", reports, marks, got)
	}
	if n := h.fake.ListCalls(); n != 2 {
		t.Errorf("%d ListLogEntries calls, want 2 (one throttled, one answered)", n)
	}
}

// TestMetricsMemoryIsTheMinutesPeakBound: an invocation's max memory used
// is the upper bound of the highest utilization bucket of its minute
// (100 of 256 MB is in the bucket up to 0.4: 103 MB), never less than it used.
func TestMetricsMemoryIsTheMinutesPeakBound(t *testing.T) {
	h, p := deployEnv(t, "shop", gcptest.WithInvoke(func(_ *functionspb.Function, _ []byte, _ http.Header, body []byte) gcptest.Result {
		return gcptest.Result{Status: 200, Body: body, MemoryMB: 100}
	}))
	ctx := context.Background()
	if err := p.Deployer.ApplyFunction(ctx, h.fn(t, "shop", "orders", 1), true, nil); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Second)
	if _, err := p.Invoker.Invoke(ctx, "orders", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var recs []providers.InvocationRecord
	for r, err := range p.Metrics.Invocations(ctx, "orders", since, time.Now().Add(time.Minute)) {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 1 || recs[0].MaxMemoryUsedMB != 103 || recs[0].MemorySizeMB != 256 || recs[0].BilledDurationMs != 100 || recs[0].Outcome != "ok" {
		t.Errorf("records = %+v, want one of 103 of 256 MB, billed 100 ms, ok", recs)
	}
	if _, err := collect(p.Metrics.Invocations(ctx, "nope", since, time.Now())); providers.CodeOf(err) != providers.NotFound {
		t.Errorf("Invocations of an unknown function: %v, want NotFound", err)
	}
}

func collect(seq func(func(providers.InvocationRecord, error) bool)) ([]providers.InvocationRecord, error) {
	var out []providers.InvocationRecord
	for r, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
