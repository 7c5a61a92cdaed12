package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/filter/stored"
	"github.com/evcli/evcli/internal/timespec"
	"github.com/evcli/evcli/providers"
)

func newCmdFilter(f *cmdutil.Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "filter",
		Short: "Test and validate EventBridge event patterns",
		Long: `Evaluate EventBridge event patterns exactly as EventBridge does, say why an event did
or did not match, validate patterns with errors that name the offending JSON path, and
count what patterns match in an NDJSON stream or in the stored events.`,
	}
	c.AddCommand(newCmdFilterTest(f, nil), newCmdFilterValidate(f))
	return c
}

type filterTestOptions struct {
	Patterns []string
	Rules    []string
	Event    string
	Count    bool
	Since    string
	Verbose  bool
	Samples  int
	Target   string
}

func newCmdFilterTest(f *cmdutil.Factory, runF func(context.Context, filterTestOptions) error) *cobra.Command {
	var o filterTestOptions
	c := &cobra.Command{
		Use:   "test --pattern P [--pattern P2 ...] [--event FILE | --since 24h]",
		Short: "Evaluate event patterns against events",
		Long: `Evaluate one or more event patterns against events and say, per event, "match" or
"no match" and why: which field failed, against which candidates, and the value the
event had (or that it was missing); for $or, why each branch failed.

A pattern (--pattern) is a file, inline JSON, or @FILE; --rule FN takes the patterns of
function FN from evcli.yaml. Events come from --event FILE or stdin (--event - or no
--event): one JSON object, a JSON array of objects, or NDJSON (one object per line).

--count streams the events and prints only how many each pattern matched, at the
matcher's full speed (huge NDJSON files are fine). --since reads the project's event store
instead and prints, per detail-type, how many stored events the patterns match, with a
few samples.

Exit status: 0 when every event matched (a pattern), 1 when any did not (--count,
--since: when none did), 2 when a pattern or an event is invalid.`,
		Example: `  evcli filter test --pattern '{"source":["orders"]}' --event event.json
  evcli filter test --pattern pattern.json --pattern other.json < events.ndjson
  evcli filter test --rule ship-order --event order-placed.json -v
  zcat citylots2-synthetic.json.gz | evcli filter test --count --pattern p.json
  evcli filter test --pattern pattern.json --since 24h`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(o.Patterns) == 0 && len(o.Rules) == 0 {
				return &flagError{err: errors.New("give at least one --pattern or --rule"), usage: c.CommandPath()}
			}
			if o.Since != "" && (o.Event != "" || o.Count) {
				return &flagError{err: errors.New("--since reads the event store; it cannot be combined with --event or --count"), usage: c.CommandPath()}
			}
			if o.Samples < 0 {
				return &flagError{err: errors.New("--samples must be 0 or more"), usage: c.CommandPath()}
			}
			if _, ok := translators[o.Target]; o.Target != "" && !ok {
				names := slices.Sorted(maps.Keys(translators))
				return &flagError{err: fmt.Errorf("--target %q: use %s", o.Target, strings.Join(names, ", ")), usage: c.CommandPath()}
			}
			if runF != nil {
				return runF(c.Context(), o)
			}
			return runFilterTest(c.Context(), f, o)
		},
	}
	fl := c.Flags()
	fl.StringArrayVarP(&o.Patterns, "pattern", "p", nil, "event pattern: a file, inline JSON or @FILE (repeatable)")
	fl.StringArrayVar(&o.Rules, "rule", nil, "use the event patterns of this function in evcli.yaml (repeatable)")
	fl.StringVarP(&o.Event, "event", "e", "", `events file: a JSON object, an array or NDJSON ("-" or none: stdin)`)
	fl.BoolVar(&o.Count, "count", false, "print only how many events each pattern matched (streaming)")
	fl.StringVar(&o.Since, "since", "", "test the events stored since this time: "+timespec.PointForms)
	fl.BoolVarP(&o.Verbose, "verbose", "v", false, "explain every field, matched or not, below each event")
	fl.IntVar(&o.Samples, "samples", 3, "with --since: sample events shown per detail-type")
	fl.StringVar(&o.Target, "target", "", "also print what this cloud enforces of each pattern (gcp: the Pub/Sub filter and what only the in-function guard enforces; azure: the Event Grid filter, where its semantics differ, and what it cannot enforce)")
	return c
}

