package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// fakeSource replays scripted attempts: each call to Logs takes the next
// attempt's lines and ends with its error.
type fakeSource struct {
	mu       sync.Mutex
	attempts []attempt
	queries  []providers.LogQuery
}

type attempt struct {
	lines []providers.LogLine
	err   error
	// hang keeps the stream open until ctx is done (following).
	hang bool
}

func (f *fakeSource) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	var a attempt
	if len(f.attempts) > 0 {
		a, f.attempts = f.attempts[0], f.attempts[1:]
	} else {
		a = attempt{hang: q.Follow}
	}
	f.mu.Unlock()
	lines := make(chan providers.LogLine)
	errc := make(chan error, 1)
	go func() {
		defer close(lines)
		for _, l := range a.lines {
			if !q.Since.IsZero() && l.Time.Before(q.Since) {
				continue
			}
			select {
			case lines <- l:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
		if a.hang {
			<-ctx.Done()
			errc <- ctx.Err()
			return
		}
		errc <- a.err
	}()
	return lines, errc
}

func line(fn string, ms int, req, msg string) providers.LogLine {
	return providers.LogLine{Time: t0.Add(time.Duration(ms) * time.Millisecond), Provider: "local", Function: fn, RequestID: req, Message: msg, Token: fmt.Sprintf("%s-%d-%s", fn, ms, msg)}
}

type recSink struct {
	mu   sync.Mutex
	recs []Record
	ch   chan struct{}
}

func (s *recSink) Write(r Record) error {
	s.mu.Lock()
	s.recs = append(s.recs, r)
	s.mu.Unlock()
	if s.ch != nil {
		s.ch <- struct{}{}
	}
	return nil
}
func (s *recSink) Flush() error { return nil }

func noSleep(sleeps *[]time.Duration) func(context.Context, time.Duration) error {
	var mu sync.Mutex
	return func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*sleeps = append(*sleeps, d)
		mu.Unlock()
		return ctx.Err()
	}
}

func TestRunMergesSourcesAndPropagates(t *testing.T) {
	a := &fakeSource{attempts: []attempt{{lines: []providers.LogLine{
		line("orders", 0, "r1", "START RequestId: r1 Version: $LATEST"),
		line("orders", 10, "r1", `{"level":"INFO","message":"placed","correlationId":"c-1"}`),
		line("orders", 40, "r1", "END RequestId: r1"),
		line("orders", 41, "r1", "REPORT RequestId: r1\tDuration: 30.00 ms\tBilled Duration: 31 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB"),
	}}}}
	b := &fakeSource{attempts: []attempt{{lines: []providers.LogLine{
		line("stock", 5, "r2", "START RequestId: r2 Version: $LATEST"),
		line("stock", 20, "r2", "2024-01-01T00:00:00.020Z\tr2-not-uuid\tWARN\tlow stock"),
		line("stock", 30, "r2", `{"level":"ERROR","message":"no stock","detail":{"correlationId":"c-1"}}`),
	}}}}
	var out bytes.Buffer
	p := NewPlainPrinter(&out, false)
	err := Run(context.Background(), Config{Follow: false}, []Source{{"a", a}, {"b", b}}, p)
	if err != nil {
		t.Fatal(err)
	}
	want := `2024-01-01T00:00:00.000Z orders [c-1] START RequestId: r1 Version: $LATEST
2024-01-01T00:00:00.005Z stock [c-1] START RequestId: r2 Version: $LATEST
2024-01-01T00:00:00.010Z orders [c-1] placed
2024-01-01T00:00:00.020Z stock [c-1] low stock
2024-01-01T00:00:00.030Z stock [c-1] no stock
2024-01-01T00:00:00.040Z orders [c-1] END RequestId: r1
2024-01-01T00:00:00.041Z orders [c-1] REPORT RequestId: r1\tDuration: 30.00 ms\tBilled Duration: 31 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB
`
	want = strings.ReplaceAll(want, `\t`, "\t")
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestRunFilters(t *testing.T) {
	src := func() *fakeSource {
		return &fakeSource{attempts: []attempt{{lines: []providers.LogLine{
			line("order-api", 0, "r1", `{"level":"INFO","message":"placed","correlationId":"c-1"}`),
			line("order-worker", 1, "r2", `{"level":"ERROR","message":"failed","correlationId":"c-2"}`),
			line("stock", 2, "r3", `{"level":"WARN","message":"low","correlationId":"c-1"}`),
			line("stock", 3, "r3", "END RequestId: r3"),
		}}}}
	}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"glob", Config{Functions: []string{"order-*"}}, []string{"placed", "failed"}},
		{"exact", Config{Functions: []string{"stock"}}, []string{"low", "END RequestId: r3"}},
		{"correlation", Config{Correlation: "c-1"}, []string{"placed", "low", "END RequestId: r3"}},
		{"level", Config{Level: LevelWarn}, []string{"failed", "low"}},
		{"grep", Config{Grep: regexp.MustCompile(`^(placed|low)$`)}, []string{"placed", "low"}},
		{"since", Config{Since: t0.Add(2 * time.Millisecond)}, []string{"low", "END RequestId: r3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := src()
			sink := &recSink{}
			if err := Run(context.Background(), tt.cfg, []Source{{"local", s}}, sink); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range sink.recs {
				got = append(got, r.Message)
			}
			eq(t, got, tt.want)
		})
	}
	// Exact names are passed to the source; a glob makes it ask for all.
	s := src()
	_ = Run(context.Background(), Config{Functions: []string{"stock", "order-*"}}, []Source{{"local", s}}, &recSink{})
	if len(s.queries[0].Functions) != 0 {
		t.Errorf("with a glob the source was asked for %q, want all", s.queries[0].Functions)
	}
	s = src()
	_ = Run(context.Background(), Config{Functions: []string{"stock"}}, []Source{{"local", s}}, &recSink{})
	if fmt.Sprint(s.queries[0].Functions) != "[stock]" {
		t.Errorf("source asked for %q, want [stock]", s.queries[0].Functions)
	}
}

