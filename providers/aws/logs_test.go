package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/eventstream"

	"github.com/evcli/evcli/providers"
)

// logsFake is a CloudWatch Logs endpoint speaking the JSON 1.1 wire protocol
// (X-Amz-Target: Logs_20140328.<Operation>) and, for StartLiveTail, the
// application/vnd.amazon.eventstream response stream.
type logsFake struct {
	mu       sync.Mutex
	t        *testing.T
	groups   []string
	events   map[string][]fakeEvent // by group name
	pageSize int
	// throttle answers this many FilterLogEvents calls with ThrottlingException.
	throttle int
	// deny answers FilterLogEvents with AccessDeniedException.
	deny bool
	// live: StartLiveTail behaviour; nil answers AccessDeniedException.
	live     func(w *liveWriter, req map[string]any)
	calls    []fakeCall
	clock    *fakeClock
	hostSeen []string
}

type fakeEvent struct {
	id, stream, msg string
	ts              int64
}

type fakeCall struct {
	op   string
	body map[string]any
	at   time.Time
}

func newLogsFake(t *testing.T) *logsFake {
	return &logsFake{t: t, events: map[string][]fakeEvent{}, pageSize: 2}
}

func (f *logsFake) add(group string, ts int64, id, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !logsContains(f.groups, group) {
		f.groups = append(f.groups, group)
	}
	f.events[group] = append(f.events[group], fakeEvent{id: id, stream: "2024/01/01/[$LATEST]abc", msg: msg, ts: ts})
	sort.SliceStable(f.events[group], func(i, j int) bool { return f.events[group][i].ts < f.events[group][j].ts })
}

func logsContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (f *logsFake) opCalls(op string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if c.op == op {
			out = append(out, c)
		}
	}
	return out
}

func writeErr(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":"%s","message":"%s"}`, typ, msg)
}

func (f *logsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "Logs_20140328.")
	if r.Method != http.MethodPost || !ok {
		writeErr(w, 400, "UnknownOperationException", "bad target "+target)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		writeErr(w, 400, "SerializationException", "content type "+ct)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeErr(w, 400, "MissingAuthenticationTokenException", "unsigned")
		return
	}
	var body map[string]any
	data, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(data, &body); err != nil {
		writeErr(w, 400, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	call := fakeCall{op: op, body: body}
	if f.clock != nil {
		call.at = f.clock.Now()
	}
	f.calls = append(f.calls, call)
	f.hostSeen = append(f.hostSeen, r.Host)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch op {
	case "DescribeLogGroups":
		prefix, _ := body["logGroupNamePrefix"].(string)
		var gs []map[string]any
		f.mu.Lock()
		for _, g := range f.groups {
			if strings.HasPrefix(g, prefix) {
				arn := "arn:aws:logs:us-east-1:123456789012:log-group:" + g
				gs = append(gs, map[string]any{"logGroupName": g, "arn": arn + ":*", "logGroupArn": arn})
			}
		}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"logGroups": gs})
	case "FilterLogEvents":
		f.mu.Lock()
		if f.deny {
			f.mu.Unlock()
			writeErr(w, 400, "AccessDeniedException", "User is not authorized to perform: logs:FilterLogEvents")
			return
		}
		if f.throttle > 0 {
			f.throttle--
			f.mu.Unlock()
			writeErr(w, 400, "ThrottlingException", "Rate exceeded")
			return
		}
		group, _ := body["logGroupName"].(string)
		evs, ok := f.events[group]
		if !ok && !logsContains(f.groups, group) {
			f.mu.Unlock()
			writeErr(w, 400, "ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		start := int64(0)
		if v, ok := body["startTime"].(float64); ok {
			start = int64(v)
		}
		var match []fakeEvent
		for _, e := range evs {
			if e.ts >= start {
				match = append(match, e)
			}
		}
		f.mu.Unlock()
		from := 0
		if tok, ok := body["nextToken"].(string); ok {
			from, _ = strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		}
		to := min(from+f.pageSize, len(match))
		resp := map[string]any{"events": []any{}, "searchedLogStreams": []any{}}
		var out []any
		for _, e := range match[from:to] {
			out = append(out, map[string]any{"eventId": e.id, "logStreamName": e.stream, "message": e.msg, "timestamp": e.ts, "ingestionTime": e.ts + 100})
		}
		if out != nil {
			resp["events"] = out
		}
		if to < len(match) {
			resp["nextToken"] = fmt.Sprintf("page-%d", to)
		}
		_ = json.NewEncoder(w).Encode(resp)
	case "StartLiveTail":
		if f.live == nil {
			writeErr(w, 400, "AccessDeniedException", "User is not authorized to perform: logs:StartLiveTail")
			return
		}
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.WriteHeader(200)
		lw := &liveWriter{w: w, enc: eventstream.NewEncoder(), ctx: r.Context()}
		lw.event("initial-response", map[string]any{})
		f.live(lw, body)
	default:
		writeErr(w, 400, "UnknownOperationException", op)
	}
}

// liveWriter writes event stream messages to a StartLiveTail response.
type liveWriter struct {
	w   http.ResponseWriter
	enc *eventstream.Encoder
	ctx context.Context
}

func (l *liveWriter) message(headers eventstream.Headers, payload any) {
	data, _ := json.Marshal(payload)
	var buf bytes.Buffer
	if err := l.enc.Encode(&buf, eventstream.Message{Headers: headers, Payload: data}); err != nil {
		panic(err)
	}
	_, _ = l.w.Write(buf.Bytes())
	l.w.(http.Flusher).Flush()
}

func (l *liveWriter) event(typ string, payload any) {
	l.message(eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("event")},
		{Name: ":event-type", Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
	}, payload)
}