func newCmdFilterValidate(f *cmdutil.Factory) *cobra.Command {
	var rules []string
	c := &cobra.Command{
		Use:   "validate PATTERN... | --rule FN",
		Short: "Validate event patterns and print lint warnings",
		Long: `Validate event patterns (files, inline JSON or @FILE) as EventBridge would, without
matching anything. An invalid pattern is reported with the JSON path of the offending part
and what would be valid there (exit status 2). Valid patterns print their canonical form
and warnings: service limits (2048 characters, $or combinations) and likely mistakes.`,
		Example: `  evcli filter validate pattern.json
  evcli filter validate '{"detail":{"price":[{"numeric":[">",0,"<=",100]}]}}'
  evcli filter validate --rule ship-order`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 && len(rules) == 0 {
				return &flagError{err: errors.New("give at least one pattern or --rule"), usage: c.CommandPath()}
			}
			return runFilterValidate(f, args, rules)
		},
	}
	c.Flags().StringArrayVar(&rules, "rule", nil, "validate the event patterns of this function in evcli.yaml (repeatable)")
	return c
}

// patternSource is a pattern's text and where it came from.
type patternSource struct {
	name  string // file name, "pattern N" for inline JSON, FN or FN[i] for --rule
	where string // prefix for errors: "file", "evcli.yaml:12:5: function FN events[0]"
	text  []byte
}

type namedPattern struct {
	name string
	p    *filter.Pattern
	src  []byte
}

func readPatternSources(f *cmdutil.Factory, patterns, rules []string) ([]patternSource, error) {
	var out []patternSource
	for i, arg := range patterns {
		src := patternSource{}
		trimmed := strings.TrimSpace(arg)
		switch {
		case strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "["):
			src.name = fmt.Sprintf("pattern %d", i+1)
			src.where = fmt.Sprintf("--pattern %d", i+1)
			src.text = []byte(arg)
		default:
			path := strings.TrimPrefix(arg, "@")
			b, err := os.ReadFile(path)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return nil, cmdutil.UsageError("--pattern %q: no such file; give a file name or inline JSON such as '{\"source\":[\"my.app\"]}'", arg)
				}
				return nil, cmdutil.UsageError("--pattern %q: %v", arg, err)
			}
			src.name, src.where, src.text = path, path, b
		}
		out = append(out, src)
	}
	if len(rules) == 0 {
		return out, nil
	}
	proj, err := f.Project()
	if err != nil {
		return nil, err
	}
	for _, fn := range rules {
		fun := proj.Function(fn)
		if fun == nil {
			var names []string
			for _, x := range proj.Functions {
				names = append(names, x.Name)
			}
			hint := ""
			if s := suggest(fn, names); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, cmdutil.UsageError("--rule %q: %s has no function of that name%s; functions: %s", fn, proj.Path, hint, strings.Join(names, ", "))
		}
		if len(fun.Events) == 0 {
			return nil, cmdutil.UsageError("--rule %q: function %s has no event patterns in %s", fn, fn, proj.Path)
		}
		for i, ev := range fun.Events {
			name := fn
			if len(fun.Events) > 1 {
				name = fmt.Sprintf("%s[%d]", fn, i)
			}
			where := fmt.Sprintf("%s: function %s events[%d]", proj.Path, fn, i)
			if ev.Pos.Line > 0 {
				where = fmt.Sprintf("%s:%d:%d: function %s events[%d]", proj.Path, ev.Pos.Line, ev.Pos.Col, fn, i)
			}
			out = append(out, patternSource{name: name, where: where, text: ev.Pattern})
		}
	}
	return out, nil
}

func loadPatterns(f *cmdutil.Factory, patterns, rules []string) ([]namedPattern, error) {
	srcs, err := readPatternSources(f, patterns, rules)
	if err != nil {
		return nil, err
	}
	var out []namedPattern
	for _, s := range srcs {
		p, err := filter.Parse(s.text)
		if err != nil {
			return nil, &cmdutil.ExitError{Code: cmdutil.ExitUsage, Msg: s.where + ": " + err.Error(), Err: err}
		}
		out = append(out, namedPattern{s.name, p, s.text})
	}
	return out, nil
}

