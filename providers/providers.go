package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"
)

// Event is an event in EventBridge's envelope. Detail is the raw JSON object.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	// EventBusName is the bus the event was put on. It is not part of the
	// envelope a target receives.
	EventBusName string `json:"-"`
}

// StoredEvent is an event as the event store holds it.
type StoredEvent struct {
	Event
	// Seq is the store's own monotonically increasing position (local store);
	// zero where the store has none.
	Seq int64 `json:"seq,omitempty"`
	// AggregateID and AggregateVersion are present for event-sourced events.
	AggregateID      string `json:"aggregateId,omitempty"`
	AggregateVersion int64  `json:"aggregateVersion,omitempty"`
	CorrelationID    string `json:"correlationId,omitempty"`
	// Envelope is the event's envelope JSON as a target receives it, when the
	// store keeps it that way (the local store); nil otherwise. Readers that
	// match or forward the envelope use it instead of encoding Event again.
	Envelope json.RawMessage `json:"-"`
}

// EventQuery selects stored events. Zero values mean "no bound".
type EventQuery struct {
	Since, Until time.Time
	AggregateIDs []string
	Types        []string // detail-types
	AfterSeq     int64
	Limit        int
	// ExcludeReplays leaves out events that are replays
	// (IsReplayDetail). A store that cannot tell may still yield them:
	// callers check again.
	ExcludeReplays bool
}

// EventStore reads (and for the local provider, appends) stored events.
type EventStore interface {
	// Events yields the events that q selects, in store order, paged, never
	// holding the whole table in memory.
	Events(ctx context.Context, q EventQuery) iter.Seq2[StoredEvent, error]
}

// EnvelopePage is a page of stored envelopes, in store order: what
// EnvelopeReader hands its callback. The slices are the callback's to keep,
// but the bytes of Envelopes may be the store's, valid only until the
// callback returns: copy what must outlive it.
type EnvelopePage struct {
	// FirstSeq is the store position of Envelopes[0]; the others follow it
	// in order (not necessarily contiguously). Pages sort by it.
	FirstSeq    int64
	DetailTypes []string // one per envelope, interned within the page's reader
	Envelopes   [][]byte // the envelope JSON as a target receives it
}

// EnvelopeReader is an optional ability of an EventStore (checked with a
// type assertion): it hands over the stored envelopes of the events q
// selects (Since, Until and Types only) without decoding them, a page at a
// time, read by up to readers connections at once, so fn is called from
// several goroutines and pages arrive in no particular order. It is the read
// path of a scan that matches the stored bytes (`evcli filter test --since`);
// a store without it is read through Events.
type EnvelopeReader interface {
	EachEnvelopes(ctx context.Context, q EventQuery, readers int, fn func(EnvelopePage) error) error
}

// PublishResult is the outcome of one entry of a Publish call.
type PublishResult struct {
	EventID   string
	ErrorCode string // the cloud's own code; empty on success
	ErrorMsg  string
	// Code is the portable class of ErrorCode, set by the driver's
	// classifier: Throttled and Unavailable are worth another try.
	Code Code
}

// EventBus puts events on a bus. Per-entry failures are reported in the
// results, not as the error; the error is for the call as a whole.
type EventBus interface {
	Publish(ctx context.Context, bus string, events []Event) ([]PublishResult, error)
}

// LogLine is one raw log line as a log source yields it.
type LogLine struct {
	Time      time.Time
	Provider  string
	Function  string
	RequestID string
	Stream    string // log stream / instance
	Message   string
	// CorrelationID is the correlation id the source knows for the line's
	// invocation (the local bus's delivery); empty when unknown — tail then
	// takes it from the message or the request.
	CorrelationID string
	// Token identifies the line within its source (event id, store seq) for
	// de-duplication and resumption.
	Token string
}

// LogQuery selects log lines.
type LogQuery struct {
	Functions []string // empty: all
	Since     time.Time
	Follow    bool
}

// LogSource streams log lines. The channel is closed when the stream ends
// (Follow false and everything printed, or ctx done); a terminal error is
// delivered through errc.
type LogSource interface {
	Logs(ctx context.Context, q LogQuery) (<-chan LogLine, <-chan error)
}

// InvocationRecord is one invocation's REPORT data.
type InvocationRecord struct {
	Function         string
	RequestID        string
	Time             time.Time
	DurationMs       float64
	BilledDurationMs int64
	MemorySizeMB     int
	MaxMemoryUsedMB  int
	InitDurationMs   float64 // zero when warm
	CPUTimeMs        float64 // local only: time on a CPU; zero when unknown
	// CPUWaitMs is, locally, how long the invocation was runnable but waiting
	// for a CPU (run-queue delay). It is this machine's contention, not the
	// handler's work: tune takes it out of the duration before it judges how
	// CPU-bound a function is.
	CPUWaitMs float64
	Outcome   string // "ok", "error", "timeout", "oom"
}

// MetricsSource yields invocation records for a function over a window.
type MetricsSource interface {
	Invocations(ctx context.Context, function string, since, until time.Time) iter.Seq2[InvocationRecord, error]
}

// InvokeResult is the result of a synchronous invocation.
type InvokeResult struct {
	RequestID     string
	Payload       json.RawMessage
	FunctionError string // "", "Unhandled", ...
	LogTail       []string
	DurationMs    float64
}

// Invoker calls one function synchronously.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) (InvokeResult, error)
}

// Code is a portable error code.
type Code int

const (
	Unknown Code = iota
	NotFound
	PermissionDenied
	Throttled
	Unavailable
	InvalidArgument
	Unauthenticated
	Conflict
	// Unsupported: the provider lacks the ability (exit 2, said at open).
	Unsupported
	// Unconfigured: credentials work but a setting the cloud needs (region,
	// project, subscription) is missing (exit 4, like missing credentials).
	Unconfigured
)

func (c Code) String() string {
	switch c {
	case NotFound:
		return "NotFound"
	case PermissionDenied:
		return "PermissionDenied"
	case Throttled:
		return "Throttled"
	case Unavailable:
		return "Unavailable"
	case InvalidArgument:
		return "InvalidArgument"
	case Unauthenticated:
		return "Unauthenticated"
	case Conflict:
		return "Conflict"
	case Unsupported:
		return "Unsupported"
	case Unconfigured:
		return "Unconfigured"
	}
	return "Unknown"
}

// Error wraps a driver error with a portable code and the resource involved.
type Error struct {
	Code     Code
	Resource string
	Err      error
	Hint     string // next step for the user, if known
}

func (e *Error) Error() string {
	if e.Resource != "" {
		return fmt.Sprintf("%s: %v", e.Resource, e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the portable code of err, Unknown if it has none.
func CodeOf(err error) Code {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return Unknown
}
