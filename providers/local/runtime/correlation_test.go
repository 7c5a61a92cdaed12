package runtime

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestLogLinesCarryTheInvocationsCorrelationID: every line of an invocation
// given a correlation id carries it — the init output of its cold start,
// START, the handler's plain text, the runtime's error lines, END and
// REPORT — so that a log reader puts them in their flow without a JSON
// line naming it. An invocation without one leaves it empty.
func TestLogLinesCarryTheInvocationsCorrelationID(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "fn"})
	tests := []struct {
		name, payload, corr string
		want                []string // prefixes of lines that must be among the invocation's
	}{
		// crash on a cold instance: init output, plain text, error lines
		{"crash", `{"action":"crash","code":2}`, "c0ffee00-0000-4000-8000-000000000001",
			[]string{"init done", "START RequestId: ", "about to exit", "RequestId: ", "Runtime.ExitError", "END RequestId: ", "REPORT RequestId: "}},
		// the instance that replaces it, then the same one warm
		{"cold after a crash", `{"action":"log","lines":["hello"]}`, "c0ffee00-0000-4000-8000-000000000002",
			[]string{"init done", "START RequestId: ", "hello", "END RequestId: ", "REPORT RequestId: "}},
		{"warm, error", `{"action":"error"}`, "c0ffee00-0000-4000-8000-000000000003",
			[]string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: "}},
		{"no correlation id", `{"action":"log","lines":["plain"]}`, "",
			[]string{"START RequestId: ", "plain", "END RequestId: ", "REPORT RequestId: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := m.InvokeWithOptions(ctx, "fn", []byte(tt.payload), InvokeOptions{CorrelationID: tt.corr})
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			rec.mu.Lock()
			for _, l := range rec.lines {
				if l.RequestID != r.RequestID {
					continue
				}
				texts = append(texts, l.Text)
				if l.CorrelationID != tt.corr {
					t.Errorf("line %q has correlation id %q, want %q", l.Text, l.CorrelationID, tt.corr)
				}
			}
			rec.mu.Unlock()
			for _, w := range tt.want {
				found := false
				for _, s := range texts {
					if strings.HasPrefix(s, w) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("no line starting %q among the invocation's: %q", w, texts)
				}
			}
		})
	}
}
