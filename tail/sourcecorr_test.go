package tail

import (
	"context"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// withCorr is line with the correlation ID its source knows.
func withCorr(l providers.LogLine, corr string) providers.LogLine {
	l.CorrelationID = corr
	return l
}

// TestParseTakesTheSourcesCorrelationID: a record whose message names no
// correlation ID gets the LogLine's; one whose message names its own keeps
// it; a function with its own correlation path names its flows by that
// path alone.
func TestParseTakesTheSourcesCorrelationID(t *testing.T) {
	p, err := NewParser(map[string]string{"byorder": "$.orderId"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		line providers.LogLine
		want string
	}{
		{"START", withCorr(line("order", 0, "r1", "START RequestId: r1 Version: $LATEST"), "c-1"), "c-1"},
		{"END", withCorr(line("order", 0, "r1", "END RequestId: r1"), "c-1"), "c-1"},
		{"REPORT", withCorr(line("order", 0, "r1", "REPORT RequestId: r1\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB"), "c-1"), "c-1"},
		{"plain text", withCorr(line("order", 0, "r1", "hello"), "c-1"), "c-1"},
		{"Node text prefix", withCorr(line("order", 0, "r1", "2024-01-01T00:00:00.000Z\tr1\tINFO\thello"), "c-1"), "c-1"},
		{"JSON naming none", withCorr(line("order", 0, "r1", `{"msg":"stock reserved"}`), "c-1"), "c-1"},
		{"JSON naming its own", withCorr(line("order", 0, "r1", `{"msg":"compensate","correlationId":"c-other"}`), "c-1"), "c-other"},
		{"source knows none", line("order", 0, "r1", "START RequestId: r1 Version: $LATEST"), ""},
		{"own path: START", withCorr(line("byorder", 0, "r1", "START RequestId: r1 Version: $LATEST"), "c-1"), ""},
		{"own path: JSON", withCorr(line("byorder", 0, "r1", `{"orderId":"o-7","correlationId":"c-1"}`), "c-1"), "o-7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Parse(tt.line).CorrelationID; got != tt.want {
				t.Fatalf("correlation ID %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRunSourceCorrelationNeedsNoWindow: with no reorder window a START
// line whose request names its correlation ID only later (a slow cold
// start) is still printed in its flow, because the source knows it.
func TestRunSourceCorrelationNeedsNoWindow(t *testing.T) {
	src := &fakeSource{attempts: []attempt{{lines: []providers.LogLine{
		withCorr(line("orders", 0, "r1", "START RequestId: r1 Version: $LATEST"), "c-1"),
		withCorr(line("orders", 5000, "r1", `{"level":"INFO","message":"placed","correlationId":"c-1"}`), "c-1"),
		withCorr(line("orders", 5001, "r1", "END RequestId: r1"), "c-1"),
	}}}}
	sink := &recSink{}
	cfg := Config{Correlation: "c-1", Merge: MergerOptions{Window: -1}}
	if err := Run(context.Background(), cfg, []Source{{Name: "local", Src: src}}, sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.recs) != 3 {
		t.Fatalf("%d records of c-1, want START, the handler's line and END: %+v", len(sink.recs), sink.recs)
	}
}

// TestResolveCorrelationFindsPlatformLines: a flow whose lines name no
// correlation ID (a handler logging plain text) is found by a prefix of
// the ID its source knows, from its START and REPORT lines.
func TestResolveCorrelationFindsPlatformLines(t *testing.T) {
	src := &fakeSource{attempts: []attempt{{lines: []providers.LogLine{
		withCorr(line("order", 0, "r1", "START RequestId: r1 Version: $LATEST"), "7d0c9a2e-1111"),
		withCorr(line("order", 1, "r1", "plain text"), "7d0c9a2e-1111"),
		withCorr(line("order", 2, "r1", "REPORT RequestId: r1\tDuration: 1.00 ms"), "7d0c9a2e-1111"),
		line("order", 3, "r2", "START RequestId: r2 Version: $LATEST"),
	}}}}
	cfg, err := ResolveCorrelation(context.Background(), Config{Correlation: "7d0c", Sleep: noSleep(new([]time.Duration))}, []Source{{Name: "local", Src: src}})
	if err != nil || cfg.Correlation != "7d0c9a2e-1111" || cfg.CorrelationPrefix {
		t.Fatalf("resolved to %q (prefix %v), %v; want 7d0c9a2e-1111", cfg.Correlation, cfg.CorrelationPrefix, err)
	}
}

// TestFlowsCountPlatformLinesOfTheSource: the flow list counts a flow's
// START, END and REPORT lines and its REPORT durations when the source
// gave them its correlation ID, with no request-keyed flow left over.
func TestFlowsCountPlatformLinesOfTheSource(t *testing.T) {
	p, _ := NewParser(nil)
	fs := NewFlows(0, 0)
	for _, l := range []providers.LogLine{
		line("order", 0, "r1", "START RequestId: r1 Version: $LATEST"),
		line("order", 1, "r1", "plain text"),
		line("order", 2, "r1", "END RequestId: r1"),
		line("order", 3, "r1", "REPORT RequestId: r1\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB"),
	} {
		fs.Add(p.Parse(withCorr(l, "c-1")))
	}
	f := fs.Get("c-1")
	if fs.Len() != 1 || f == nil || f.ByRequest || f.Lines != 4 || f.DurationMs != 12 {
		t.Fatalf("%d flows, c-1 = %+v; want one flow of 4 lines, 12 ms", fs.Len(), f)
	}
}
