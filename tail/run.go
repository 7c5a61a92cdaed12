package tail

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/evcli/evcli/providers"
)

var errSinkClosed = errors.New("tail: output closed")

// Source is one log source with the name used in messages ("local", "aws").
type Source struct {
	Name string
	Src  providers.LogSource
}

// Config is what Run does, already validated and typed by cmd.
type Config struct {
	// Functions are names or path.Match globs ("order-*"); empty means all.
	Functions []string
	// SourceFunctions, when set, are the exact names asked of the sources
	// (cmd expands globs against the project's functions); otherwise the
	// non-glob Functions are, or all when there is a glob.
	SourceFunctions []string
	// Correlation keeps only the records of this correlation ID
	// (ResolveCorrelation turns a prefix into the ID).
	Correlation string
	// CorrelationPrefix keeps the records whose correlation ID starts with
	// Correlation (no ID did yet when it was resolved).
	CorrelationPrefix bool
	// Since is the oldest line to show; zero: from the source's default.
	Since time.Time
	// Grep keeps the records whose message (or raw JSON) matches.
	Grep *regexp.Regexp
	// Level keeps records of at least this level (a line without a level
	// ranks as INFO); "" keeps all.
	Level Level
	// Follow keeps tailing; false prints what exists and returns.
	Follow bool
	// Merge configures the reorder window and memory bounds.
	Merge MergerOptions
	// Parser extracts request and correlation IDs; nil: NewParser(nil).
	Parser *Parser

	// Now and Sleep are the clock and the backoff wait (injected in tests).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Backoff is the first retry delay of a failed source (default 1s),
	// doubling up to MaxBackoff (default 30s).
	Backoff, MaxBackoff time.Duration
	// MaxRetries bounds the retries of a source when not following
	// (default 3); when following a source is retried for as long as the
	// tail runs, unless its error is permanent.
	MaxRetries int
	// OnSourceError is told of each failure of a source and the delay before
	// the next try (retry 0 when giving up); cmd prints it on stderr.
	OnSourceError func(source string, err error, retryIn time.Duration)
}

// SourceError is a source that failed for good.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return fmt.Sprintf("log source %s: %v", e.Source, e.Err) }
func (e *SourceError) Unwrap() error { return e.Err }

// Exact returns the names in fns that are not globs, and whether any glob was
// present (then a source must be asked for all functions and the globs are
// applied here).
func Exact(fns []string) (names []string, hasGlob bool) {
	for _, f := range fns {
		if strings.ContainsAny(f, "*?[") {
			hasGlob = true
			continue
		}
		names = append(names, f)
	}
	return names, hasGlob
}

// MatchFunction reports whether fn matches one of the names or globs (all
// when patterns is empty).
func MatchFunction(patterns []string, fn string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == fn {
			return true
		}
		if ok, _ := path.Match(p, fn); ok {
			return true
		}
	}
	return false
}

// Keep reports whether r passes cfg's filters.
func (cfg *Config) Keep(r *Record) bool {
	if !MatchFunction(cfg.Functions, r.Function) {
		return false
	}
	if cfg.Correlation != "" && !cfg.MatchCorrelation(r.CorrelationID) {
		return false
	}
	if cfg.Level != LevelNone && r.Level.Rank() < cfg.Level.Rank() {
		return false
	}
	if !cfg.Since.IsZero() && r.Time.Before(cfg.Since) {
		return false
	}
	if cfg.Grep != nil && !cfg.Grep.MatchString(r.Message) {
		return false
	}
	return true
}

func (cfg *Config) defaults() {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = providers.Sleep
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.Parser == nil {
		cfg.Parser, _ = NewParser(nil)
	}
}

// Run tails sources into sink until ctx is done or, when not following, the
// sources are exhausted. Each source runs in its own goroutine; a failing
// source is retried with backoff (resuming after the last line it gave, with
// no line repeated) while the others go on.
func Run(ctx context.Context, cfg Config, sources []Source, sink Sink) error {
	cfg.defaults()
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	q := cfg.query()

	in := make(chan providers.LogLine, 1024)
	var failed []error
	failc := make(chan error, len(sources))
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range sources {
		g.Go(func() error {
			if err := cfg.follow(gctx, s, q, in); err != nil {
				failc <- err
			}
			return nil
		})
	}
	go func() {
		_ = g.Wait()
		close(in)
	}()

	err := cfg.process(ctx, in, sink)
	cancel()
	for len(in) > 0 { // let the senders go
		<-in
	}
	_ = g.Wait()
	close(failc)
	for e := range failc {
		failed = append(failed, e)
	}
	if err != nil {
		return err
	}
	if parent.Err() != nil {
		return parent.Err()
	}
	return errors.Join(failed...)
}

