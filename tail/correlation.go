package tail

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// maxCandidates bounds the ids an ambiguous prefix lists.
const maxCandidates = 10

// AmbiguousError is a --correlation prefix that more than one correlation ID
// starts with (git's "short SHA is ambiguous").
type AmbiguousError struct {
	Prefix     string
	Candidates []string // sorted, at most maxCandidates
	More       int      // candidates not listed
}

func (e *AmbiguousError) Error() string {
	s := fmt.Sprintf("correlation %q is ambiguous: %d correlation IDs start with it:\n  %s",
		e.Prefix, len(e.Candidates)+e.More, strings.Join(e.Candidates, "\n  "))
	if e.More > 0 {
		s += fmt.Sprintf("\n  … and %d more", e.More)
	}
	return s + "\ngive more characters of the one you mean"
}

// ResolveCorrelation turns cfg.Correlation, an ID or a prefix of one (as
// git takes a short SHA), into the one ID it names, by reading what the
// sources hold of cfg's functions from cfg.Since (zero: everything they
// keep) without following. An ID that exists whole wins over the longer
// IDs it is a prefix of. Several IDs starting with the prefix are an
// *AmbiguousError. When none does yet, cfg is returned with
// CorrelationPrefix set, so that a flow starting with it is shown when it
// comes.
func ResolveCorrelation(ctx context.Context, cfg Config, sources []Source) (Config, error) {
	if cfg.Correlation == "" {
		return cfg, nil
	}
	cfg.defaults()
	prefix := cfg.Correlation
	q := cfg.query()
	q.Follow = false
	found := map[string]bool{}
	exact := false
	for _, s := range sources {
		// A failed read is read again whole (the ids found are a set), with
		// the backoff and the retries of a source that is not followed.
		backoff := cfg.Backoff
		for try := 0; ; try++ {
			lines, errc := s.Src.Logs(ctx, q)
			for l := range lines {
				if !strings.Contains(l.Message, prefix) && !strings.HasPrefix(l.CorrelationID, prefix) {
					continue // cheap: a line of the id names it or its source does
				}
				r := cfg.Parser.Parse(l)
				if !MatchFunction(cfg.Functions, r.Function) {
					continue
				}
				if r.CorrelationID == prefix {
					exact = true
				} else if strings.HasPrefix(r.CorrelationID, prefix) {
					found[r.CorrelationID] = true
				}
			}
			var err error
			if errc != nil {
				err = <-errc
			}
			if ctx.Err() != nil {
				return cfg, ctx.Err()
			}
			if err == nil || errors.Is(err, context.Canceled) {
				break
			}
			if permanent(err) || try >= cfg.MaxRetries {
				return cfg, &SourceError{Source: s.Name, Err: err}
			}
			if cfg.OnSourceError != nil {
				cfg.OnSourceError(s.Name, err, backoff)
			}
			if err := cfg.Sleep(ctx, backoff); err != nil {
				return cfg, err
			}
			backoff = min(2*backoff, cfg.MaxBackoff)
		}
	}
	switch {
	case exact:
		return cfg, nil
	case len(found) == 1:
		for id := range found {
			cfg.Correlation = id
		}
		return cfg, nil
	case len(found) > 1:
		ids := make([]string, 0, len(found))
		for id := range found {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		e := &AmbiguousError{Prefix: prefix, Candidates: ids}
		if len(ids) > maxCandidates {
			e.Candidates, e.More = ids[:maxCandidates], len(ids)-maxCandidates
		}
		return cfg, e
	}
	cfg.CorrelationPrefix = true
	return cfg, nil
}

// MatchCorrelation reports whether id is cfg's correlation: equal to it, or
// starting with it when cfg.CorrelationPrefix.
func (cfg *Config) MatchCorrelation(id string) bool {
	if cfg.CorrelationPrefix {
		return strings.HasPrefix(id, cfg.Correlation)
	}
	return id == cfg.Correlation
}

// EmptyHint says what to try when a tail shows no line: sinceFlag is what
// --since was given as ("" when the whole store was read); filters names
// the other filters given ("--level error --function payment"), which may be
// what hid the lines.
func EmptyHint(correlation, sinceFlag, filters string) string {
	what := "no lines"
	if filters != "" {
		what += " matching " + filters
	}
	if correlation != "" {
		what += " for correlation " + correlation
	}
	switch {
	case sinceFlag != "" && isDuration(sinceFlag):
		return fmt.Sprintf("%s in the last %s: try --since 24h", what, sinceFlag)
	case sinceFlag != "":
		return fmt.Sprintf("%s since %s: try an earlier --since", what, sinceFlag)
	case filters != "":
		return what + " in the store: try without " + filters
	case correlation != "":
		return what + " in the store: check the id (evcli tail --no-tui --follow=false --since 24h lists them)"
	}
	return what + " in the store: send an event (evcli send events/….json)"
}

// isDuration tells "10m" from "2026-11-01T10:00Z" (--since's two forms).
func isDuration(s string) bool { return len(s) < 10 || s[4] != '-' }
