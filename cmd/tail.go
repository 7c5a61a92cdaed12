package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/internal/timespec"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tail"
)

// tailOptions are tail's dependencies and flag values.
type tailOptions struct {
	IO      *cmdutil.IOStreams
	Globals *cmdutil.Globals
	Now     func() time.Time
	Sleep   func(ctx context.Context, d time.Duration) error
	// OpenProvider opens the provider of p, which is nil outside a project
	// (then --provider, else local, in this directory).
	OpenProvider func(ctx context.Context, p *project.Project) (*providers.Provider, error)
	// Project loads evcli.yaml; (nil, nil) when there is none and -f was
	// not given.
	Project func() (*project.Project, error)
	// RunTUI runs the terminal UI until the user quits (replaced in tests).
	RunTUI func(ctx context.Context, m tail.Model, r tuiRun) error

	Functions     []string
	Correlation   string
	Since         string
	SinceSet      bool // --since was given (else an id searches the whole store)
	Grep          string
	Level         string
	Follow        bool
	NoTUI         bool
	ReorderWindow time.Duration
}

func newCmdTail(f *cmdutil.Factory) *cobra.Command { return newCmdTailWith(f, nil) }

// newCmdTailWith builds the command; runF, when set, is called instead of
// runTail (flag tests).
func newCmdTailWith(f *cmdutil.Factory, runF func(*tailOptions) error) *cobra.Command {
	o := &tailOptions{
		IO:      f.IO,
		Globals: f.Globals,
		Now:     f.Now,
		Sleep:   f.Sleep,
		OpenProvider: func(ctx context.Context, p *project.Project) (*providers.Provider, error) {
			if p == nil { // no evcli.yaml: --provider (else local) in this directory
				p = &project.Project{Dir: ".", Provider: f.Globals.Provider, Region: f.Globals.Region}
			}
			return openProvider(ctx, f, p, []providers.Ability{providers.AbilityLogs})
		},
		RunTUI: runTUIProgram,
	}
	o.Project = func() (*project.Project, error) {
		if _, err := os.Stat(f.ProjectFile()); errors.Is(err, fs.ErrNotExist) && f.Globals.File == project.DefaultFile {
			return nil, nil // no project: tail works without per-function settings
		}
		return f.Project()
	}
	c := &cobra.Command{
		Use:   "tail [FUNCTION...]",
		Short: "Follow the logs of many functions, grouped by correlation ID",
		Long: `Follow the logs of many functions at once, merged in time order and grouped by
correlation ID.

A correlation ID is read from JSON log lines (correlationId, correlation_id,
x-correlation-id, Powertools' correlation_id, the same names nested such as
detail.correlationId, or the JSON path in the function's "correlation" setting in
evcli.yaml) and given to every line of the same request, START, END and REPORT
included.

--correlation takes an ID or a prefix of one that no other ID shares (as git
takes a short SHA; an ambiguous prefix lists the IDs it could mean and exits 2)
and, unless --since is given, looks through everything the store keeps.

On a terminal, a live view lists the flows (correlation ID, first seen, functions
touched, lines, errors, wall-clock time from first to last line, billed time)
above the selected flow's timeline. Keys: ↑/↓ select, enter open (a flow, then a
line's detail with every field), esc back, / search, f function filter, l level
filter, e next error, y copy the full ID, w wrap, space pause, F follow, ? every
key, q quit.

Function names may be given as arguments or with --function (names or globs).
tail follows by default (--follow=false prints what exists and exits); -f is
--file, the project file, in tail as in every evcli command.

Piped, or with --no-tui, one line per record:
  2024-01-01T00:00:00.000Z function [correlation] message
and with -o json one JSON object per line (after the version line):
  {"type":"log","time":...,"provider":...,"function":...,"requestId":...,
   "level":...,"correlationId":...,"message":...,"fields":{...}}`,
		Example: `  evcli tail
  evcli tail payment 'order-*'          # the same as --function payment --function 'order-*'
  evcli tail --function 'order-*' --function billing --level warn
  evcli tail --correlation 7d0c9a2e --since 1h
  evcli tail --since 2024-05-01T10:00:00Z --follow=false --grep 'timeout|declined'
  evcli tail -o json | jq 'select(.level == "ERROR")'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.SinceSet = c.Flags().Changed("since")
			// Positional names are functions, as in stern and sam logs.
			// Following is the default (--follow=false stops); -f stays
			// --file, the project file, as in every evcli command.
			o.Functions = append(o.Functions, args...)
			if runF != nil {
				return runF(o)
			}
			return runTail(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&o.Functions, "function", nil, "function name or glob (order-*); repeat for more (default: all)")
	fl.StringVar(&o.Correlation, "correlation", "", "show only this correlation ID or a unique prefix of one, from the whole store unless --since is given (the terminal UI opens that flow)")
	fl.StringVar(&o.Since, "since", "10m", "start at this time: "+timespec.PointForms)
	fl.StringVar(&o.Grep, "grep", "", "show only lines whose message matches this regular expression")
	fl.StringVar(&o.Level, "level", "", "show only lines of at least this level: debug, info, warn, error")
	fl.BoolVar(&o.Follow, "follow", true, "keep following; --follow=false prints what exists and exits")
	fl.BoolVar(&o.NoTUI, "no-tui", false, "print lines instead of starting the terminal UI")
	fl.DurationVar(&o.ReorderWindow, "reorder-window", tail.DefaultReorderWindow, "how long lines are held to put them in time order and give them their correlation ID")
	return c
}

// tailConfig turns the flags into a tail.Config. Errors are usage errors.
func (o *tailOptions) tailConfig(p *project.Project) (tail.Config, error) {
	cfg := tail.Config{
		Functions:   o.Functions,
		Correlation: o.Correlation,
		Follow:      o.Follow,
		// The reorder window runs on the wall clock (tail.Config.Now's
		// default); o.Now only anchors --since.
		Sleep: o.Sleep,
		Merge: tail.MergerOptions{Window: o.ReorderWindow},
	}
	since, err := timespec.ParsePoint("--since", o.Since, o.Now())
	if err != nil {
		return cfg, err
	}
	cfg.Since = since
	if o.Correlation != "" && !o.SinceSet {
		cfg.Since = time.Time{} // an id names a flow wherever it is in the store
	}
	if o.Grep != "" {
		re, err := regexp.Compile(o.Grep)
		if err != nil {
			return cfg, fmt.Errorf("invalid --grep %q: %v", o.Grep, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		cfg.Grep = re
	}
	if o.Level != "" {
		lv, ok := tail.ParseLevel(o.Level)
		if !ok {
			return cfg, fmt.Errorf("invalid --level %q: use trace, debug, info, warn, error or fatal", o.Level)
		}
		cfg.Level = lv
	}
	switch {
	case o.ReorderWindow < 0:
		return cfg, fmt.Errorf("invalid --reorder-window %v: it cannot be negative (0 prints lines as they come)", o.ReorderWindow)
	case o.ReorderWindow == 0:
		cfg.Merge.Window = -1
	case o.ReorderWindow > time.Minute:
		return cfg, fmt.Errorf("invalid --reorder-window %v: at most 1m (lines are held that long before printing)", o.ReorderWindow)
	}
	for _, fn := range o.Functions {
		if fn == "" {
			return cfg, errors.New("invalid --function \"\": name a function or a glob such as order-*")
		}
	}
	paths, sources := map[string]string{}, map[string]string{}
	if p != nil {
		var names []string
		for _, fn := range p.Functions {
			names = append(names, fn.Name)
			sources[fn.Name] = fn.Source
			if fn.Correlation != "" {
				paths[fn.Name] = fn.Correlation
			}
		}
		for _, fn := range o.Functions {
			if strings.ContainsAny(fn, "*?[") {
				matched := false
				for _, n := range names {
					if tail.MatchFunction([]string{fn}, n) {
						matched = true
						cfg.SourceFunctions = append(cfg.SourceFunctions, n)
					}
				}
				if !matched {
					return cfg, fmt.Errorf("--function %q matches no function in %s (functions: %s)", fn, p.Path, strings.Join(names, ", "))
				}
				continue
			}
			if p.Function(fn) == nil {
				msg := fmt.Sprintf("--function %q: no such function in %s", fn, p.Path)
				if s := suggest(fn, names); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				} else if len(names) > 0 {
					msg += " (functions: " + strings.Join(names, ", ") + ")"
				}
				return cfg, errors.New(msg)
			}
			cfg.SourceFunctions = append(cfg.SourceFunctions, fn)
		}
	}
	parser, err := tail.NewParser(paths)
	if err != nil {
		return cfg, fmt.Errorf("%s: %v", p.Path, err)
	}
	parser.MapSources(sources)
	cfg.Parser = parser
	return cfg, nil
}

func runTail(ctx context.Context, o *tailOptions) (err error) {
	p, err := o.Project()
	if err != nil {
		return err
	}
	cfg, err := o.tailConfig(p)
	if err != nil {
		return cmdutil.UsageError("%v", err)
	}
	prov, err := o.OpenProvider(ctx, p)
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiter{IO: o.IO, Now: o.Now, Sleep: o.Sleep}, prov, &err)
	sources := []tail.Source{{Name: prov.Name, Src: prov.Logs}}
	cfg, err = tail.ResolveCorrelation(ctx, cfg, sources)
	var amb *tail.AmbiguousError
	if errors.As(err, &amb) {
		return cmdutil.UsageError("--%v", err)
	} else if err != nil {
		return err
	}
	hint := tail.EmptyHint(cfg.Correlation, o.sinceText(cfg), o.filterText())

	useTUI := !o.Globals.JSON() && !o.NoTUI && o.IO.IsStdinTTY() && o.IO.IsStdoutTTY()
	if useTUI {
		return o.runTUI(ctx, cfg, sources, hint)
	}
	errColor := o.IO.ErrColorEnabled()
	cfg.OnSourceError = func(source string, err error, retry time.Duration) {
		msg := fmt.Sprintf("log source %s: %v", source, err)
		if retry > 0 {
			msg += fmt.Sprintf("; retrying in %v", retry)
		}
		if errColor {
			msg = "\x1b[33m" + msg + "\x1b[0m"
		}
		fmt.Fprintln(o.IO.ErrOut, "evcli: "+msg)
	}
	var sink tail.Sink
	if o.Globals.JSON() {
		j := cmdutil.NewJSONLines(o.IO.Out, "tail")
		sink = tail.NewJSONPrinter(j.Write, nil)
	} else {
		sink = tail.NewPlainPrinter(o.IO.Out, o.IO.ColorEnabled())
	}
	counted := &countSink{Sink: sink}
	err = tail.Run(ctx, cfg, sources, counted)
	if err == nil && counted.n == 0 {
		fmt.Fprintln(o.IO.ErrOut, "evcli: "+hint)
	}
	var se *tail.SourceError
	if errors.As(err, &se) {
		// Already reported line by line on stderr.
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return err
}

// sinceText is --since as the user gave it, "" when the whole store is read.
func (o *tailOptions) sinceText(cfg tail.Config) string {
	if cfg.Since.IsZero() {
		return ""
	}
	return o.Since
}

// filterText names the filters besides --correlation and --since, for the
// empty-state hint.
func (o *tailOptions) filterText() string {
	var fs []string
	for _, fn := range o.Functions {
		fs = append(fs, "--function "+fn)
	}
	if o.Level != "" {
		fs = append(fs, "--level "+o.Level)
	}
	if o.Grep != "" {
		fs = append(fs, fmt.Sprintf("--grep %q", o.Grep))
	}
	return strings.Join(fs, " ")
}

// countSink counts the records written, for the empty-state hint.
type countSink struct {
	tail.Sink
	n int
}

func (s *countSink) Write(r tail.Record) error {
	s.n++
	return s.Sink.Write(r)
}

func (o *tailOptions) runTUI(ctx context.Context, cfg tail.Config, sources []tail.Source, hint string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recs := make(chan tail.Record, 1024)
	notices := make(chan tea.Msg, 16)
	cfg.OnSourceError = func(source string, err error, retry time.Duration) {
		msg := fmt.Sprintf("log source %s: %v", source, err)
		if retry > 0 {
			msg += fmt.Sprintf("; retrying in %v", retry)
		}
		select {
		case notices <- tail.NoticeMsg(msg):
		default: // the screen shows the latest notice; one dropped is no loss
		}
	}
	m := tail.NewModel(tail.ModelOptions{Records: recs, Correlation: cfg.Correlation, CorrelationPrefix: cfg.CorrelationPrefix, EmptyHint: hint})
	runErr := make(chan error, 1)
	go func() {
		err := tail.Run(ctx, cfg, sources, tail.ChanSink{C: recs, Done: ctx.Done()})
		close(recs)
		runErr <- err
	}()
	err := o.RunTUI(ctx, m, tuiRun{Notices: notices, Profile: tuiProfile(o.IO, o.Globals.Color, os.Environ())})
	cancel()
	rerr := <-runErr
	if err != nil {
		return err
	}
	var se *tail.SourceError
	if rerr != nil && !errors.Is(rerr, context.Canceled) && !errors.As(rerr, &se) {
		return rerr
	}
	return nil
}

// tuiRun is what RunTUI needs besides the model.
type tuiRun struct {
	// Notices are passed to the program (source errors and retries).
	Notices <-chan tea.Msg
	// Profile is the colour profile the screen is rendered in.
	Profile colorprofile.Profile
}

// tuiProfile is the colour profile of the terminal UI: the terminal's, read
// from the environment and terminfo (no query is sent to the terminal);
// without colour under NO_COLOR or --color never (bold, faint and reverse
// video stay: NO_COLOR is about colour, and the selected flow stays
// visible); at least the 16 ANSI colours with --color always.
func tuiProfile(s *cmdutil.IOStreams, colorFlag string, env []string) colorprofile.Profile {
	if !s.ColorEnabled() {
		return colorprofile.ASCII
	}
	p := colorprofile.Detect(s.Out, env)
	if colorFlag == "always" {
		p = max(p, colorprofile.ANSI)
	}
	return p
}

// runTUIProgram runs the bubbletea program on the terminal until q or
// Ctrl-C; notices from other goroutines are passed to it. The model asks
// for the alternate screen in its View.
func runTUIProgram(ctx context.Context, m tail.Model, r tuiRun) error {
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithColorProfile(r.Profile))
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case msg := <-r.Notices:
				p.Send(msg)
			case <-done:
				return
			}
		}
	}()
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
