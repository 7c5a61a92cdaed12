package providers

import (
	"bytes"
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxEntryBytes is the size limit of one entry on every bus: EventBridge's
// 256 KB, counted by EntrySize.
const MaxEntryBytes = 256 * 1024

// BatchLimits bound one EventBus.Publish call.
type BatchLimits struct {
	Entries int // entries per call
	Bytes   int // EntrySize summed over a call's entries
}

// PutEventsLimits are EventBridge's PutEvents limits: 10 entries and 256 KB.
var PutEventsLimits = BatchLimits{Entries: 10, Bytes: 256 * 1024}

// orDefault returns l, or PutEventsLimits where l has no value.
func (l BatchLimits) orDefault() BatchLimits {
	if l.Entries <= 0 {
		l.Entries = PutEventsLimits.Entries
	}
	if l.Bytes <= 0 {
		l.Bytes = PutEventsLimits.Bytes
	}
	return l
}

// EntrySize is an entry's size as EventBridge counts it against its limits:
// 14 bytes for a time, the UTF-8 lengths of source, detail-type, detail and
// each resource. Invalid UTF-8 counts as the 3-byte replacement character it
// becomes when encoded; an empty detail counts as the "{}" that is sent.
func EntrySize(ev *Event) int {
	n := 0
	if !ev.Time.IsZero() {
		n += 14
	}
	n += utf8Len(ev.Source) + utf8Len(ev.DetailType)
	if len(bytes.TrimSpace(ev.Detail)) == 0 {
		n += 2
	} else {
		n += len(ev.Detail)
	}
	for _, r := range ev.Resources {
		n += utf8Len(r)
	}
	return n
}

func utf8Len(s string) int {
	if utf8.ValidString(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		n += utf8.RuneLen(r)
	}
	return n
}

// CheckEntrySizes returns an InvalidArgument error naming the first event
// over MaxEntryBytes (by its index), so that a caller can refuse a whole
// input before anything is sent.
func CheckEntrySizes(evs []Event) error {
	for i := range evs {
		if n := EntrySize(&evs[i]); n > MaxEntryBytes {
			return &Error{Code: InvalidArgument, Err: fmt.Errorf("event %d (%s %s) is %d bytes: an entry carries at most %d bytes (256 KB); nothing was sent",
				i, evs[i].Source, evs[i].DetailType, n, MaxEntryBytes)}
		}
	}
	return nil
}

// PublishChecker is implemented by buses that can refuse a whole input
// before any of it is published (the local bus: an event that would reach
// a function lacking a secret). PublishAll asks it first.
type PublishChecker interface {
	CheckPublish(ctx context.Context, bus string, evs []Event) error
}

// RetryPolicy says how PublishWithRetry retries.
type RetryPolicy struct {
	// MaxAttempts is how often an entry is tried (default 4).
	MaxAttempts int
	// Backoff is the wait after attempt n (default 200ms doubling to 10s).
	Backoff func(attempt int) time.Duration
	// Sleep waits (default a context-aware timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// BeforeRetry is called before each retry with the number of entries
	// about to be sent again (replay's pacer); an error stops.
	BeforeRetry func(ctx context.Context, entries int) error
	// OnRetry is told how many entries are retried after which wait.
	OnRetry func(entries int, wait time.Duration)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 4
	}
	if p.Backoff == nil {
		p.Backoff = func(attempt int) time.Duration {
			d := 200 * time.Millisecond
			for i := 1; i < attempt && d < 10*time.Second; i++ {
				d *= 2
			}
			return min(d, 10*time.Second)
		}
	}
	if p.Sleep == nil {
		p.Sleep = Sleep
	}
	return p
}

// Sleep waits d, or until ctx is done (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retryable reports whether an entry that failed with code is worth another
// try.
func Retryable(c Code) bool { return c == Throttled || c == Unavailable }

// RetryableCall reports whether a failed call as a whole is worth another
// try: only errors that are not the caller's (permission, input, missing
// resource, credentials).
func RetryableCall(err error) bool {
	switch CodeOf(err) {
	case PermissionDenied, NotFound, InvalidArgument, Unauthenticated, Unconfigured, Unsupported:
		return false
	}
	return true
}

// PublishReport is what PublishWithRetry and PublishAll return: per entry,
// its final result and how many attempts it took (0: never sent).
type PublishReport struct {
	Results  []PublishResult
	Attempts []int
}

