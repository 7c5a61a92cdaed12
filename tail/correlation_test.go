package tail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

func corrLines() []providers.LogLine {
	return []providers.LogLine{
		line("order", 0, "r1", `{"msg":"a","correlationId":"7d0c9a2e-1111"}`),
		line("order", 1, "r2", `{"msg":"b","correlationId":"7d0c9a2e-2222"}`),
		line("order", 2, "r3", `{"msg":"c","correlationId":"abc"}`),
		line("order", 3, "r4", `{"msg":"d","correlationId":"abcdef"}`),
		line("billing", 4, "r5", `{"msg":"e","correlationId":"f00-9"}`),
	}
}

func TestResolveCorrelation(t *testing.T) {
	for _, tt := range []struct {
		give, want string
		fns        []string
		prefix     bool
		ambiguous  []string
	}{
		{give: "7d0c9a2e-1", want: "7d0c9a2e-1111"},
		{give: "7d0c9a2e-2222", want: "7d0c9a2e-2222"},
		{give: "7d0c", ambiguous: []string{"7d0c9a2e-1111", "7d0c9a2e-2222"}},
		{give: "abc", want: "abc"}, // a whole id wins over the longer ones it starts
		{give: "abcd", want: "abcdef"},
		{give: "f00", want: "f00-9"},
		{give: "f00", fns: []string{"order"}, want: "f00", prefix: true}, // only billing has it
		{give: "zzz", want: "zzz", prefix: true},
	} {
		t.Run(tt.give, func(t *testing.T) {
			src := &fakeSource{attempts: []attempt{{lines: corrLines()}}}
			cfg, err := ResolveCorrelation(context.Background(), Config{Correlation: tt.give, Functions: tt.fns, Follow: true}, []Source{{Name: "local", Src: src}})
			if tt.ambiguous != nil {
				var amb *AmbiguousError
				if !errors.As(err, &amb) || strings.Join(amb.Candidates, ",") != strings.Join(tt.ambiguous, ",") {
					t.Fatalf("err = %v, want the candidates %v", err, tt.ambiguous)
				}
				if !strings.Contains(err.Error(), "7d0c9a2e-1111\n  7d0c9a2e-2222") {
					t.Errorf("message does not list the candidates: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Correlation != tt.want || cfg.CorrelationPrefix != tt.prefix {
				t.Fatalf("resolved to %q (prefix %v), want %q (prefix %v)", cfg.Correlation, cfg.CorrelationPrefix, tt.want, tt.prefix)
			}
			if q := src.queries[0]; q.Follow || !q.Since.IsZero() {
				t.Errorf("resolution query %+v: want the whole store, not following", q)
			}
		})
	}
}

func TestResolveCorrelationManyCandidates(t *testing.T) {
	var ls []providers.LogLine
	for i := 0; i < 15; i++ {
		ls = append(ls, line("order", i, "r", `{"correlationId":"c-`+string(rune('a'+i))+`"}`))
	}
	_, err := ResolveCorrelation(context.Background(), Config{Correlation: "c-"}, []Source{{Name: "local", Src: &fakeSource{attempts: []attempt{{lines: ls}}}}})
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != maxCandidates || amb.More != 5 || !strings.Contains(err.Error(), "… and 5 more") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunCorrelationPrefixKeepsMatchingFlows(t *testing.T) {
	src := &fakeSource{attempts: []attempt{{lines: corrLines()}}}
	sink := &recSink{}
	cfg := Config{Correlation: "7d0c", CorrelationPrefix: true}
	if err := Run(context.Background(), cfg, []Source{{Name: "local", Src: src}}, sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.recs) != 2 {
		t.Fatalf("%d records, want the 2 whose id starts with 7d0c", len(sink.recs))
	}
}

func TestResolveCorrelationRetriesAFailedRead(t *testing.T) {
	locked := &providers.Error{Code: providers.Unavailable, Resource: "store", Err: errors.New("database is locked")}
	src := &fakeSource{attempts: []attempt{{lines: corrLines()[:1], err: locked}, {lines: corrLines()}}}
	var sleeps []time.Duration
	cfg, err := ResolveCorrelation(context.Background(), Config{Correlation: "7d0c9a2e-2", Sleep: noSleep(&sleeps)}, []Source{{Name: "local", Src: src}})
	if err != nil || cfg.Correlation != "7d0c9a2e-2222" || len(sleeps) != 1 {
		t.Fatalf("cfg %q err %v sleeps %v", cfg.Correlation, err, sleeps)
	}
	denied := &providers.Error{Code: providers.PermissionDenied, Resource: "logs", Err: errors.New("no")}
	_, err = ResolveCorrelation(context.Background(), Config{Correlation: "x", Sleep: noSleep(&sleeps)}, []Source{{Name: "aws", Src: &fakeSource{attempts: []attempt{{err: denied}}}}})
	var se *SourceError
	if !errors.As(err, &se) || se.Source != "aws" {
		t.Fatalf("a permanent error: %v", err)
	}
}
