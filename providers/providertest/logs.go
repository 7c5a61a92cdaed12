package providertest

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

// LogResumer is implemented by a log source that resumes exactly after the
// line with a token (the local store's sequence).
type LogResumer interface {
	LogsAfter(ctx context.Context, q providers.LogQuery, token string) (<-chan providers.LogLine, <-chan error)
}

var reReport = regexp.MustCompile(`^REPORT RequestId: ([0-9A-Za-z-]+)`)

// reportID returns the request id of a REPORT line.
func reportID(l providers.LogLine) (string, bool) {
	m := reReport.FindStringSubmatch(strings.TrimSpace(l.Message))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// session is one follow of a log source.
type session struct {
	cancel context.CancelFunc
	lines  <-chan providers.LogLine
	errc   <-chan error
	got    []providers.LogLine
}

func (e *env) follow(open func(ctx context.Context) (<-chan providers.LogLine, <-chan error)) *session {
	ctx, cancel := context.WithCancel(e.ctx)
	lines, errc := open(ctx)
	s := &session{cancel: cancel, lines: lines, errc: errc}
	e.t.Cleanup(s.stop)
	return s
}

// until reads lines until done says so, failing the check when the stream
// ends first or the check's context ends.
func (e *env) until(s *session, what string, done func([]providers.LogLine) bool) {
	e.t.Helper()
	for !done(s.got) {
		select {
		case l, ok := <-s.lines:
			if !ok {
				err := <-s.errc
				e.t.Fatalf("%s: the log stream ended (%v) after %d lines:\n%s", what, err, len(s.got), dump(s.got))
			}
			s.got = append(s.got, l)
		case <-e.ctx.Done():
			e.t.Fatalf("%s: gave up after %d lines:\n%s", what, len(s.got), dump(s.got))
		}
	}
}

func (s *session) stop() {
	s.cancel()
	for range s.lines {
	}
}

func dump(ls []providers.LogLine) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "  %s %s [%s] %s\n", l.Time.Format(time.RFC3339Nano), l.Function, l.Token, l.Message)
	}
	return b.String()
}

// reports counts the REPORT lines by request id.
func reports(ls []providers.LogLine) map[string]int {
	out := map[string]int{}
	for _, l := range ls {
		if id, ok := reportID(l); ok {
			out[id]++
		}
	}
	return out
}

func (e *env) invokeN(p *providers.Provider, fn, prefix string, n int) {
	e.t.Helper()
	for i := range n {
		res, err := p.Invoker.Invoke(e.ctx, fn, fmt.Appendf(nil, `{"mark":"%s-%d"}`, prefix, i))
		if err != nil || res.FunctionError != "" {
			e.t.Fatalf("Invoke %s: %v %s %s", fn, err, res.FunctionError, res.Payload)
		}
	}
}

func testLogs(t *testing.T, e *env) {
	const proj = "ctlogs"
	p := e.open(proj)
	if !p.Has(providers.AbilityDeploy) || !p.Has(providers.AbilityInvoke) {
		t.Skip("logs are checked on invocations of a function the suite deploys: the provider cannot deploy or invoke")
	}
	fn := e.fn(proj, "ctlogs-echo", 1)
	e.cleanup(p, fn.Name)
	e.deploy(p, []providers.FunctionDeployment{fn}, false)
	p = e.open(proj)
	since := time.Now().Add(-time.Minute)
	q := providers.LogQuery{Functions: []string{fn.Name}, Since: since, Follow: true}

	// 1. Follow: the lines of invocations made while following arrive.
	s1 := e.follow(func(ctx context.Context) (<-chan providers.LogLine, <-chan error) { return p.Logs.Logs(ctx, q) })
	e.invokeN(p, fn.Name, "first", 3)
	e.until(s1, "following the first 3 invocations", func(ls []providers.LogLine) bool { return len(reports(ls)) >= 3 })
	s1.stop()
	first := s1.got
	e.checkLines(fn.Name, first)
	seen := map[string]bool{}
	for _, l := range first {
		seen[l.Token] = true
	}
	last := first[len(first)-1]

	// 2. Three more while nobody follows.
	e.invokeN(p, fn.Name, "second", 3)

	// 3. Resume from the last line's time, skipping the tokens already
	// seen, as tail does after a reconnect: every later line, none twice.
	t.Run("ResumeFromTime", func(t *testing.T) {
		e := e.sub(t)
		rq := q
		rq.Since = last.Time
		s := e.follow(func(ctx context.Context) (<-chan providers.LogLine, <-chan error) { return p.Logs.Logs(ctx, rq) })
		var fresh []providers.LogLine
		e.until(s, "resuming after the first session", func(ls []providers.LogLine) bool {
			fresh = fresh[:0]
			for _, l := range ls {
				if !seen[l.Token] {
					fresh = append(fresh, l)
				}
			}
			return len(reports(fresh)) >= 3
		})
		e.checkLines(fn.Name, s.got)
		all := append(append([]providers.LogLine(nil), first...), fresh...)
		for id, n := range reports(all) {
			if n != 1 {
				t.Errorf("invocation %s has %d REPORT lines after resuming (by token): want exactly 1:\n%s", id, n, dump(all))
			}
		}
		if n := len(reports(all)); n != 6 {
			t.Errorf("%d invocations seen over both sessions, want 6:\n%s", n, dump(all))
		}
		// The lines re-read at the resume time are the same lines: same tokens.
		for _, l := range s.got {
			if l.Time.Before(last.Time) {
				t.Errorf("a line from before Since %s: %s %q", last.Time.Format(time.RFC3339Nano), l.Time.Format(time.RFC3339Nano), l.Message)
			}
		}
		if !containsToken(s.got, last.Token) {
			t.Errorf("the last line of the first session (token %s, at Since) is not yielded again with the same token", last.Token)
		}
	})

	// 4. A source that resumes after a token does so exactly.
	t.Run("ResumeAfterToken", func(t *testing.T) {
		e := e.sub(t)
		r, ok := p.Logs.(LogResumer)
		if !ok {
			t.Skip("the log source does not resume after a token (no LogsAfter): tail resumes by time and token")
		}
		s := e.follow(func(ctx context.Context) (<-chan providers.LogLine, <-chan error) {
			return r.LogsAfter(ctx, q, last.Token)
		})
		e.until(s, "resuming after the last token", func(ls []providers.LogLine) bool { return len(reports(ls)) >= 3 })
		for _, l := range s.got {
			if seen[l.Token] {
				t.Errorf("LogsAfter(%s) yielded a line of the first session again: [%s] %q", last.Token, l.Token, l.Message)
			}
		}
		all := append(append([]providers.LogLine(nil), first...), s.got...)
		for id, n := range reports(all) {
			if n != 1 {
				t.Errorf("invocation %s has %d REPORT lines: want exactly 1", id, n)
			}
		}
		if n := len(reports(all)); n != 6 {
			t.Errorf("%d invocations seen over both sessions, want 6:\n%s", n, dump(all))
		}
	})
}