func TestRunRetriesFailingSourceWithoutDuplicates(t *testing.T) {
	boom := errors.New("connection reset")
	flaky := &fakeSource{attempts: []attempt{
		{lines: []providers.LogLine{line("a", 0, "", "one"), line("a", 10, "", "two")}, err: boom},
		{err: boom}, // fails at once: backoff grows
		// The source resends from Since (inclusive), as stores do.
		{lines: []providers.LogLine{line("a", 10, "", "two"), line("a", 10, "", "two-b"), line("a", 20, "", "three")}},
	}}
	steady := &fakeSource{attempts: []attempt{{lines: []providers.LogLine{line("b", 5, "", "b-one"), line("b", 15, "", "b-two")}}}}
	var sleeps []time.Duration
	var reports []string
	var mu sync.Mutex
	cfg := Config{
		Sleep: noSleep(&sleeps), Backoff: time.Second, MaxBackoff: 30 * time.Second,
		OnSourceError: func(src string, err error, retry time.Duration) {
			mu.Lock()
			reports = append(reports, fmt.Sprintf("%s: %v (retry in %v)", src, err, retry))
			mu.Unlock()
		},
	}
	sink := &recSink{}
	if err := Run(context.Background(), cfg, []Source{{"flaky", flaky}, {"steady", steady}}, sink); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sink.recs {
		got = append(got, r.Message)
	}
	eq(t, got, []string{"one", "b-one", "two", "two-b", "b-two", "three"})
	eq(t, reports, []string{"flaky: connection reset (retry in 1s)", "flaky: connection reset (retry in 2s)"})
	if fmt.Sprint(sleeps) != "[1s 2s]" {
		t.Errorf("sleeps = %v, want [1s 2s]", sleeps)
	}
	if q := flaky.queries[2]; !q.Since.Equal(t0.Add(10 * time.Millisecond)) {
		t.Errorf("resumed from %v, want the last line's time", q.Since)
	}
}

func TestRunGivesUpOnPermanentErrorOthersGoOn(t *testing.T) {
	denied := &providers.Error{Code: providers.PermissionDenied, Resource: "/aws/lambda/a", Err: errors.New("AccessDeniedException")}
	bad := &fakeSource{attempts: []attempt{{err: denied}}}
	good := &fakeSource{attempts: []attempt{{lines: []providers.LogLine{line("b", 0, "", "fine")}}}}
	var sleeps []time.Duration
	var gaveUp []string
	sink := &recSink{}
	err := Run(context.Background(), Config{Sleep: noSleep(&sleeps), OnSourceError: func(s string, err error, d time.Duration) {
		if d == 0 {
			gaveUp = append(gaveUp, s)
		}
	}}, []Source{{"aws", bad}, {"local", good}}, sink)
	var se *SourceError
	if !errors.As(err, &se) || se.Source != "aws" || providers.CodeOf(err) != providers.PermissionDenied {
		t.Fatalf("err = %v, want a SourceError for aws with PermissionDenied", err)
	}
	if len(sink.recs) != 1 || sink.recs[0].Message != "fine" {
		t.Fatalf("the good source's lines: %+v", sink.recs)
	}
	if len(sleeps) != 0 || fmt.Sprint(gaveUp) != "[aws]" {
		t.Fatalf("sleeps %v, gave up %v", sleeps, gaveUp)
	}
}

func TestRunNotFollowingGivesUpAfterMaxRetries(t *testing.T) {
	boom := errors.New("unavailable")
	s := &fakeSource{attempts: []attempt{{err: boom}, {err: boom}, {err: boom}, {err: boom}, {err: boom}}}
	var sleeps []time.Duration
	err := Run(context.Background(), Config{Sleep: noSleep(&sleeps), MaxRetries: 2}, []Source{{"x", s}}, &recSink{})
	if err == nil || !strings.Contains(err.Error(), "log source x: unavailable") {
		t.Fatalf("err = %v", err)
	}
	if len(s.queries) != 3 {
		t.Fatalf("%d attempts, want 3 (1 + 2 retries)", len(s.queries))
	}
}

// streamSource sends lines as they are pushed, like a store being written
// by another process.
type streamSource struct{ c chan providers.LogLine }

func (s *streamSource) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	out := make(chan providers.LogLine)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case l := <-s.c:
				select {
				case out <- l:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	return out, errc
}

func TestRunFollowPrintsLinesAsTheyArrive(t *testing.T) {
	src := &streamSource{c: make(chan providers.LogLine)}
	sink := &recSink{ch: make(chan struct{}, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- Run(ctx, Config{Follow: true, Merge: MergerOptions{Window: 5 * time.Millisecond}}, []Source{{"local", src}}, sink)
	}()
	for i := 0; i < 3; i++ {
		now := time.Now()
		src.c <- providers.LogLine{Time: now, Function: "f", Message: fmt.Sprint("line ", i)}
		<-sink.ch // each line is printed before the next is written: no end of stream needed
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if len(sink.recs) != 3 || sink.recs[2].Message != "line 2" {
		t.Fatalf("records: %+v", sink.recs)
	}
}