// Failed counts the entries that did not end in success.
func (r PublishReport) Failed() int {
	n := 0
	for _, res := range r.Results {
		if res.ErrorCode != "" {
			n++
		}
	}
	return n
}

// PublishWithRetry publishes evs, which fit one call, to bus, sending the
// entries that fail with a transient code again with backoff. See
// PublishAll, of which it is the one-call case (replay's batches).
func PublishWithRetry(ctx context.Context, b EventBus, bus string, evs []Event, p RetryPolicy) (PublishReport, error) {
	return publishRounds(ctx, b, bus, evs, BatchLimits{Entries: len(evs), Bytes: -1}, p)
}

// PublishAll publishes any number of events to bus in calls within limits.
// Every entry is checked first: one over MaxEntryBytes sends nothing, as
// does a bus's own refusal (PublishChecker). It is
// the one publish loop behind send and replay: each round sends the pending
// entries in calls within limits; the entries that failed with a transient
// code (Throttled, Unavailable) are the next round's, after a backoff, up
// to MaxAttempts rounds. A call that fails as a whole is tried again the
// same way when its error is transient; otherwise (or once attempts run
// out) it stops everything: the entries it carried keep their last result
// or become NotSent, as do those never attempted.
func PublishAll(ctx context.Context, b EventBus, bus string, evs []Event, limits BatchLimits, p RetryPolicy) (PublishReport, error) {
	if err := CheckEntrySizes(evs); err != nil {
		return PublishReport{}, err
	}
	if c, ok := b.(PublishChecker); ok {
		if err := c.CheckPublish(ctx, bus, evs); err != nil {
			return PublishReport{}, err
		}
	}
	return publishRounds(ctx, b, bus, evs, limits.orDefault(), p)
}

func publishRounds(ctx context.Context, b EventBus, bus string, evs []Event, limits BatchLimits, p RetryPolicy) (PublishReport, error) {
	p = p.withDefaults()
	rep := PublishReport{Results: make([]PublishResult, len(evs)), Attempts: make([]int, len(evs))}
	pending := make([]int, len(evs))
	for i := range pending {
		pending[i] = i
	}
	notSent := func(idx []int, msg string) {
		for _, i := range idx {
			if rep.Results[i].ErrorCode == "" { // never answered
				rep.Results[i] = PublishResult{ErrorCode: "NotSent", ErrorMsg: msg, Code: Unavailable}
			}
		}
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 && p.BeforeRetry != nil {
			if err := p.BeforeRetry(ctx, len(pending)); err != nil {
				return rep, err
			}
		}
		var retry []int
		for start := 0; start < len(pending); {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			end, size := start, 0
			for end < len(pending) && end-start < limits.Entries {
				n := 0
				if limits.Bytes > 0 {
					n = EntrySize(&evs[pending[end]])
					if end > start && size+n > limits.Bytes {
						break
					}
				}
				size += n
				end++
			}
			idx := pending[start:end]
			sub := make([]Event, len(idx))
			for j, i := range idx {
				sub[j] = evs[i]
			}
			out, err := b.Publish(ctx, bus, sub)
			if err == nil && len(out) != len(sub) {
				err = fmt.Errorf("bus %s returned %d results for %d events", bus, len(out), len(sub))
			}
			if err != nil {
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				for _, i := range idx {
					rep.Attempts[i] = attempt
				}
				if attempt >= p.MaxAttempts || !RetryableCall(err) {
					notSent(idx, "the publish call failed")
					notSent(pending[end:], "not attempted after an earlier publish call failed")
					return rep, fmt.Errorf("publish to bus %s (attempt %d of %d): %w", bus, attempt, p.MaxAttempts, err)
				}
				retry = append(retry, idx...)
			} else {
				for j, r := range out {
					i := idx[j]
					rep.Results[i], rep.Attempts[i] = r, attempt
					if r.ErrorCode != "" && Retryable(r.Code) && attempt < p.MaxAttempts {
						retry = append(retry, i)
					}
				}
			}
			start = end
		}
		if len(retry) == 0 {
			break
		}
		pending = retry
		wait := p.Backoff(attempt)
		if p.OnRetry != nil {
			p.OnRetry(len(pending), wait)
		}
		if err := p.Sleep(ctx, wait); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
