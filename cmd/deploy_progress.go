package cmd

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/term"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/tail"
)

// deployProgress shows deploy's apply phase: a live table on a terminal,
// one line per step otherwise, JSON records with -o json.
type deployProgress interface {
	// Step reports a step of a function or a project-level resource
	// (bus, table): "start", a driver step, "done" or "failed".
	Step(pr deploy.Progress)
	// Stop ends live output; failures are then listed with their errors.
	Stop()
}

// progressTick is how often the live table redraws its spinners and
// elapsed times; tests set it to 0 so that only steps redraw it.
var progressTick = 100 * time.Millisecond

// newDeployProgress picks the rendering for f's streams. rows are the
// changes to apply (shared resources first), so that the table shows every
// row from the start, waiting ones too.
func newDeployProgress(f *cmdutil.Factory, jl *cmdutil.JSONLines, rows []progressRowSpec) deployProgress {
	switch {
	case jl != nil:
		return &jsonProgress{jl: jl}
	case f.IO.IsStderrTTY():
		t := newProgressTable(f.IO.ErrOut, progressTableOptions{Now: f.Now, Color: f.IO.ErrColorEnabled(), Tick: progressTick})
		for _, r := range rows {
			t.add(r)
		}
		t.start()
		return t
	default:
		return &lineProgress{w: f.IO.ErrOut, ok: okMark(f), fail: failMark(f)}
	}
}

// jsonProgress writes {"type":"progress",...} records.
type jsonProgress struct{ jl *cmdutil.JSONLines }

func (p *jsonProgress) Step(pr deploy.Progress) {
	rec := map[string]any{"type": "progress", "function": pr.Name, "step": pr.Step, "elapsedMs": ms(pr.Elapsed)}
	if pr.Kind != "" && pr.Kind != "function" {
		rec = map[string]any{"type": "progress", "kind": pr.Kind, "resource": pr.Name, "step": pr.Step, "elapsedMs": ms(pr.Elapsed)}
	}
	if pr.Err != nil {
		rec["error"] = pr.Err.Error()
	}
	_ = p.jl.Write(rec)
}

func (p *jsonProgress) Stop() {}

// lineProgress writes one plain line per step: "inventory: upload code",
// "ok inventory (1.2s)", "FAILED inventory: ...".
type lineProgress struct {
	mu       sync.Mutex
	w        io.Writer
	ok, fail string
}

func (p *lineProgress) Step(ev deploy.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Step {
	case "start":
	case "done":
		fmt.Fprintf(p.w, "%s %s (%s)\n", p.ok, ev.Label(), ev.Elapsed.Round(time.Millisecond))
	case "failed":
		fmt.Fprintf(p.w, "%s %s: %v\n", p.fail, ev.Label(), ev.Err)
	default:
		fmt.Fprintf(p.w, "%s: %s\n", ev.Label(), ev.Step)
	}
}

func (p *lineProgress) Stop() {}

// progressRowSpec is one row of the table before it starts.
type progressRowSpec struct {
	Kind   string // "function", "bus", "table"
	Name   string
	Action string // create, update, delete
}

type rowState int

const (
	rowWaiting rowState = iota
	rowRunning
	rowDone
	rowFailed
)

type progressRow struct {
	progressRowSpec
	label   string
	step    string
	state   rowState
	start   time.Time
	elapsed time.Duration
	err     error
}

type progressTableOptions struct {
	Now   func() time.Time
	Color bool
	// Tick is the redraw interval for spinners and elapsed times; 0 redraws
	// on steps only.
	Tick time.Duration
	// Width and Height are the terminal's size; 0 asks the terminal (its
	// size only: nothing is written to or read from it) and falls back to
	// 80x24.
	Width, Height int
}

