package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tail"
)

// tailGoldenDir is cmd/testdata/tail (-update rewrites it; see golden_test.go).
func init() {
	wd, _ := os.Getwd()
	tailGoldenDir = filepath.Join(wd, "testdata", "tail")
}

// tailGoldenDir is absolute: the tests chdir to temporary project dirs.
var tailGoldenDir string

func tailGolden(t *testing.T, name, got string) {
	t.Helper()
	assertGolden(t, filepath.Join(tailGoldenDir, name+".golden"), got)
}

var tailT0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// listSource yields fixed lines, then ends (or, following, waits).
type listSource struct {
	lines []providers.LogLine
	err   error
	mu    sync.Mutex
	qs    []providers.LogQuery
}

func (s *listSource) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	s.mu.Lock()
	s.qs = append(s.qs, q)
	s.mu.Unlock()
	out := make(chan providers.LogLine)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		for _, l := range s.lines {
			if l.Time.Before(q.Since) {
				continue
			}
			select {
			case out <- l:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
		if q.Follow && s.err == nil {
			<-ctx.Done()
			errc <- ctx.Err()
			return
		}
		errc <- s.err
	}()
	return out, errc
}

func fanOutLines() []providers.LogLine {
	var ls []providers.LogLine
	add := func(ms int, fn, req, msg string) {
		ls = append(ls, providers.LogLine{Time: tailT0.Add(time.Duration(ms) * time.Millisecond), Provider: "local", Function: fn, RequestID: req, Message: msg, Token: fmt.Sprint(len(ls))})
	}
	add(0, "orders", "r-1", "START RequestId: r-1 Version: $LATEST")
	add(2, "orders", "r-1", `{"level":"INFO","message":"order placed","correlationId":"c-1","orderId":"o-1"}`)
	add(30, "billing", "r-2", "START RequestId: r-2 Version: $LATEST")
	add(8, "orders", "r-1", "END RequestId: r-1") // out of order: the merge puts it back
	add(9, "orders", "r-1", "REPORT RequestId: r-1\tDuration: 7.50 ms\tBilled Duration: 8 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB")
	add(35, "billing", "r-2", "2024-05-01T10:00:00.035Z\tr-2\tERROR\tpayment failed:\nstack line")
	add(36, "billing", "r-2", `{"level":"ERROR","message":"declined","detail":{"correlationId":"c-1"}}`)
	add(40, "billing", "r-2", "REPORT RequestId: r-2\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: 31 MB")
	add(50, "stock", "", "plain text without request")
	return ls
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tailFactory(t *testing.T, src providers.LogSource) (*cmdutil.Factory, *syncBuf, *syncBuf) {
	t.Helper()
	io, _, _, _ := cmdutil.Test()
	out, errOut := &syncBuf{}, &syncBuf{}
	io.Out, io.ErrOut = out, errOut
	dir := t.TempDir()
	f := &cmdutil.Factory{
		IO:      io,
		Globals: &cmdutil.Globals{File: filepath.Join(dir, "evcli.yaml"), Output: "text", Color: "auto"},
		Now:     func() time.Time { return tailT0.Add(time.Minute) },
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Getenv:  func(string) string { return "" },
		Environ: func() []string { return nil },
	}
	f.OpenProvider = openAs(func() *providers.Provider { return &providers.Provider{Logs: src} })
	return f, out, errOut
}

// runTailCmd runs evcli with args; a missing evcli.yaml next to -f is fine
// only for the default name, so tests chdir to a temp dir.
func runTailCmd(t *testing.T, f *cmdutil.Factory, args ...string) int {
	t.Helper()
	t.Chdir(filepath.Dir(f.Globals.File))
	f.Globals.File = "evcli.yaml"
	return Run(context.Background(), f, args)
}

func TestTailPlain(t *testing.T) {
	f, out, errOut := tailFactory(t, &listSource{lines: fanOutLines()})
	if code := runTailCmd(t, f, "tail", "--follow=false"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tailGolden(t, "plain", out.String())
}

func TestTailJSON(t *testing.T) {
	f, out, errOut := tailFactory(t, &listSource{lines: fanOutLines()})
	f.IO.SetStdoutTTY(true) // -o json wins over the terminal
	f.IO.SetStdinTTY(true)
	if code := runTailCmd(t, f, "tail", "--follow=false", "-o", "json"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tailGolden(t, "json", out.String())
}

func TestTailColor(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tty     bool
		noColor bool
		args    []string
		want    bool
	}{
		{"pipe", false, false, nil, false},
		{"terminal no-tui", true, false, []string{"--no-tui"}, true},
		{"terminal NO_COLOR", true, true, []string{"--no-tui"}, false},
		{"pipe --color always", false, false, []string{"--color", "always"}, true},
		{"terminal --color never", true, false, []string{"--no-tui", "--color", "never"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, out, _ := tailFactory(t, &listSource{lines: fanOutLines()})
			f.IO.SetStdoutTTY(tt.tty)
			f.IO.SetStdinTTY(tt.tty)
			f.IO.SetNoColorEnv(tt.noColor)
			if code := runTailCmd(t, f, append([]string{"tail", "--follow=false"}, tt.args...)...); code != 0 {
				t.Fatalf("exit %d", code)
			}
			if got := strings.Contains(out.String(), "\x1b["); got != tt.want {
				t.Fatalf("colour = %v, want %v:\n%q", got, tt.want, out.String())
			}
		})
	}
}

func TestTailFilters(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string // messages, in order
	}{
		{[]string{"--function", "bill*"}, []string{"START RequestId: r-2 Version: $LATEST", `payment failed:\nstack line`, "declined", "REPORT"}},
		{[]string{"bill*"}, []string{"START RequestId: r-2 Version: $LATEST", `payment failed:\nstack line`, "declined", "REPORT"}},
		{[]string{"--level", "error"}, []string{`payment failed:\nstack line`, "declined"}},
		{[]string{"--grep", "^(order|decl)"}, []string{"order placed", "declined"}},
		{[]string{"--correlation", "c-1", "--function", "orders"}, []string{"START RequestId: r-1 Version: $LATEST", "order placed", "END RequestId: r-1", "REPORT"}},
		{[]string{"--since", "2024-05-01T10:00:00.036Z"}, []string{"declined", "REPORT", "plain text without request"}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, out, errOut := tailFactory(t, &listSource{lines: fanOutLines()})
			if code := runTailCmd(t, f, append([]string{"tail", "--follow=false", "-o", "json"}, tt.args...)...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")[1:]
			if len(lines) != len(tt.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tt.want), out)
			}
			for i, l := range lines {
				if !strings.Contains(l, `"message":"`+strings.ReplaceAll(tt.want[i], `"`, `\"`)) {
					t.Errorf("line %d = %s, want message %q", i, l, tt.want[i])
				}
			}
		})
	}
}

func TestTailFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "yesterday"}, `invalid --since "yesterday": not a duration or a time; use a duration back from now`},
		{[]string{"--since", "-5m"}, `invalid --since "-5m": a duration counts back from now`},
		{[]string{"--level", "loud"}, `invalid --level "loud": use trace, debug, info, warn, error or fatal`},
		{[]string{"--grep", "a("}, `invalid --grep "a(": missing closing ): ` + "`a(`"},
		{[]string{"--reorder-window", "5m"}, "invalid --reorder-window 5m0s: at most 1m"},
		{[]string{"--function", ""}, `invalid --function ""`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, out, errOut := tailFactory(t, &listSource{})
			if code := runTailCmd(t, f, append([]string{"tail"}, tt.args...)...); code != cmdutil.ExitUsage {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errOut)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Fatalf("stderr = %q, want it to contain %q", errOut, tt.want)
			}
			if out.String() != "" {
				t.Fatalf("stdout = %q", out)
			}
		})
	}
}

func TestTailProject(t *testing.T) {
	src := &listSource{lines: []providers.LogLine{
		{Time: tailT0, Function: "billing", RequestID: "r-9", Message: "START RequestId: r-9"},
		{Time: tailT0.Add(time.Millisecond), Function: "billing", RequestID: "r-9", Message: `{"correlationId":"generic","meta":{"trace":"t-42"}}`},
	}}
	f, out, errOut := tailFactory(t, src)
	dir := filepath.Dir(f.Globals.File)
	for _, d := range []string{"functions/billing", "functions/orders"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	yaml := "project: shop\nfunctions:\n  billing:\n    source: functions/billing\n    runtime: provided.al2023\n    correlation: $.meta.trace\n" +
		"  orders:\n    source: functions/orders\n    runtime: provided.al2023\n"
	if err := os.WriteFile(f.Globals.File, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := runTailCmd(t, f, "tail", "--follow=false", "--function", "bill*"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "2024-05-01T10:00:00.000Z billing [t-42] START RequestId: r-9\n" +
		"2024-05-01T10:00:00.001Z billing [t-42] {\"correlationId\":\"generic\",\"meta\":{\"trace\":\"t-42\"}}\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	// The glob was expanded against the project's functions for the source.
	if q := src.qs[0]; fmt.Sprint(q.Functions) != "[billing]" || !q.Since.Equal(tailT0.Add(time.Minute-10*time.Minute)) {
		t.Fatalf("query = %+v", q)
	}

	f2, _, errOut2 := tailFactory(t, src)
	f2.Globals.File = f.Globals.File
	t.Chdir(dir)
	f2.Globals.File = "evcli.yaml"
	if code := Run(context.Background(), f2, []string{"tail", "--function", "biling"}); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut2.String(), `--function "biling": no such function in evcli.yaml; did you mean "billing"?`) {
		t.Fatalf("stderr = %s", errOut2)
	}
}

// flakySource fails its first call, then follows.
type flakySource struct {
	calls int
	mu    sync.Mutex
	inner providers.LogSource
}

func (s *flakySource) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first {
		out := make(chan providers.LogLine)
		close(out)
		errc := make(chan error, 1)
		errc <- &providers.Error{Code: providers.Unavailable, Resource: "store", Err: errors.New("database is locked")}
		return out, errc
	}
	return s.inner.Logs(ctx, q)
}

// chanSource delivers lines as a test pushes them, like a store written by
// another process while tail follows it.
type chanSource struct{ c chan providers.LogLine }

func (s *chanSource) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	out := make(chan providers.LogLine)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		for {
			select {
			case l := <-s.c:
				select {
				case out <- l:
				case <-ctx.Done():
				}
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
		}
	}()
	return out, errc
}

