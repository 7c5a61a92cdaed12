package store

import (
	"context"
	"testing"

	"github.com/evcli/evcli/providers"
)

// TestLogsKeepTheSourcesCorrelationID: a line appended with a correlation
// id is read back with it (a START line names none itself); a JSON line's
// own id wins over the invocation's; a line with neither has none.
func TestLogsKeepTheSourcesCorrelationID(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	tests := []struct {
		name string
		line providers.LogLine
		want string
	}{
		{"START with the invocation's id",
			providers.LogLine{Function: "a", RequestID: "r1", Message: "START RequestId: r1 Version: $LATEST", CorrelationID: "c-1"}, "c-1"},
		{"plain text with the invocation's id",
			providers.LogLine{Function: "a", RequestID: "r1", Message: "hello", CorrelationID: "c-1"}, "c-1"},
		{"JSON line naming its own id",
			providers.LogLine{Function: "a", RequestID: "r1", Message: `{"msg":"compensating","correlationId":"c-other"}`, CorrelationID: "c-1"}, "c-other"},
		{"JSON line naming none",
			providers.LogLine{Function: "a", RequestID: "r1", Message: `{"msg":"stock reserved"}`, CorrelationID: "c-1"}, "c-1"},
		{"JSON line, no invocation id",
			providers.LogLine{Function: "a", RequestID: "r2", Message: `{"correlation_id":"c-9"}`}, "c-9"},
		{"neither", providers.LogLine{Function: "a", RequestID: "r2", Message: "REPORT RequestId: r2"}, ""},
	}
	var lines []providers.LogLine
	for _, tt := range tests {
		lines = append(lines, tt.line)
	}
	if err := db.AppendLogs(ctx, lines); err != nil {
		t.Fatal(err)
	}
	ch, errc := db.Logs(ctx, providers.LogQuery{})
	got := collectLogs(t, ch, errc)
	if len(got) != len(tests) {
		t.Fatalf("read %d lines, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		if got[i].Message != tt.line.Message || got[i].CorrelationID != tt.want {
			t.Errorf("%s: read %q with correlation id %q, want %q", tt.name, got[i].Message, got[i].CorrelationID, tt.want)
		}
	}
	// resuming after a token reads the column too
	ch, errc = db.LogsAfter(ctx, providers.LogQuery{Functions: []string{"a"}}, got[0].Token)
	if after := collectLogs(t, ch, errc); len(after) == 0 || after[0].CorrelationID != "c-1" {
		t.Fatalf("LogsAfter: %+v, want the plain line with c-1 first", after)
	}
}