func (l *liveWriter) exception(typ, msg string) {
	l.message(eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("exception")},
		{Name: ":exception-type", Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
	}, map[string]any{"message": msg})
}

func (l *liveWriter) start(groups []any) {
	l.event("sessionStart", map[string]any{"requestId": "req-1", "sessionId": "sess-1", "logGroupIdentifiers": groups})
}

func (l *liveWriter) update(group string, ts int64, msg string) {
	l.event("sessionUpdate", map[string]any{
		"sessionMetadata": map[string]any{"sampled": false},
		"sessionResults": []any{map[string]any{
			"logGroupIdentifier": "arn:aws:logs:us-east-1:123456789012:log-group:" + group,
			"logStreamName":      "2024/01/01/[$LATEST]abc", "message": msg, "timestamp": ts, "ingestionTime": ts + 50,
		}},
	})
}

// fakeClock advances only when the source sleeps.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	onPoll func() // called on each poll-interval sleep
	poll   time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	hook := c.onPoll
	isPoll := d == c.poll
	c.mu.Unlock()
	if isPoll && hook != nil {
		hook()
	}
	return ctx.Err()
}

var logsT0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(d time.Duration) int64 { return logsT0.Add(d).UnixMilli() }

func testCfg(url string) awssdk.Config {
	return awssdk.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: awssdk.String(url),
	}
}

func collect(t *testing.T, src providers.LogSource, q providers.LogQuery) ([]providers.LogLine, error) {
	t.Helper()
	lines, errc := src.Logs(context.Background(), q)
	var out []providers.LogLine
	for l := range lines {
		out = append(out, l)
	}
	return out, <-errc
}

func messages(ls []providers.LogLine) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "%s %s %s\n", l.Time.Format("15:04:05.000"), l.Function, l.Message)
	}
	return b.String()
}