func TestTailFollowsLinesOverTime(t *testing.T) {
	src := &chanSource{c: make(chan providers.LogLine)}
	flaky := &flakySource{inner: src}
	f, out, errOut := tailFactory(t, flaky)
	f.Now = time.Now
	t.Chdir(filepath.Dir(f.Globals.File))
	f.Globals.File = "evcli.yaml"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- Run(ctx, f, []string{"tail", "-o", "json", "--reorder-window", "10ms"}) }()
	for i := 0; i < 3; i++ {
		src.c <- providers.LogLine{Time: time.Now(), Function: "orders", RequestID: "r-1", Message: fmt.Sprintf(`{"message":"step %d","correlationId":"c-7"}`, i)}
		// Each line is printed while the tail keeps following.
		want := fmt.Sprintf(`"message":"step %d"`, i)
		for !strings.Contains(out.String(), want) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	if code := <-done; code != cmdutil.ExitInterrupted {
		t.Fatalf("exit %d, want 130", code)
	}
	if !strings.Contains(errOut.String(), "evcli: log source local: store: database is locked; retrying in ") {
		t.Fatalf("stderr = %q", errOut)
	}
	if n := strings.Count(out.String(), `"level":"","correlationId":"c-7"`); n != 3 {
		t.Fatalf("%d correlated lines:\n%s", n, out)
	}
}

