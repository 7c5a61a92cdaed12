package azure

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/azure/aztest"
	"github.com/evcli/evcli/tail"
)

// testToken is a credential that hands out a fixed token.
type testToken struct{}

func (testToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "test-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// sleeps records the source's sleeps and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

const testComponent = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Insights/components/shop-ai"

func testLogs(t *testing.T, srv *aztest.LogsServer, mod func(*logsConfig)) (*insightsLogs, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	cfg := logsConfig{Credential: testToken{}, Endpoint: srv.URL(), ResourceID: testComponent, App: "shop-app",
		Sleep: sl.sleep, ClientOptions: &azlogs.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client()}}}
	if mod != nil {
		mod(&cfg)
	}
	s, err := newLogs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, sl
}

func trace(at time.Time, id, fn, msg string, dims map[string]string) aztest.Trace {
	if dims == nil {
		dims = map[string]string{}
	}
	if _, ok := dims["InvocationId"]; !ok {
		dims["InvocationId"] = "inv-" + id
	}
	return aztest.Trace{Time: at, ItemID: id, Message: msg, Operation: fn, Role: "shop-app", Instance: "i-1", Severity: 1, Dimensions: dims}
}

// collect reads lines until n have come, failing when the stream ends first.
func collect(t *testing.T, lines <-chan providers.LogLine, errc <-chan error, n int) []providers.LogLine {
	t.Helper()
	var got []providers.LogLine
	for len(got) < n {
		l, ok := <-lines
		if !ok {
			t.Fatalf("the stream ended (%v) after %d lines of %d", <-errc, len(got), n)
		}
		got = append(got, l)
	}
	return got
}

func tokens(ls []providers.LogLine) string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.Token)
	}
	return strings.Join(ids, " ")
}