func TestFilterLogEventsPagingThrottlingAndBudget(t *testing.T) {
	fake := newLogsFake(t)
	fake.add("/aws/lambda/orders", ms(0), "e1", "START RequestId: r1 Version: $LATEST")
	fake.add("/aws/lambda/orders", ms(10*time.Millisecond), "e2", "2024-01-01T00:00:00.010Z\tr1\tINFO\tplaced")
	fake.add("/aws/lambda/orders", ms(30*time.Millisecond), "e3", "END RequestId: r1")
	fake.add("/aws/lambda/orders", ms(-time.Hour), "e0", "too old")
	fake.add("/aws/lambda/billing", ms(20*time.Millisecond), "b1", "charged")
	fake.add("/aws/lambda/billing", ms(25*time.Millisecond), "b2", "receipt sent")
	fake.add("/aws/lambda/billing", ms(26*time.Millisecond), "b3", "done")
	fake.throttle = 2
	clock := &fakeClock{now: logsT0.Add(time.Minute)}
	fake.clock = clock
	srv := httptest.NewServer(fake)
	defer srv.Close()

	src := NewLogSource(testCfg(srv.URL), LogSourceOptions{Now: clock.Now, Sleep: clock.Sleep, DisableLiveTail: true})
	lines, err := collect(t, src, providers.LogQuery{Functions: []string{"orders", "billing"}, Since: logsT0.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	want := `00:00:00.000 orders START RequestId: r1 Version: $LATEST
00:00:00.010 orders 2024-01-01T00:00:00.010Z	r1	INFO	placed
00:00:00.020 billing charged
00:00:00.025 billing receipt sent
00:00:00.026 billing done
00:00:00.030 orders END RequestId: r1
`
	if got := messages(lines); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if lines[0].Provider != "aws" || lines[0].Token != "e1" || lines[0].Stream != "2024/01/01/[$LATEST]abc" {
		t.Errorf("line = %+v", lines[0])
	}
	// 2 throttled + 2 pages of orders + 2 of billing.
	calls := fake.opCalls("FilterLogEvents")
	if len(calls) != 6 {
		t.Fatalf("%d FilterLogEvents calls, want 6", len(calls))
	}
	if calls[3].body["nextToken"] != "page-2" {
		t.Errorf("second page asked with %v", calls[3].body)
	}
	if got := int64(calls[0].body["startTime"].(float64)); got != logsT0.Add(-time.Minute).UnixMilli()-DefaultLookBack.Milliseconds() {
		t.Errorf("startTime = %d", got)
	}
	// The budget: every request (DescribeLogGroups included) at least
	// 200ms after the one before, by the source's clock.
	all := fake.calls
	for i := 1; i < len(all); i++ {
		if d := all[i].at.Sub(all[i-1].at); d < 200*time.Millisecond {
			t.Errorf("request %d (%s) only %v after the previous one", i, all[i].op, d)
		}
	}
	// Throttling backed off 500ms then 1s (on top of the budget waits).
	if !hasSleeps(clock.sleeps, 500*time.Millisecond, time.Second) {
		t.Errorf("sleeps %v lack the backoff 500ms, 1s", clock.sleeps)
	}
}

func hasSleeps(got []time.Duration, want ...time.Duration) bool {
	i := 0
	for _, d := range got {
		if i < len(want) && d == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestPollingFollowLookBackAndDedup(t *testing.T) {
	fake := newLogsFake(t)
	fake.add("/aws/lambda/orders", ms(0), "e1", "one")
	clock := &fakeClock{now: logsT0.Add(time.Second), poll: DefaultPollInterval}
	fake.clock = clock
	var rounds atomic.Int32
	clock.onPoll = func() {
		switch rounds.Add(1) {
		case 1:
			fake.add("/aws/lambda/orders", ms(2*time.Second), "e2", "two")
		case 2:
			// Visible late, with a timestamp before the newest event seen:
			// the look-back finds it.
			fake.add("/aws/lambda/orders", ms(1500*time.Millisecond), "e3", "late")
			fake.add("/aws/lambda/billing", ms(2500*time.Millisecond), "b1", "first billing line")
		}
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	src := NewLogSource(testCfg(srv.URL), LogSourceOptions{Now: clock.Now, Sleep: clock.Sleep, DisableLiveTail: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, errc := src.Logs(ctx, providers.LogQuery{Functions: []string{"orders", "billing"}, Since: logsT0, Follow: true})
	var got []providers.LogLine
	for l := range lines {
		got = append(got, l)
		if len(got) == 4 {
			// A few more rounds must not repeat anything.
			for clock.Now().Before(logsT0.Add(30 * time.Second)) {
				select {
				case l := <-lines:
					t.Fatalf("repeated or unexpected line %+v", l)
				default:
				}
				time.Sleep(time.Millisecond)
				if rounds.Load() > 8 {
					break
				}
			}
			cancel()
		}
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	want := "00:00:00.000 orders one\n00:00:02.000 orders two\n00:00:01.500 orders late\n00:00:02.500 billing first billing line\n"
	if m := messages(got); m != want {
		t.Fatalf("got:\n%s\nwant:\n%s", m, want)
	}
	// billing had no log group at first (never invoked): not an error.
	if len(fake.opCalls("StartLiveTail")) != 0 {
		t.Fatal("live tail used although disabled")
	}
}

func TestLiveTailWithBackfillAndCatchUp(t *testing.T) {
	fake := newLogsFake(t)
	fake.add("/aws/lambda/orders", ms(0), "e1", "before the session")
	release := make(chan struct{})
	fake.live = func(w *liveWriter, req map[string]any) {
		groups, _ := req["logGroupIdentifiers"].([]any)
		// Between the backfill and the session start an event arrived: the
		// catch-up poll finds it, and the session repeats it.
		fake.add("/aws/lambda/orders", ms(time.Second), "e2", "between")
		w.start(groups)
		w.update("/aws/lambda/orders", ms(time.Second), "between")
		w.update("/aws/lambda/orders", ms(2*time.Second), "live one")
		w.update("/aws/lambda/orders", ms(3*time.Second), "live two")
		select {
		case <-release:
		case <-w.ctx.Done():
		}
	}
	clock := &fakeClock{now: logsT0.Add(time.Second)}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var fellBack error
	src := NewLogSource(testCfg(srv.URL), LogSourceOptions{Now: clock.Now, Sleep: clock.Sleep, OnFallback: func(err error) { fellBack = err }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, errc := src.Logs(ctx, providers.LogQuery{Functions: []string{"orders"}, Since: logsT0, Follow: true})
	var got []providers.LogLine
	for l := range lines {
		got = append(got, l)
		if len(got) == 4 {
			cancel()
		}
	}
	close(release)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	want := "00:00:00.000 orders before the session\n00:00:01.000 orders between\n00:00:02.000 orders live one\n00:00:03.000 orders live two\n"
	if m := messages(got); m != want {
		t.Fatalf("got:\n%s\nwant:\n%s", m, want)
	}
	if fellBack != nil {
		t.Fatalf("fell back: %v", fellBack)
	}
	lt := fake.opCalls("StartLiveTail")
	if len(lt) != 1 || fmt.Sprint(lt[0].body["logGroupIdentifiers"]) != "[arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/orders]" {
		t.Fatalf("StartLiveTail calls: %+v", lt)
	}
	// A custom endpoint is used as given: no "stream-" host prefix.
	for _, h := range fake.hostSeen {
		if strings.HasPrefix(h, "stream-") {
			t.Fatalf("request to host %s", h)
		}
	}
}

func TestLiveTailSessionTimeoutRestarts(t *testing.T) {
	fake := newLogsFake(t)
	fake.add("/aws/lambda/orders", ms(0), "e1", "old")
	sessions := 0
	var mu sync.Mutex
	fake.live = func(w *liveWriter, req map[string]any) {
		mu.Lock()
		sessions++
		n := sessions
		mu.Unlock()
		w.start(req["logGroupIdentifiers"].([]any))
		w.update("/aws/lambda/orders", ms(time.Duration(n)*time.Second), fmt.Sprint("session ", n))
		if n == 1 {
			w.exception("SessionTimeoutException", "Session timed out after 3 hours")
			return
		}
		<-w.ctx.Done()
	}
	clock := &fakeClock{now: logsT0.Add(time.Second)}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	src := NewLogSource(testCfg(srv.URL), LogSourceOptions{Now: clock.Now, Sleep: clock.Sleep})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, errc := src.Logs(ctx, providers.LogQuery{Functions: []string{"orders"}, Since: logsT0, Follow: true})
	var got []providers.LogLine
	for l := range lines {
		got = append(got, l)
		if len(got) == 3 {
			cancel()
		}
	}
	<-errc
	if m := messages(got); m != "00:00:00.000 orders old\n00:00:01.000 orders session 1\n00:00:02.000 orders session 2\n" {
		t.Fatalf("got:\n%s", m)
	}
}

func TestLiveTailDeniedFallsBackToPolling(t *testing.T) {
	fake := newLogsFake(t)
	fake.add("/aws/lambda/orders", ms(0), "e1", "one")
	clock := &fakeClock{now: logsT0.Add(time.Second), poll: DefaultPollInterval}
	clock.onPoll = func() { fake.add("/aws/lambda/orders", ms(5*time.Second), "e2", "polled") }
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var fellBack error
	src := NewLogSource(testCfg(srv.URL), LogSourceOptions{Now: clock.Now, Sleep: clock.Sleep, OnFallback: func(err error) { fellBack = err }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, errc := src.Logs(ctx, providers.LogQuery{Functions: []string{"orders"}, Since: logsT0, Follow: true})
	var got []providers.LogLine
	for l := range lines {
		got = append(got, l)
		if len(got) == 2 {
			cancel()
		}
	}
	<-errc
	if m := messages(got); m != "00:00:00.000 orders one\n00:00:05.000 orders polled\n" {
		t.Fatalf("got:\n%s", m)
	}
	if apiCode(fellBack) != "AccessDeniedException" {
		t.Fatalf("fallback reason = %v", fellBack)
	}
}

func TestFilterLogEventsAccessDenied(t *testing.T) {
	fake := newLogsFake(t)
	fake.add("/aws/lambda/orders", ms(0), "e1", "one")
	fake.deny = true
	srv := httptest.NewServer(fake)
	defer srv.Close()
	clock := &fakeClock{now: logsT0}
	src := NewLogSource(testCfg(srv.URL), LogSourceOptions{Now: clock.Now, Sleep: clock.Sleep})
	_, err := collect(t, src, providers.LogQuery{Functions: []string{"orders"}})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != providers.PermissionDenied || pe.Resource != "/aws/lambda/orders" || !strings.Contains(pe.Hint, "logs:FilterLogEvents") {
		t.Fatalf("err = %#v", err)
	}
}

func TestAllFunctionsFromDescribeLogGroups(t *testing.T) {
	fake := newLogsFake(t)
	fake.add("/aws/lambda/a", ms(0), "a1", "from a")
	fake.add("/aws/lambda/b", ms(time.Millisecond), "b1", "from b")
	fake.add("/ecs/other", ms(2), "o1", "not lambda")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	clock := &fakeClock{now: logsT0}
	src := NewLogSource(testCfg(srv.URL), LogSourceOptions{Now: clock.Now, Sleep: clock.Sleep})
	lines, err := collect(t, src, providers.LogQuery{Since: logsT0})
	if err != nil {
		t.Fatal(err)
	}
	if m := messages(lines); m != "00:00:00.000 a from a\n00:00:00.001 b from b\n" {
		t.Fatalf("got:\n%s", m)
	}
}

// TestEndpointFromEnvironment checks that config.LoadDefaultConfig and the
// client honour AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDWATCH_LOGS.
func TestEndpointFromEnvironment(t *testing.T) {
	for _, env := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"} {
		t.Run(env, func(t *testing.T) {
			fake := newLogsFake(t)
			fake.add("/aws/lambda/orders", ms(0), "e1", "via "+env)
			srv := httptest.NewServer(fake)
			defer srv.Close()
			t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
			t.Setenv("AWS_REGION", "eu-west-1")
			t.Setenv("AWS_ENDPOINT_URL", "")
			t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "")
			t.Setenv(env, srv.URL)
			cfg, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			clock := &fakeClock{now: logsT0}
			src := NewLogSource(cfg, LogSourceOptions{Now: clock.Now, Sleep: clock.Sleep})
			lines, err := collect(t, src, providers.LogQuery{Functions: []string{"orders"}, Since: logsT0})
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 1 || lines[0].Message != "via "+env {
				t.Fatalf("lines = %+v", lines)
			}
		})
	}
}

func TestLimiterSpacesRequests(t *testing.T) {
	clock := &fakeClock{now: logsT0}
	l := newLimiter(5, clock.Now, clock.Sleep)
	var at []time.Time
	for i := 0; i < 6; i++ {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		at = append(at, clock.Now())
	}
	if got := at[5].Sub(at[0]); got != time.Second {
		t.Fatalf("6 requests took %v, want 1s at 5/s", got)
	}
}

func TestSeenSetIsBounded(t *testing.T) {
	s := newSeenSet()
	for i := 0; i < 100_000; i++ {
		ts := int64(i) // one event per millisecond
		s.pollSeen(fmt.Sprint("id-", i), fmt.Sprint("c-", i), ts)
		if i%1000 == 0 {
			s.prune(10 * time.Second)
		}
	}
	s.prune(10 * time.Second)
	if n := s.Len(); n > 2*(10_000+1000) {
		t.Fatalf("%d entries remembered after pruning to 10s", n)
	}
	if !s.pollSeen("id-99999", "x", 99_999) {
		t.Fatal("recent id forgotten")
	}
}