func TestTailSourceFailsForGood(t *testing.T) {
	denied := &providers.Error{Code: providers.PermissionDenied, Resource: "/aws/lambda/orders", Err: errors.New("AccessDeniedException: not authorized")}
	f, _, errOut := tailFactory(t, &listSource{err: denied})
	if code := runTailCmd(t, f, "tail", "--follow=false"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if got := errOut.String(); got != "evcli: log source local: /aws/lambda/orders: AccessDeniedException: not authorized\n" {
		t.Fatalf("stderr = %q", got)
	}
}

func TestTailStartsTUIOnlyOnATerminal(t *testing.T) {
	for _, tt := range []struct {
		name            string
		stdin, stdout   bool
		args            []string
		wantTUI         bool
		wantCorrelation string
	}{
		{"both terminals", true, true, nil, true, ""},
		{"correlation", true, true, []string{"--correlation", "c-1"}, true, "c-1"},
		{"correlation prefix", true, true, []string{"--correlation", "c-"}, true, "c-1"},
		{"no-tui", true, true, []string{"--no-tui"}, false, ""},
		{"stdin piped", false, true, nil, false, ""},
		{"stdout piped", true, false, nil, false, ""},
		{"json", true, true, []string{"-o", "json"}, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, out, _ := tailFactory(t, &listSource{lines: fanOutLines()})
			f.IO.SetStdinTTY(tt.stdin)
			f.IO.SetStdoutTTY(tt.stdout)
			var got *tail.Model
			cmd := newCmdTailWith(f, func(o *tailOptions) error {
				o.RunTUI = func(ctx context.Context, m tail.Model, r tuiRun) error {
					m = driveTUI(m, m.Init())
					got = &m
					return nil
				}
				return runTail(context.Background(), o)
			})
			t.Chdir(filepath.Dir(f.Globals.File))
			f.Globals.File = "evcli.yaml"
			cmd.SetArgs(append([]string{"--follow=false"}, tt.args...))
			f.Globals.Output = "text"
			if len(tt.args) == 2 && tt.args[0] == "-o" {
				f.Globals.Output = "json"
				cmd.SetArgs([]string{"--follow=false"})
			}
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if (got != nil) != tt.wantTUI {
				t.Fatalf("TUI started = %v, want %v", got != nil, tt.wantTUI)
			}
			if got != nil {
				if out.String() != "" {
					t.Fatalf("the TUI run also printed %q", out)
				}
				wantFlows := 2 // c-1 (both requests), and the stock line without ids
				if tt.wantCorrelation != "" {
					wantFlows = 1
					if sel := got.Selected(); sel == nil || sel.ID != tt.wantCorrelation || !got.Open() {
						t.Fatalf("selected %v open %v, want the flow %s open", sel, got.Open(), tt.wantCorrelation)
					}
				}
				if n := got.Flows().Len(); n != wantFlows {
					var ids []string
					for _, fl := range got.Flows().List() {
						ids = append(ids, fl.ID)
					}
					t.Fatalf("%d flows %v, want %d", n, ids, wantFlows)
				}
			} else if out.String() == "" {
				t.Fatal("nothing printed")
			}
		})
	}
}

func TestTailTUIShowsSourceErrors(t *testing.T) {
	f, _, errOut := tailFactory(t, &flakySource{inner: &listSource{lines: fanOutLines()}})
	f.IO.SetStdinTTY(true)
	f.IO.SetStdoutTTY(true)
	var view string
	cmd := newCmdTailWith(f, func(o *tailOptions) error {
		o.RunTUI = func(ctx context.Context, m tail.Model, r tuiRun) error {
			nm, _ := m.Update(<-r.Notices)
			m = driveTUI(nm.(tail.Model), m.Init())
			view = ansi.Strip(m.View().Content)
			return nil
		}
		return runTail(context.Background(), o)
	})
	t.Chdir(filepath.Dir(f.Globals.File))
	f.Globals.File = "evcli.yaml"
	cmd.SetArgs([]string{"--follow=false"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(view, "! log source local: store: database is locked; retrying in 1s") {
		t.Fatalf("notice not shown:\n%s", view)
	}
	if errOut.String() != "" {
		t.Fatalf("the TUI run wrote to stderr: %q", errOut)
	}
}

// driveTUI runs the model headless, as the bubbletea program would: each
// command's message goes back to Update (a batch's commands in turn) until
// no command is left, here when the record stream has ended.
func driveTUI(m tail.Model, cmd tea.Cmd) tail.Model {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		if batch, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, batch...)
			continue
		}
		nm, next := m.Update(msg)
		m = nm.(tail.Model)
		queue = append(queue, next)
	}
	return m
}