func runFilterTest(ctx context.Context, f *cmdutil.Factory, o filterTestOptions) error {
	pats, err := loadPatterns(f, o.Patterns, o.Rules)
	if err != nil {
		return err
	}
	if tr := translators[o.Target]; tr != nil {
		for _, p := range pats {
			lines, err := tr(p.src)
			if err != nil {
				return cmdutil.UsageError("%s: %v", p.name, err)
			}
			for _, l := range lines {
				fmt.Fprintf(f.IO.ErrOut, "%s: %s: %s\n", p.name, o.Target, l)
			}
		}
	}
	if o.Since != "" {
		return runFilterSince(ctx, f, o, pats)
	}
	for i := 0; o.Verbose && i < len(pats); i++ { // how EventBridge reads rarer constructs (filter/COMPATIBILITY.md)
		for _, n := range pats[i].p.CompatNotes() {
			fmt.Fprintf(f.IO.ErrOut, "%s: note: %s\n", pats[i].name, n)
		}
	}
	in, name := f.IO.In, "stdin"
	if o.Event != "" && o.Event != "-" {
		file, err := os.Open(o.Event)
		if err != nil {
			return cmdutil.UsageError("--event: %v", err)
		}
		defer file.Close()
		in, name = file, o.Event
	} else if f.IO.IsStdinTTY() {
		fmt.Fprintln(f.IO.ErrOut, "reading events from the terminal; end with Ctrl-D (or give --event FILE)")
	}
	if o.Count {
		return runFilterCount(ctx, f, pats, in, name)
	}
	return runFilterEvents(ctx, f, o, pats, in, name)
}

// inputUsage makes ReadEvents' input errors usage errors (exit 2).
func inputUsage(err error) error {
	var ie *providers.EventInputError
	if errors.As(err, &ie) {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Msg: err.Error(), Err: err}
	}
	return err
}

type filterResult struct {
	Type     string   `json:"type"`
	Event    any      `json:"event"`
	Index    int      `json:"index"`
	Line     int      `json:"line"`
	Match    bool     `json:"match"`
	Patterns []string `json:"patterns"`
	Reasons  []string `json:"reasons"`
	// With --target of a cloud that has an evaluator: whether the function
	// of any pattern's rule gets the event there, and the patterns on
	// which that differs from EventBridge's verdict.
	Target        string   `json:"target,omitempty"`
	TargetMatch   *bool    `json:"targetMatch,omitempty"`
	TargetDiffers []string `json:"targetDiffers,omitempty"`
}

func eventID(data []byte, index int) any {
	var e struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &e) == nil {
		var s string
		if json.Unmarshal(e.ID, &s) == nil && s != "" {
			return s
		}
	}
	return index
}