// query is what the sources are asked for.
func (cfg *Config) query() providers.LogQuery {
	names, hasGlob := Exact(cfg.Functions)
	q := providers.LogQuery{Since: cfg.Since, Follow: cfg.Follow}
	switch {
	case len(cfg.SourceFunctions) > 0:
		q.Functions = cfg.SourceFunctions
	case !hasGlob:
		q.Functions = names
	}
	return q
}

// process is the single consumer: parse, merge, propagate, filter, print.
func (cfg *Config) process(ctx context.Context, in <-chan providers.LogLine, sink Sink) error {
	m := NewMerger(cfg.Merge)
	var out []Record
	emit := func() error {
		for i := range out {
			if cfg.Keep(&out[i]) {
				if err := sink.Write(out[i]); err != nil {
					return err
				}
			}
			out[i] = Record{}
		}
		if len(out) > 0 {
			if err := sink.Flush(); err != nil {
				return err
			}
		}
		out = out[:0]
		return nil
	}
	timer := time.NewTimer(time.Hour)
	inv := newInvocations()
	defer timer.Stop()
	for {
		if d := m.Next(cfg.Now()); d >= 0 {
			timer.Reset(d + time.Millisecond)
		} else {
			timer.Reset(time.Hour)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case l, ok := <-in:
			if !ok {
				out = m.Flush(out)
				return emit()
			}
			out = m.Push(inv.attribute(cfg.Parser.Parse(l)), cfg.Now(), out)
			// Drain what is already waiting before printing, so a burst
			// costs one flush.
		drain:
			for i := 0; i < 256; i++ {
				select {
				case l, ok := <-in:
					if !ok {
						out = m.Flush(out)
						return emit()
					}
					out = m.Push(inv.attribute(cfg.Parser.Parse(l)), cfg.Now(), out)
				default:
					break drain
				}
			}
		case <-timer.C:
			out = m.Pop(cfg.Now(), out)
		}
		if err := emit(); err != nil {
			return err
		}
	}
}

// permanent reports errors that a retry will not fix.
func permanent(err error) bool {
	switch providers.CodeOf(err) {
	case providers.PermissionDenied, providers.Unauthenticated, providers.InvalidArgument:
		return true
	}
	return false
}

// follow reads one source, retrying it with backoff. After a failure it asks
// again from the time of the last line it passed on, skipping the lines it
// already passed (by token, else by time and message).
func (cfg *Config) follow(ctx context.Context, s Source, q providers.LogQuery, out chan<- providers.LogLine) error {
	var (
		maxT     time.Time           // newest line passed on
		atMax    = map[string]bool{} // keys of the lines at maxT
		resumeAt time.Time           // after a reconnect: skip what came before
		atResume map[string]bool
		backoff  = cfg.Backoff
		retries  = 0
	)
	key := func(l providers.LogLine) string {
		if l.Token != "" {
			return l.Token
		}
		return l.Function + "\x00" + l.Stream + "\x00" + l.Message
	}
	for {
		lines, errc := s.Src.Logs(ctx, q)
		progressed := false
		for l := range lines {
			if !resumeAt.IsZero() {
				if l.Time.Before(resumeAt) || l.Time.Equal(resumeAt) && atResume[key(l)] {
					continue // already passed on before the reconnect
				}
			}
			if l.Time.After(maxT) {
				maxT = l.Time
				clear(atMax)
			}
			if l.Time.Equal(maxT) {
				atMax[key(l)] = true
			}
			progressed = true
			select {
			case out <- l:
			case <-ctx.Done():
				return nil
			}
		}
		var err error
		if errc != nil {
			err = <-errc
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			if !q.Follow {
				return nil
			}
			err = errors.New("the stream ended")
		}
		if progressed {
			backoff, retries = cfg.Backoff, 0
		}
		retries++
		if permanent(err) || (!q.Follow && retries > cfg.MaxRetries) {
			if cfg.OnSourceError != nil {
				cfg.OnSourceError(s.Name, err, 0)
			}
			return &SourceError{Source: s.Name, Err: err}
		}
		if cfg.OnSourceError != nil {
			cfg.OnSourceError(s.Name, err, backoff)
		}
		if err := cfg.Sleep(ctx, backoff); err != nil {
			return nil
		}
		backoff *= 2
		if backoff > cfg.MaxBackoff {
			backoff = cfg.MaxBackoff
		}
		if !maxT.IsZero() {
			q.Since = maxT
			resumeAt = maxT
			atResume = maps.Clone(atMax)
		}
	}
}
