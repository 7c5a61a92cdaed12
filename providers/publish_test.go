package providers

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestEntrySize pins the one entry-size rule: the three copies it replaced
// disagreed on invalid UTF-8 and on an empty detail.
func TestEntrySize(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ev   Event
		want int
	}{
		{"plain, no time", Event{Source: "ab", DetailType: "cde", Detail: json.RawMessage(`{"k":1}`), Resources: []string{"r1", "r22"}}, 2 + 3 + 7 + 2 + 3},
		{"time counts 14", Event{Source: "ab", DetailType: "cde", Detail: json.RawMessage(`{"k":1}`), Time: t0}, 14 + 2 + 3 + 7},
		{"UTF-8 bytes", Event{Source: "shop", DetailType: "Café", Detail: json.RawMessage(`{"a":"é"}`), Resources: []string{"arn:x", "r"}}, 4 + 5 + 10 + 5 + 1},
		{"invalid UTF-8 counts as U+FFFD", Event{Source: "a\xff", DetailType: "b", Detail: json.RawMessage(`{}`)}, 1 + 3 + 1 + 2},
		{"empty detail is sent as {}", Event{Source: "a", DetailType: "b"}, 1 + 1 + 2},
		{"blank detail is sent as {}", Event{Source: "a", DetailType: "b", Detail: json.RawMessage("  ")}, 1 + 1 + 2},
	} {
		if got := EntrySize(&tc.ev); got != tc.want {
			t.Errorf("%s: EntrySize = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestCheckEntrySizes(t *testing.T) {
	big := Event{Source: "a", DetailType: "b", Detail: json.RawMessage(`{"x":"` + strings.Repeat("y", MaxEntryBytes) + `"}`)}
	ok := Event{Source: "a", DetailType: "b", Detail: json.RawMessage(`{}`)}
	if err := CheckEntrySizes([]Event{ok, ok}); err != nil {
		t.Fatal(err)
	}
	err := CheckEntrySizes([]Event{ok, big})
	if CodeOf(err) != InvalidArgument || !strings.Contains(err.Error(), "event 1 (a b) is 262154 bytes") {
		t.Fatalf("err %v", err)
	}
}

// scriptBus answers each call from a script of entry codes by attempt.
type scriptBus struct {
	calls [][]string // detail of each entry, per call
	fail  func(detail string, attempt int) (string, Code)
	tries map[string]int
	err   error
}

func (b *scriptBus) Publish(ctx context.Context, bus string, evs []Event) ([]PublishResult, error) {
	if b.err != nil {
		return nil, b.err
	}
	var call []string
	out := make([]PublishResult, len(evs))
	for i, ev := range evs {
		d := string(ev.Detail)
		call = append(call, d)
		b.tries[d]++
		if code, c := b.fail(d, b.tries[d]); code != "" {
			out[i] = PublishResult{ErrorCode: code, ErrorMsg: "fake", Code: c}
			continue
		}
		out[i] = PublishResult{EventID: "id-" + d}
	}
	b.calls = append(b.calls, call)
	return out, nil
}

func TestPublishAllRetriesTransientEntriesInRounds(t *testing.T) {
	var evs []Event
	for i := range 12 {
		evs = append(evs, Event{Source: "s", DetailType: "t", Detail: json.RawMessage(`{"n":` + string(rune('a'+i)) + `}`)})
	}
	b := &scriptBus{tries: map[string]int{}, fail: func(d string, attempt int) (string, Code) {
		switch {
		case d == `{"n":d}` && attempt <= 2:
			return "ThrottlingException", Throttled
		case d == `{"n":h}`:
			return "AccessDeniedException", PermissionDenied
		case d == `{"n":l}`:
			return "InternalFailure", Unavailable
		}
		return "", Unknown
	}}
	var slept []time.Duration
	rep, err := PublishAll(context.Background(), b, "bus", evs, PutEventsLimits, RetryPolicy{
		Sleep: func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.calls {
		if len(c) > 10 {
			t.Fatalf("a call of %d entries", len(c))
		}
	}
	// One backoff per round, whatever the number of calls in it.
	if len(slept) != 3 || slept[0] != 200*time.Millisecond || slept[2] != 800*time.Millisecond {
		t.Fatalf("slept %v", slept)
	}
	if rep.Results[3].ErrorCode != "" || rep.Attempts[3] != 3 {
		t.Fatalf("entry 3: %+v after %d attempts", rep.Results[3], rep.Attempts[3])
	}
	if rep.Results[7].ErrorCode != "AccessDeniedException" || rep.Attempts[7] != 1 {
		t.Fatalf("a permanent failure was retried: %+v, %d attempts", rep.Results[7], rep.Attempts[7])
	}
	if rep.Results[11].ErrorCode != "InternalFailure" || rep.Attempts[11] != 4 || rep.Failed() != 2 {
		t.Fatalf("entry 11: %+v after %d attempts; failed %d", rep.Results[11], rep.Attempts[11], rep.Failed())
	}
}

func TestPublishAllStopsOnAPermanentCallError(t *testing.T) {
	b := &scriptBus{tries: map[string]int{}, err: &Error{Code: PermissionDenied, Err: errors.New("denied")}}
	evs := make([]Event, 15)
	for i := range evs {
		evs[i] = Event{Source: "s", DetailType: "t", Detail: json.RawMessage(`{}`)}
	}
	rep, err := PublishAll(context.Background(), b, "bus", evs, PutEventsLimits, RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }})
	if CodeOf(err) != PermissionDenied || rep.Failed() != 15 || rep.Results[0].ErrorCode != "NotSent" || rep.Results[14].ErrorCode != "NotSent" {
		t.Fatalf("err %v, failed %d, %+v", err, rep.Failed(), rep.Results[0])
	}
}
