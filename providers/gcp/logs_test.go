package gcp

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evcli/evcli/providers"
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