// progressTable is the live table on a terminal: one row per function or
// resource (function, step, elapsed, result), redrawn in place with ANSI
// cursor movement. When the rows do not fit the terminal, finished rows are
// printed once above the table and leave it, and waiting rows are counted
// on one line.
type progressTable struct {
	mu     sync.Mutex
	w      io.Writer
	o      progressTableOptions
	t0     time.Time
	rows   []*progressRow // live rows in table order
	byName map[string]*progressRow
	// finished are live rows in the order they finished (overflow flushes
	// the oldest first).
	finished []*progressRow
	failures []*progressRow
	lines    int // lines of the live region on screen
	// labelW and stepW are the widths of the first two columns so far.
	labelW, stepW int
	stopped       bool
	quit          chan struct{}
	wg            sync.WaitGroup
}

func newProgressTable(w io.Writer, o progressTableOptions) *progressTable {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Width <= 0 || o.Height <= 0 {
		width, height := 80, 24
		if fd, ok := w.(interface{ Fd() uintptr }); ok {
			if cw, ch, err := term.GetSize(fd.Fd()); err == nil && cw > 0 && ch > 0 {
				width, height = cw, ch
			}
		}
		if o.Width <= 0 {
			o.Width = width
		}
		if o.Height <= 0 {
			o.Height = height
		}
	}
	return &progressTable{w: w, o: o, t0: o.Now(), byName: map[string]*progressRow{}, quit: make(chan struct{}),
		labelW: len("FUNCTION"), stepW: len("update configuration")}
}

func (t *progressTable) add(s progressRowSpec) *progressRow {
	r := &progressRow{progressRowSpec: s, label: deploy.Progress{Kind: s.Kind, Name: s.Name}.Label(), step: "waiting"}
	t.rows = append(t.rows, r)
	t.byName[r.label] = r
	return r
}

// start draws the first frame and starts the ticker.
func (t *progressTable) start() {
	t.mu.Lock()
	t.redraw()
	t.mu.Unlock()
	if t.o.Tick <= 0 {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tk := time.NewTicker(t.o.Tick)
		defer tk.Stop()
		for {
			select {
			case <-t.quit:
				return
			case <-tk.C:
				t.mu.Lock()
				if !t.stopped {
					t.redraw()
				}
				t.mu.Unlock()
			}
		}
	}()
}

func (t *progressTable) Step(ev deploy.Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	r := t.byName[ev.Label()]
	if r == nil {
		r = t.add(progressRowSpec{Kind: ev.Kind, Name: ev.Name})
	}
	now := t.o.Now()
	if r.state == rowWaiting {
		r.state, r.start, r.step = rowRunning, now, "starting"
	}
	switch ev.Step {
	case "start":
	case "done":
		r.state, r.elapsed, r.step = rowDone, ev.Elapsed, "done"
		t.finished = append(t.finished, r)
	case "failed":
		r.state, r.elapsed, r.err = rowFailed, ev.Elapsed, ev.Err
		t.finished = append(t.finished, r)
		t.failures = append(t.failures, r)
	default:
		r.step = ev.Step
	}
	t.redraw()
}

// Stop draws the final frame, then lists the failures with their errors.
func (t *progressTable) Stop() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	t.redraw()
	close(t.quit)
	var b strings.Builder
	for _, r := range t.failures {
		fmt.Fprintf(&b, "%s %s: %v\n", t.paint("31", "✗"), r.label, r.err)
	}
	io.WriteString(t.w, b.String())
	t.mu.Unlock()
	t.wg.Wait()
}