// TestLogsFollow follows through polling rounds: a record ingested late
// (its time before what was already printed, within the overlap) is
// printed once, none twice, and a 429 is waited out for its Retry-After.
func TestLogsFollow(t *testing.T) {
	srv := aztest.NewLogs()
	defer srv.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	since := now.Add(-time.Minute)
	srv.Add(trace(since.Add(1*time.Second), "r1", "orders", "first", nil),
		trace(since.Add(2*time.Second), "r2", "orders", "second", nil),
		trace(since.Add(3*time.Second), "r3", "billing", "other function", nil),
		trace(since.Add(-time.Second), "r0", "orders", "before since", nil),
		aztest.Trace{Time: since.Add(4 * time.Second), ItemID: "rx", Operation: "orders", Role: "other-app", Message: "another app"},
		aztest.Trace{Time: since.Add(4 * time.Second), ItemID: "rh", Role: "shop-app", Message: "Host started"})
	s, sl := testLogs(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, errc := s.Logs(ctx, providers.LogQuery{Functions: []string{"orders"}, Since: since, Follow: true})
	first := collect(t, lines, errc, 2)
	if got := tokens(first); got != "r1 r2" {
		t.Fatalf("first lines %q, want r1 r2", got)
	}
	if first[0].RequestID != "inv-r1" || first[0].Function != "orders" || first[0].Provider != "azure" || first[0].Stream != "i-1" {
		t.Errorf("line %+v: want request id inv-r1 (the invocation), function orders, stream i-1", first[0])
	}
	// A record that was delayed in ingestion (older than r2), a new one,
	// and two throttled requests on the way.
	srv.Throttle(2)
	srv.Add(trace(since.Add(1500*time.Millisecond), "r1b", "orders", "late", nil),
		trace(since.Add(5*time.Second), "r4", "orders", "new", nil))
	more := collect(t, lines, errc, 2)
	got := tokens(more)
	if got != "r1b r4" {
		t.Fatalf("next lines %q, want r1b r4 (the late one, then the new one)", got)
	}
	// More rounds pass: nothing comes again.
	for r := srv.Requests(); srv.Requests() < r+3; {
		select {
		case l := <-lines:
			t.Fatalf("a line came again: %+v", l)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	for l := range lines {
		t.Errorf("a line after cancel: %+v", l)
	}
	var retryAfter int
	for _, d := range sl.all() {
		if d == time.Second {
			retryAfter++
		}
	}
	if retryAfter < 2 {
		t.Errorf("sleeps %v: want two of 1s (the 429s' Retry-After)", sl.all())
	}
	q := srv.Queries()[0]
	for _, want := range []string{`cloud_RoleName == "shop-app"`, `operation_Name in ("orders")`, "order by timestamp asc, itemId asc"} {
		if !strings.Contains(q, want) {
			t.Errorf("the query does not say %s:\n%s", want, q)
		}
	}
}

// TestLogsPages reads more rows than one query takes, without following.
func TestLogsPages(t *testing.T) {
	srv := aztest.NewLogs()
	defer srv.Close()
	since := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("p%d", i)
		srv.Add(trace(since.Add(time.Duration(i/2)*time.Second), id, "orders", "line "+id, nil)) // two rows share each time
		want = append(want, id)
	}
	srv.Add(aztest.Trace{Time: since.Add(time.Second), ItemID: "host", Role: "shop-app", Message: "Host lock lease acquired"}) // no function: not tail's
	s, _ := testLogs(t, srv, func(c *logsConfig) { c.PageRows = 3 })
	lines, errc := s.Logs(context.Background(), providers.LogQuery{Since: since})
	var got []providers.LogLine
	for l := range lines {
		got = append(got, l)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if tokens(got) != strings.Join(want, " ") {
		t.Errorf("lines %q, want %q", tokens(got), strings.Join(want, " "))
	}
	if n := srv.Requests(); n < 3 {
		t.Errorf("%d queries for 7 rows 3 a page: want at least 3", n)
	}
}

// TestLogsCorrelation: tail finds the correlation id of a trace in its
// custom dimensions (structured logging's prop__ names) or in its message.
func TestLogsCorrelation(t *testing.T) {
	srv := aztest.NewLogs()
	defer srv.Close()
	since := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	srv.Add(trace(since.Add(1*time.Second), "c1", "orders", "Order placed", map[string]string{"prop__correlationId": "corr-dim"}),
		trace(since.Add(2*time.Second), "c2", "orders", `{"msg":"paid","correlationId":"corr-msg"}`, nil),
		trace(since.Add(3*time.Second), "c3", "orders", "plain", nil))
	s, _ := testLogs(t, srv, nil)
	lines, errc := s.Logs(context.Background(), providers.LogQuery{Since: since})
	p, err := tail.NewParser(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for l := range lines {
		r := p.Parse(l)
		got = append(got, r.Message+"|"+r.CorrelationID+"|"+r.RequestID)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	want := []string{"Order placed|corr-dim|inv-c1", "paid|corr-msg|inv-c2", "plain||inv-c3"}
	if !slices.Equal(got, want) {
		t.Errorf("parsed\n %q\nwant\n %q", got, want)
	}
}

func TestLogsErrors(t *testing.T) {
	srv := aztest.NewLogs()
	defer srv.Close()
	s, sl := testLogs(t, srv, func(c *logsConfig) { c.ResourceID = ""; c.WorkspaceID = "ws-1" })
	srv.Throttle(100)
	lines, errc := s.Logs(context.Background(), providers.LogQuery{})
	for range lines {
	}
	err := <-errc
	if providers.CodeOf(err) != providers.Throttled {
		t.Errorf("after persistent 429s: %v (code %v), want Throttled", err, providers.CodeOf(err))
	}
	if n := len(sl.all()); n < 8 {
		t.Errorf("%d sleeps: want a backoff before giving up", n)
	}
	if _, err := newLogs(logsConfig{Credential: testToken{}}); providers.CodeOf(err) != providers.Unconfigured {
		t.Errorf("no component: %v, want Unconfigured", err)
	}
	if _, err := newLogs(logsConfig{ResourceID: testComponent}); providers.CodeOf(err) != providers.Unauthenticated {
		t.Errorf("no credential: %v, want Unauthenticated", err)
	}
}

// TestBudget: requests share one budget, spaced 1/rate apart.
func TestBudget(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sl := &sleeps{}
	b := newAzBudget(2, func() time.Time { return now }, sl.sleep)
	for range 3 {
		if err := b.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := sl.all(); !slices.Equal(got, []time.Duration{500 * time.Millisecond, time.Second}) {
		t.Errorf("sleeps %v, want [500ms 1s]", got)
	}
}

// FuzzDecodeTraces: any cell values decode or fail, never panic.
func FuzzDecodeTraces(f *testing.F) {
	f.Add("2026-12-01T10:00:00.1234567Z", "id-1", "hello", `{"InvocationId":"i","prop__correlationId":"c"}`)
	f.Add("not a time", "", "", `{`)
	f.Add("2026-12-01T10:00:00Z", "", `{"correlationId":"x"}`, `[]`)
	f.Fuzz(func(t *testing.T, ts, id, msg, dims string) {
		name := func(s string) *string { return &s }
		tables := []azlogs.Table{{
			Columns: []azlogs.Column{{Name: name("timestamp")}, {Name: name("itemId")}, {Name: name("message")}, {Name: name("customDimensions")}},
			Rows:    []azlogs.Row{{ts, id, msg, dims}, {ts}},
		}}
		rows, err := decodeTraces(tables)
		if err != nil {
			return
		}
		s := &insightsLogs{}
		for _, r := range rows {
			if r.id == "" {
				t.Errorf("a row without a token: %+v", r)
			}
			_ = s.line(r, nil)
		}
	})
}

// TestLogsResume is the conformance suite's resume by time: a second
// session from the last line's time yields that line again with the same
// token, nothing before it, and everything after it.
func TestLogsResume(t *testing.T) {
	srv := aztest.NewLogs()
	defer srv.Close()
	since := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Millisecond)
	for i := range 3 {
		srv.Add(trace(since.Add(time.Duration(i)*time.Second), fmt.Sprintf("a%d", i), "orders", "first session", nil))
	}
	s, _ := testLogs(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	lines, errc := s.Logs(ctx, providers.LogQuery{Functions: []string{"orders"}, Since: since, Follow: true})
	first := collect(t, lines, errc, 3)
	cancel()
	for range lines {
	}
	last := first[len(first)-1]
	for i := range 2 {
		srv.Add(trace(last.Time.Add(time.Duration(i+1)*time.Millisecond), fmt.Sprintf("b%d", i), "orders", "while nobody follows", nil))
	}
	lines, errc = s.Logs(context.Background(), providers.LogQuery{Functions: []string{"orders"}, Since: last.Time})
	var again []providers.LogLine
	for l := range lines {
		again = append(again, l)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := tokens(again); got != "a2 b0 b1" {
		t.Errorf("resumed at %s: %q, want a2 b0 b1", last.Time, got)
	}
}

// TestLogsPagesOneTime: more rows share one time than a page takes; the
// cursor (time, record id) still reads each once.
func TestLogsPagesOneTime(t *testing.T) {
	srv := aztest.NewLogs()
	defer srv.Close()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("s%d", i)
		srv.Add(trace(at, id, "orders", "same time", nil))
		want = append(want, id)
	}
	s, _ := testLogs(t, srv, func(c *logsConfig) { c.PageRows = 2 })
	lines, errc := s.Logs(context.Background(), providers.LogQuery{Since: at})
	var got []providers.LogLine
	for l := range lines {
		got = append(got, l)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if tokens(got) != strings.Join(want, " ") {
		t.Errorf("lines %q, want %q", tokens(got), strings.Join(want, " "))
	}
	if n := srv.Requests(); n != 3 {
		t.Errorf("%d queries for 5 rows 2 a page, want 3", n)
	}
}

// TestLogsNameEveryFunctionByItsApp: a tail of every function (no
// --function) reads all of the component's apps; each app's trigger is
// called "events", so each line is named by its app's function, from the
// listing of the project's apps, and an app the listing does not know
// keeps the trigger's name.
func TestLogsNameEveryFunctionByItsApp(t *testing.T) {
	srv := aztest.NewLogs()
	defer srv.Close()
	since := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	tr := func(at int, id, app string) aztest.Trace {
		x := trace(since.Add(time.Duration(at)*time.Second), id, "events", "line of "+app, nil)
		x.Role = app
		return x
	}
	srv.Add(tr(1, "a1", "shop-payment-abc123"), tr(2, "a2", "shop-inventory-abc123"), tr(3, "a3", "other-app"))
	listed := 0
	s, _ := testLogs(t, srv, func(c *logsConfig) {
		c.App, c.ByApp = "", true
		c.Apps = func(context.Context) (map[string]string, error) {
			listed++
			return map[string]string{"shop-payment-abc123": "payment", "shop-inventory-abc123": "inventory"}, nil
		}
	})
	lines, errc := s.Logs(context.Background(), providers.LogQuery{Since: since})
	var got []string
	for l := range lines {
		got = append(got, l.Function)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if want := []string{"payment", "inventory", "events"}; !slices.Equal(got, want) {
		t.Errorf("functions %q, want %q", got, want)
	}
	if listed != 1 {
		t.Errorf("the apps were listed %d times, want once", listed)
	}
	// Named functions need no listing.
	lines, errc = s.Logs(context.Background(), providers.LogQuery{Since: since, Functions: []string{"payment"}})
	for range lines {
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if listed != 1 {
		t.Errorf("a tail of named functions listed the apps")
	}
}