// TestTailTUIColorProfile: the screen has no colour under NO_COLOR or
// --color never, the terminal's colours otherwise, at least 16 with
// --color always (even with NO_COLOR set).
func TestTailTUIColorProfile(t *testing.T) {
	for _, tt := range []struct {
		name    string
		mode    string
		noColor bool
		env     []string
		want    colorprofile.Profile
	}{
		{"auto 256-colour terminal", "auto", false, []string{"TERM=xterm-256color", "CLICOLOR_FORCE=1"}, colorprofile.ANSI256},
		{"auto truecolor terminal", "auto", false, []string{"TERM=xterm-256color", "COLORTERM=truecolor", "CLICOLOR_FORCE=1"}, colorprofile.TrueColor},
		{"auto NO_COLOR", "auto", true, []string{"TERM=xterm-256color", "NO_COLOR=1", "CLICOLOR_FORCE=1"}, colorprofile.ASCII},
		{"never", "never", false, []string{"TERM=xterm-256color", "CLICOLOR_FORCE=1"}, colorprofile.ASCII},
		{"always with NO_COLOR", "always", true, []string{"TERM=xterm-256color", "NO_COLOR=1"}, colorprofile.ANSI},
		{"always on a dumb terminal", "always", false, []string{"TERM=dumb"}, colorprofile.ANSI},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _, _ := cmdutil.Test()
			s.SetStdinTTY(true)
			s.SetStdoutTTY(true)
			s.SetNoColorEnv(tt.noColor)
			s.SetColorMode(tt.mode)
			if got := tuiProfile(s, tt.mode, tt.env); got != tt.want {
				t.Fatalf("profile %v, want %v", got, tt.want)
			}
		})
	}

	// The profile reaches RunTUI.
	f, _, _ := tailFactory(t, &listSource{lines: fanOutLines()})
	f.IO.SetStdinTTY(true)
	f.IO.SetStdoutTTY(true)
	f.IO.SetNoColorEnv(true)
	var got colorprofile.Profile
	cmd := newCmdTailWith(f, func(o *tailOptions) error {
		o.RunTUI = func(ctx context.Context, m tail.Model, r tuiRun) error {
			got = r.Profile
			driveTUI(m, m.Init())
			return nil
		}
		return runTail(context.Background(), o)
	})
	t.Chdir(filepath.Dir(f.Globals.File))
	f.Globals.File = "evcli.yaml"
	cmd.SetArgs([]string{"--follow=false"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got != colorprofile.ASCII {
		t.Fatalf("NO_COLOR: the TUI ran with profile %v", got)
	}
}

func corrPrefixLines() []providers.LogLine {
	at := func(d time.Duration) time.Time { return tailT0.Add(-d) }
	return []providers.LogLine{
		{Time: at(3 * time.Hour), Function: "order", RequestID: "r-1", Message: `{"msg":"old flow","correlationId":"7d0c9a2e-0001"}`, Token: "1"},
		{Time: at(3 * time.Hour).Add(time.Millisecond), Function: "order", RequestID: "r-1", Message: "REPORT RequestId: r-1\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB", Token: "2"},
		{Time: at(2 * time.Hour), Function: "order", RequestID: "r-2", Message: `{"msg":"other","correlationId":"7d0c9f00-0002"}`, Token: "3"},
		{Time: at(time.Second), Function: "order", RequestID: "r-3", Message: `{"msg":"recent","correlationId":"b00-1"}`, Token: "4"},
	}
}

func TestTailCorrelationPrefixSearchesTheWholeStore(t *testing.T) {
	src := &listSource{lines: corrPrefixLines()}
	f, out, errOut := tailFactory(t, src)
	if code := runTailCmd(t, f, "tail", "--follow=false", "--correlation", "7d0c9a"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Three hours back, past the default --since 10m; the REPORT line of
	// the same request comes with it.
	want := "2024-05-01T07:00:00.000Z order [7d0c9a2e-0001] old flow\n" +
		"2024-05-01T07:00:00.001Z order [7d0c9a2e-0001] REPORT RequestId: r-1\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	for _, q := range src.qs {
		if !q.Since.IsZero() {
			t.Fatalf("a query with --correlation and no --since did not read the whole store: %+v", q)
		}
	}
}

func TestTailCorrelationAmbiguousPrefix(t *testing.T) {
	f, out, errOut := tailFactory(t, &listSource{lines: corrPrefixLines()})
	if code := runTailCmd(t, f, "tail", "--correlation", "7d0c"); code != cmdutil.ExitUsage {
		t.Fatalf("exit %d, want 2: %s", code, errOut)
	}
	for _, want := range []string{`--correlation "7d0c" is ambiguous: 2 correlation IDs start with it`, "  7d0c9a2e-0001\n  7d0c9f00-0002", "give more characters"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if out.String() != "" {
		t.Errorf("stdout = %q", out)
	}
}

func TestTailEmptyHint(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--correlation", "7d0c9a2e-0001", "--since", "10m"}, "evcli: no lines for correlation 7d0c9a2e-0001 in the last 10m: try --since 24h\n"},
		{[]string{"--correlation", "nope"}, "evcli: no lines for correlation nope in the store: check the id"},
		{[]string{"--function", "billing"}, "evcli: no lines matching --function billing in the last 10m: try --since 24h\n"},
		{[]string{"--correlation", "b00", "--level", "error"}, "evcli: no lines matching --level error for correlation b00-1 in the store: try without --level error\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, out, errOut := tailFactory(t, &listSource{lines: corrPrefixLines()})
			if code := runTailCmd(t, f, append([]string{"tail", "--follow=false"}, tt.args...)...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if out.String() != "" || !strings.HasPrefix(errOut.String(), tt.want) {
				t.Fatalf("stdout %q, stderr %q; want the hint %q", out, errOut, tt.want)
			}
		})
	}
}