// redraw moves the cursor to the top of the live region and writes the
// current frame over it. Called with mu held.
func (t *progressTable) redraw() {
	flushed, live := t.frame(t.o.Now())
	var b strings.Builder
	if t.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", t.lines)
	}
	for _, l := range flushed {
		b.WriteString("\r\x1b[2K")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, l := range live {
		b.WriteString("\r\x1b[2K")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if len(flushed)+len(live) < t.lines {
		b.WriteString("\x1b[J") // the table got shorter: clear what is left below
	}
	t.lines = len(live)
	io.WriteString(t.w, b.String())
}

// frame returns the lines that leave the table for good (overflow) and the
// live region for now. Called with mu held.
func (t *progressTable) frame(now time.Time) (flushed, live []string) {
	maxLive := max(t.o.Height-1, 3)
	// Columns only grow, so that the table does not jump between frames.
	for _, r := range t.rows {
		t.labelW = max(t.labelW, utf8.RuneCountInString(r.label))
		t.stepW = max(t.stepW, utf8.RuneCountInString(r.step))
	}
	// Keep lines within the terminal so that cursor movement stays exact:
	// the first two columns share what elapsed and result leave.
	const elapsedW, resultW = 7, 11
	avail := t.o.Width - 1 - elapsedW - resultW - 6
	labelW := min(t.labelW, 32, max(avail-12, 8))
	stepW := max(min(t.stepW, avail-labelW), 4)

	row := func(r *progressRow, spin bool) string {
		label := pad(truncateMiddle(r.label, labelW), labelW)
		if r.Kind == "function" || r.Kind == "" {
			label = t.paint(fnColor(r.Name), label)
		} else {
			label = t.paint("1", label)
		}
		step := pad(truncate(r.step, stepW), stepW)
		if r.state == rowWaiting {
			step = t.paint("2", step)
		}
		elapsed := ""
		switch r.state {
		case rowRunning:
			elapsed = fmtElapsed(now.Sub(r.start))
		case rowDone, rowFailed:
			elapsed = fmtElapsed(r.elapsed)
		}
		result := ""
		switch r.state {
		case rowWaiting:
			if t.stopped {
				result = t.paint("2", "not started")
			}
		case rowRunning:
			if t.stopped {
				result = t.paint("33", "… stopped")
			} else if spin {
				result = t.paint("36", spinnerFrames[int(now.Sub(t.t0)/(100*time.Millisecond))%len(spinnerFrames)])
			}
		case rowDone:
			result = t.paint("32", "✓ "+doneWord(r.Action))
		case rowFailed:
			result = t.paint("31", "✗ failed")
		}
		return strings.TrimRight(fmt.Sprintf("%s  %s  %*s  %s", label, step, elapsedW, elapsed, result), " ")
	}

	// Overflow: finished rows leave the table, oldest first.
	for 1+len(t.rows) > maxLive && len(t.finished) > 0 {
		r := t.finished[0]
		t.finished = t.finished[1:]
		flushed = append(flushed, row(r, false))
		for i, x := range t.rows {
			if x == r {
				t.rows = append(t.rows[:i], t.rows[i+1:]...)
				break
			}
		}
	}
	header := fmt.Sprintf("%s  %s  %*s  %s", pad("FUNCTION", labelW), pad("STEP", stepW), elapsedW, "ELAPSED", "RESULT")
	live = append(live, t.paint("1", header))
	waiting := 0
	for _, r := range t.rows {
		if r.state == rowWaiting && 1+len(t.rows) > maxLive {
			waiting++
			continue
		}
		live = append(live, row(r, true))
	}
	if waiting > 0 {
		live = append(live, t.paint("2", fmt.Sprintf("… %d more waiting", waiting)))
	}
	return flushed, live
}

func (t *progressTable) paint(code, s string) string {
	if !t.o.Color || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// fnColor is a function's SGR colour, the one tail gives it.
func fnColor(name string) string {
	c := tail.ANSIColor(name)
	if c >= 8 {
		return fmt.Sprint(90 + c - 8)
	}
	return fmt.Sprint(30 + c)
}

func doneWord(action string) string {
	switch action {
	case "create":
		return "created"
	case "update":
		return "updated"
	case "delete":
		return "deleted"
	}
	return "done"
}

func fmtElapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < 100*time.Millisecond {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return string([]rune(s)[:n])
	}
	return string([]rune(s)[:n-1]) + "…"
}

// truncateMiddle keeps both ends of a name, where names usually differ.
func truncateMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 2 {
		return string(r[:n])
	}
	head := (n - 1) / 2
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}