func runFilterEvents(ctx context.Context, f *cmdutil.Factory, o filterTestOptions, pats []namedPattern, in io.Reader, name string) error {
	var jl *cmdutil.JSONLines
	if f.Globals.JSON() {
		jl = cmdutil.NewJSONLines(f.IO.Out, "filter test")
	}
	color := f.IO.ColorEnabled()
	green, red, reset := "", "", ""
	if color {
		green, red, reset = "\x1b[32m", "\x1b[31m", "\x1b[0m"
	}
	events, unmatched := 0, 0
	err := providers.ReadEvents(in, name, true, func(ev providers.RawEvent) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		events++
		res := filterResult{Type: "result", Event: eventID(ev.Data, ev.Index), Index: ev.Index, Line: ev.Line, Patterns: []string{}, Reasons: []string{}}
		var exps []*filter.Explanation
		for _, np := range pats {
			ex, err := np.p.Explain(ev.Data)
			if err != nil {
				return ev.Error(name, err.Error())
			}
			exps = append(exps, ex)
			if ex.Match {
				res.Match = true
				res.Patterns = append(res.Patterns, np.name)
			}
		}
		for i, ex := range exps {
			if ex.Match != res.Match {
				continue // on a match, say why the matching patterns matched
			}
			lines := ex.Failures()
			if ex.Match {
				lines = nil
				for _, r := range ex.Reasons {
					lines = append(lines, r.Path+": "+r.Message)
				}
			}
			for _, l := range lines {
				if len(pats) > 1 {
					l = pats[i].name + ": " + l
				}
				res.Reasons = append(res.Reasons, l)
			}
		}
		if !res.Match {
			unmatched++
		}
		if eval := evaluators[o.Target]; eval != nil {
			got := false
			for i, np := range pats {
				delivered, enforced, err := eval(np.src, ev.Data)
				if err != nil {
					return ev.Error(name, o.Target+": "+err.Error())
				}
				// Without the whole pattern in the cloud's filter, the
				// in-function guard applies it as well.
				runs := delivered && (enforced || exps[i].Match)
				got = got || runs
				if runs != exps[i].Match {
					res.TargetDiffers = append(res.TargetDiffers, np.name)
				}
			}
			res.Target, res.TargetMatch = o.Target, &got
		}
		if jl != nil {
			return jl.Write(res)
		}
		where := ev.Where(name)
		if res.Match {
			line := green + "match" + reset + " " + where
			if len(pats) > 1 {
				line += " (" + strings.Join(res.Patterns, ", ") + ")"
			}
			fmt.Fprintln(f.IO.Out, line)
		} else {
			fmt.Fprintf(f.IO.Out, "%sno match%s %s: %s\n", red, reset, where, strings.Join(res.Reasons, "; "))
		}
		if res.TargetMatch != nil {
			verdict := "delivered"
			if !*res.TargetMatch {
				verdict = "not delivered"
			}
			if len(res.TargetDiffers) > 0 {
				verdict += " (differs from EventBridge on " + strings.Join(res.TargetDiffers, ", ") + ": see the " + res.Target + " lines above)"
			}
			fmt.Fprintf(f.IO.Out, "  %s: %s\n", res.Target, verdict)
		}
		if o.Verbose {
			for i, ex := range exps {
				if len(pats) > 1 {
					fmt.Fprintf(f.IO.Out, "  %s: ", pats[i].name)
				} else {
					fmt.Fprint(f.IO.Out, "  ")
				}
				for j, l := range strings.Split(strings.TrimRight(ex.String(), "\n"), "\n") {
					if j > 0 {
						l = "  " + l
					}
					fmt.Fprintln(f.IO.Out, l)
				}
			}
		}
		return nil
	})
	if err != nil {
		return inputUsage(err)
	}
	if events == 0 {
		return cmdutil.UsageError("no events in %s: give one JSON object, an array of objects or NDJSON", name)
	}
	if unmatched > 0 {
		if jl == nil && events > 1 {
			fmt.Fprintf(f.IO.ErrOut, "%d of %d events did not match\n", unmatched, events)
		}
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

func runFilterCount(ctx context.Context, f *cmdutil.Factory, pats []namedPattern, in io.Reader, name string) error {
	rs := filter.NewRuleSet()
	for i, np := range pats {
		rs.Add(strconv.Itoa(i), np.p)
	}
	counts := make([]int64, len(pats))
	var events, matched int64
	start := f.Now()
	dst := make([]string, 0, len(pats))
	err := providers.ReadEvents(in, name, false, func(ev providers.RawEvent) error {
		if events&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		events++
		var err error
		dst, err = rs.AppendMatches(dst[:0], ev.Data)
		if err != nil {
			return ev.Error(name, err.Error())
		}
		if len(dst) > 0 {
			matched++
		}
		for _, id := range dst {
			i, _ := strconv.Atoi(id)
			counts[i]++
		}
		return nil
	})
	if err != nil {
		return inputUsage(err)
	}
	elapsed := f.Now().Sub(start)
	if f.Globals.JSON() {
		jl := cmdutil.NewJSONLines(f.IO.Out, "filter test")
		for i, np := range pats {
			if err := jl.Write(map[string]any{"type": "count", "pattern": np.name, "matched": counts[i]}); err != nil {
				return err
			}
		}
		if err := jl.Write(map[string]any{"type": "total", "events": events, "matched": matched}); err != nil {
			return err
		}
	} else {
		if len(pats) == 1 {
			fmt.Fprintln(f.IO.Out, counts[0])
		} else {
			for i, np := range pats {
				fmt.Fprintf(f.IO.Out, "%d\t%s\n", counts[i], np.name)
			}
		}
		rate := ""
		if s := elapsed.Seconds(); s > 0 {
			rate = fmt.Sprintf(" in %s (%.0f events/s)", elapsed.Round(time.Millisecond), float64(events)/s)
		}
		fmt.Fprintf(f.IO.ErrOut, "%d events read%s, %d matched\n", events, rate, matched)
	}
	if matched == 0 {
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

func runFilterSince(ctx context.Context, f *cmdutil.Factory, o filterTestOptions, pats []namedPattern) (err error) {
	since, err := timespec.ParsePoint("--since", o.Since, f.Now())
	if err != nil {
		return cmdutil.UsageError("%v", err)
	}
	p, err := f.Project()
	if err != nil {
		return err
	}
	prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityStore})
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiterOf(f), prov, &err)
	rs := filter.NewRuleSet()
	for i, np := range pats {
		rs.Add(strconv.Itoa(i), np.p)
	}
	res, err := stored.Match(ctx, prov.Store, providers.EventQuery{Since: since}, rs, stored.Options{Samples: o.Samples})
	if err != nil {
		return err
	}
	total, matched := res.Events, res.Matched
	perPattern := make([]int64, len(pats))
	for i := range pats {
		perPattern[i] = res.Rules[strconv.Itoa(i)]
	}
	if f.Globals.JSON() {
		jl := cmdutil.NewJSONLines(f.IO.Out, "filter test")
		for i := range res.Types {
			if err := jl.Write(struct {
				Type string `json:"type"`
				*stored.TypeStats
			}{"detail-type", &res.Types[i]}); err != nil {
				return err
			}
		}
		byPattern := map[string]int64{}
		for i, np := range pats {
			byPattern[np.name] = perPattern[i]
		}
		if err := jl.Write(map[string]any{"type": "total", "since": since.UTC(), "events": total, "matched": matched, "patterns": byPattern}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DETAIL-TYPE\tMATCHED\tEVENTS\tSAMPLES")
		for _, st := range res.Types {
			var ids []string
			for _, s := range st.Samples {
				ids = append(ids, s.ID)
			}
			dt := st.DetailType
			if dt == "" {
				dt = "(none)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", dt, st.Matched, st.Events, strings.Join(ids, ", "))
		}
		fmt.Fprintf(tw, "total\t%d\t%d\t\n", matched, total)
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(pats) > 1 {
			for i, np := range pats {
				fmt.Fprintf(f.IO.ErrOut, "%s: %d matched\n", np.name, perPattern[i])
			}
		}
		if total == 0 {
			fmt.Fprintf(f.IO.ErrOut, "no events stored since %s\n", since.UTC().Format(time.RFC3339))
		}
	}
	if matched == 0 {
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

type validateResult struct {
	Type      string   `json:"type"`
	Pattern   string   `json:"pattern"`
	Valid     bool     `json:"valid"`
	Canonical string   `json:"canonical,omitempty"`
	Warnings  []string `json:"warnings"`
	Error     *struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func runFilterValidate(f *cmdutil.Factory, args, rules []string) error {
	srcs, err := readPatternSources(f, args, rules)
	if err != nil {
		return err
	}
	var jl *cmdutil.JSONLines
	if f.Globals.JSON() {
		jl = cmdutil.NewJSONLines(f.IO.Out, "filter validate")
	}
	invalid := 0
	for _, s := range srcs {
		r := validateResult{Type: "pattern", Pattern: s.name, Warnings: []string{}}
		p, err := filter.Parse(s.text)
		if err != nil {
			invalid++
			var pe *filter.PatternError
			if errors.As(err, &pe) {
				r.Error = &struct {
					Path    string `json:"path"`
					Message string `json:"message"`
				}{pe.Path, pe.Msg}
			}
			if jl != nil {
				if err := jl.Write(r); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(f.IO.ErrOut, "%s: %v\n", s.where, err)
			}
			continue
		}
		r.Valid, r.Canonical = true, p.String()
		r.Warnings = append(r.Warnings, p.Lint()...)
		if jl != nil {
			if err := jl.Write(r); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(f.IO.Out, "%s: valid: %s\n", s.name, r.Canonical)
		for _, w := range r.Warnings {
			fmt.Fprintf(f.IO.Out, "%s: warning: %s\n", s.name, w)
		}
	}
	if invalid > 0 {
		return cmdutil.Silent(cmdutil.ExitUsage)
	}
	return nil
}