func containsToken(ls []providers.LogLine, tok string) bool {
	for _, l := range ls {
		if l.Token == tok {
			return true
		}
	}
	return false
}

// checkLines checks what every line of one session must be: of fn, with a
// unique token, in time order.
func (e *env) checkLines(fn string, ls []providers.LogLine) {
	e.t.Helper()
	toks := map[string]bool{}
	for i, l := range ls {
		if l.Function != fn {
			e.t.Errorf("line %d is of function %q, want %q (the query's): %q", i, l.Function, fn, l.Message)
		}
		if l.Token == "" {
			e.t.Errorf("line %d has no token: tail cannot resume without duplicates: %q", i, l.Message)
		} else if toks[l.Token] {
			e.t.Errorf("line %d repeats token %s: %q", i, l.Token, l.Message)
		}
		toks[l.Token] = true
	}
	if !sort.SliceIsSorted(ls, func(i, j int) bool { return ls[i].Time.Before(ls[j].Time) }) {
		e.t.Errorf("lines are not in time order:\n%s", dump(ls))
	}
}

func testMetrics(t *testing.T, e *env) {
	const proj = "ctmetrics"
	p := e.open(proj)
	if !p.Has(providers.AbilityDeploy) || !p.Has(providers.AbilityInvoke) {
		t.Skip("metrics are checked on invocations of a function the suite deploys: the provider cannot deploy or invoke")
	}
	fn := e.fn(proj, "ctmetrics-echo", 1)
	e.cleanup(p, fn.Name)
	e.deploy(p, []providers.FunctionDeployment{fn}, false)
	p = e.open(proj)
	since := time.Now().Add(-time.Minute)
	e.invokeN(p, fn.Name, "metrics", 3)
	var recs []providers.InvocationRecord
	e.poll("3 invocation records", func() (bool, string, error) {
		recs = recs[:0]
		for r, err := range p.Metrics.Invocations(e.ctx, fn.Name, since, time.Now().Add(time.Minute)) {
			if err != nil {
				return false, "", err
			}
			recs = append(recs, r)
		}
		return len(recs) >= 3, fmt.Sprintf("%d records: %+v", len(recs), recs), nil
	})
	if len(recs) != 3 {
		t.Errorf("%d invocation records for 3 invocations: %+v", len(recs), recs)
	}
	ids := map[string]bool{}
	for _, r := range recs {
		if r.Function != "" && r.Function != fn.Name {
			t.Errorf("record of function %q, want %q", r.Function, fn.Name)
		}
		if r.DurationMs <= 0 {
			t.Errorf("record %s has duration %v ms, want > 0", r.RequestID, r.DurationMs)
		}
		if r.MemorySizeMB != fn.MemoryMB {
			t.Errorf("record %s has memory size %d MB, want the deployed %d", r.RequestID, r.MemorySizeMB, fn.MemoryMB)
		}
		if r.MaxMemoryUsedMB <= 0 || r.MaxMemoryUsedMB > r.MemorySizeMB {
			t.Errorf("record %s has max memory used %d MB of %d: want a measurement", r.RequestID, r.MaxMemoryUsedMB, r.MemorySizeMB)
		}
		if r.Time.Before(since) {
			t.Errorf("record %s at %s is before the invocations", r.RequestID, r.Time)
		}
		if r.RequestID == "" || ids[r.RequestID] {
			t.Errorf("record request id %q is empty or repeated", r.RequestID)
		}
		ids[r.RequestID] = true
	}
}
