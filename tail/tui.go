package tail

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// KeyMap is the TUI's key bindings; its help bar shows them.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Open, Back                              key.Binding
	Follow, Pause, Search, Function, Level  key.Binding
	NextError, Help, Quit                   key.Binding
}

// DefaultKeyMap returns the key bindings documented in the README.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Up:        b("↑/k", "up", "up", "k"),
		Down:      b("↓/j", "down", "down", "j"),
		PageUp:    b("pgup", "page up", "pgup", "ctrl+u"),
		PageDown:  b("pgdn", "page down", "pgdown", "ctrl+d"),
		Top:       b("g", "top", "g", "home"),
		Bottom:    b("G", "bottom+follow", "G", "end"),
		Open:      b("enter", "open flow", "enter"),
		Back:      b("esc", "back", "esc"),
		Follow:    b("F", "follow", "F"),
		Pause:     b("space", "pause", "space", "p"),
		Search:    b("/", "search", "/"),
		Function:  b("f", "function", "f"),
		Level:     b("l", "level", "l"),
		NextError: b("e", "next error", "e"),
		Help:      b("?", "more keys", "?"),
		Quit:      b("q", "quit", "q", "ctrl+c"),
	}
}

// ShortHelp is the one-line help bar.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Back, k.Search, k.Function, k.Level, k.NextError, k.Pause, k.Follow, k.Help, k.Quit}
}

// FullHelp is the help shown by ?.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Open, k.Back, k.Search, k.NextError},
		{k.Function, k.Level, k.Pause, k.Follow},
		{k.Help, k.Quit},
	}
}

// RecordsMsg delivers records to the model.
type RecordsMsg []Record

// StreamEndMsg says the records channel was closed; Err is why, if known.
type StreamEndMsg struct{ Err error }

// NoticeMsg shows a line in the status bar (a source's error and retry).
type NoticeMsg string

// ModelOptions configure the TUI model.
type ModelOptions struct {
	// Records is read for RecordsMsg batches; nil when the caller sends
	// RecordsMsg itself (tests).
	Records <-chan Record
	// Correlation opens this flow alone and follows it.
	Correlation string
	// MaxFlows and MaxLinesPerFlow bound memory (0: defaults).
	MaxFlows, MaxLinesPerFlow int
	// Location for times (default time.Local).
	Location *time.Location
	// Title is shown at the top left (default "evcli tail").
	Title string
}

// Model is the bubbletea model of the tail TUI: a live list of flows and the
// selected flow's lines as a timeline.
type Model struct {
	flows    *Flows
	keys     KeyMap
	help     help.Model
	input    textinput.Model
	recs     <-chan Record
	loc      *time.Location
	title    string
	fixed    string
	width    int
	height   int
	selKey   string // key of the selected flow ("\x00"+id for request flows)
	open     bool
	follow   bool
	paused   bool
	pending  []Record
	stalled  bool // stopped reading while paused and the pending queue was full
	reading  bool // a wait command is outstanding
	search   bool // the search input has focus
	query    string
	fnIdx    int // 0: all functions; i: the i-th function seen
	fnSeen   []string
	level    Level
	scroll   int // first timeline line shown (when not following)
	notice   string
	ended    bool
	endErr   error
	styles   styles
	fnStyles map[string]lipgloss.Style
}

type styles struct {
	title, dim, sel, err, warn, header, bar lipgloss.Style
}

// maxPending bounds the records kept while paused; past it the model stops
// reading, which holds the sources back rather than dropping lines.
const maxPending = 10_000

// NewModel returns the TUI model.
func NewModel(o ModelOptions) Model {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "search messages, functions, ids"
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	title := o.Title
	if title == "" {
		title = "evcli tail"
	}
	m := Model{
		flows:  NewFlows(o.MaxFlows, o.MaxLinesPerFlow),
		keys:   DefaultKeyMap(),
		help:   help.New(),
		input:  in,
		recs:   o.Records,
		loc:    loc,
		title:  title,
		fixed:  o.Correlation,
		follow: true,
		width:  80,
		height: 24,
		styles: styles{
			title:  lipgloss.NewStyle().Bold(true),
			dim:    lipgloss.NewStyle().Faint(true),
			sel:    lipgloss.NewStyle().Reverse(true),
			err:    lipgloss.NewStyle().Foreground(ansi.Red).Bold(true),
			warn:   lipgloss.NewStyle().Foreground(ansi.Yellow),
			header: lipgloss.NewStyle().Bold(true).Underline(true),
			bar:    lipgloss.NewStyle().Faint(true),
		},
		fnStyles: map[string]lipgloss.Style{},
	}
	if o.Correlation != "" {
		m.open = true
		m.selKey = o.Correlation
	}
	return m
}

// Init starts reading records and asks the terminal for its background
// colour (answered by a tea.BackgroundColorMsg), so that the help bar and
// the search prompt use greys that read well on it. This is the only query
// evcli sends the terminal, and only once the program runs; bubbletea v2
// waits for the answer without blocking, so a terminal that never answers
// keeps the dark-background defaults.
func (m Model) Init() tea.Cmd {
	if m.recs == nil {
		return tea.RequestBackgroundColor
	}
	return tea.Batch(tea.RequestBackgroundColor, waitRecords(m.recs))
}

// waitRecords reads one record, then whatever else is waiting (up to a
// batch), so a burst costs one redraw.
func waitRecords(c <-chan Record) tea.Cmd {
	return func() tea.Msg {
		r, ok := <-c
		if !ok {
			return StreamEndMsg{}
		}
		batch := RecordsMsg{r}
		for len(batch) < 1000 {
			select {
			case r, ok := <-c:
				if !ok {
					return batch
				}
				batch = append(batch, r)
			default:
				return batch
			}
		}
		return batch
	}
}

// Update handles a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		m.input.SetWidth(max(10, msg.Width-4))
		return m, nil
	case tea.BackgroundColorMsg:
		dark := msg.IsDark()
		m.help.Styles = help.DefaultStyles(dark)
		m.input.SetStyles(textinput.DefaultStyles(dark))
		return m, nil
	case RecordsMsg:
		if m.paused {
			m.pending = append(m.pending, msg...)
			if len(m.pending) >= maxPending {
				m.stalled = true
				return m, nil
			}
		} else {
			m.add(msg)
		}
		return m, m.read()
	case StreamEndMsg:
		m.ended, m.endErr = true, msg.Err
		m.recs = nil
		return m, nil
	case NoticeMsg:
		m.notice = string(msg)
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	default:
		if m.search {
			// Pastes (bracketed paste comes apart from key presses in
			// bubbletea v2) and the cursor's blinking.
			var cmd tea.Cmd
			m.input, cmd = m.input.Update(msg)
			return m, cmd
		}
	}
	return m, nil
}

func (m Model) read() tea.Cmd {
	if m.recs == nil {
		return nil
	}
	return waitRecords(m.recs)
}

func (m *Model) add(rs []Record) {
	for _, r := range rs {
		if m.fixed != "" && r.CorrelationID != m.fixed {
			continue
		}
		f := m.flows.Add(r)
		if r.Function != "" && !slices.Contains(m.fnSeen, r.Function) {
			m.fnSeen = append(m.fnSeen, r.Function)
		}
		if m.selKey == "" {
			m.selKey = flowKey(f)
		}
		if m.fixed == "" && !r.ByRequestKey() && r.RequestID != "" && m.selKey == "\x00"+r.RequestID {
			m.selKey = flowKey(f) // the selected request flow was absorbed
		}
	}
	if m.fixed == "" && (m.follow && !m.open || m.flows.Get(m.selKey) == nil) {
		if l := m.visible(); len(l) > 0 {
			m.selKey = flowKey(l[len(l)-1])
		}
	}
}

func flowKey(f *Flow) string {
	if f.ByRequest {
		return "\x00" + f.ID
	}
	return f.ID
}

func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if msg.Keystroke() == "ctrl+c" {
		return m, tea.Quit
	}
	if m.search {
		switch msg.Keystroke() {
		case "enter":
			m.search = false
			m.query = m.input.Value()
			m.input.Blur()
			m.afterFilter()
			return m, nil
		case "esc":
			m.search = false
			m.input.Blur()
			m.input.SetValue(m.query)
			return m, nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Search):
		m.search = true
		m.input.SetValue(m.query)
		m.input.CursorEnd()
		return m, m.input.Focus()
	case key.Matches(msg, k.Open):
		if m.flows.Get(m.selKey) != nil {
			m.open = true
			m.scroll = 0
		}
	case key.Matches(msg, k.Back):
		switch {
		case m.open && m.fixed == "":
			m.open = false
		case m.query != "" || m.fnIdx != 0 || m.level != LevelNone:
			m.query, m.fnIdx, m.level = "", 0, LevelNone
			m.input.SetValue("")
		}
	case key.Matches(msg, k.Up):
		if m.open {
			m.scrollBy(-1)
		} else {
			m.move(-1)
		}
	case key.Matches(msg, k.Down):
		if m.open {
			m.scrollBy(1)
		} else {
			m.move(1)
		}
	case key.Matches(msg, k.PageUp):
		m.scrollBy(-m.timelineHeight())
	case key.Matches(msg, k.PageDown):
		m.scrollBy(m.timelineHeight())
	case key.Matches(msg, k.Top):
		m.follow = false
		if m.open {
			m.scroll = 0
		} else if l := m.visible(); len(l) > 0 {
			m.selKey = flowKey(l[0])
		}
	case key.Matches(msg, k.Bottom):
		m.follow = true
		if l := m.visible(); len(l) > 0 && !m.open {
			m.selKey = flowKey(l[len(l)-1])
		}
	case key.Matches(msg, k.Follow):
		m.follow = !m.follow
		if m.follow && !m.open {
			if l := m.visible(); len(l) > 0 {
				m.selKey = flowKey(l[len(l)-1])
			}
		}
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		if !m.paused {
			m.add(m.pending)
			m.pending = nil
			if m.stalled {
				m.stalled = false
				return m, m.read()
			}
		}
	case key.Matches(msg, k.Function):
		m.fnIdx = (m.fnIdx + 1) % (len(m.fnSeen) + 1)
		m.afterFilter()
	case key.Matches(msg, k.Level):
		switch m.level {
		case LevelNone:
			m.level = LevelWarn
		case LevelWarn:
			m.level = LevelError
		default:
			m.level = LevelNone
		}
		m.afterFilter()
	case key.Matches(msg, k.NextError):
		m.nextError()
	}
	return m, nil
}

// afterFilter keeps a visible selection after a filter changed.
func (m *Model) afterFilter() {
	l := m.visible()
	for _, f := range l {
		if flowKey(f) == m.selKey {
			return
		}
	}
	if len(l) > 0 && m.fixed == "" {
		m.selKey = flowKey(l[len(l)-1])
	}
	m.scroll = 0
}

func (m *Model) move(d int) {
	l := m.visible()
	if len(l) == 0 {
		return
	}
	i := m.selIndex(l)
	i = max(0, min(len(l)-1, i+d))
	m.selKey = flowKey(l[i])
	m.follow = i == len(l)-1 && d > 0 && m.follow
	if d < 0 {
		m.follow = false
	}
}

func (m *Model) scrollBy(d int) {
	lines := m.timeline()
	h := m.timelineHeight()
	if m.follow {
		m.scroll = max(0, len(lines)-h)
	}
	m.scroll = max(0, min(len(lines)-h, m.scroll+d))
	m.follow = m.scroll >= len(lines)-h && d > 0
}

func (m *Model) nextError() {
	if m.open {
		lines := m.timeline()
		start := m.scroll
		if m.follow {
			start = max(0, len(lines)-m.timelineHeight())
		}
		for i := start + 1; i < len(lines); i++ {
			if lines[i].IsError() {
				m.follow = false
				m.scroll = i
				return
			}
		}
		for i := 0; i <= start && i < len(lines); i++ {
			if lines[i].IsError() {
				m.follow = false
				m.scroll = i
				return
			}
		}
		return
	}
	l := m.visible()
	if len(l) == 0 {
		return
	}
	i := m.selIndex(l)
	for n := 1; n <= len(l); n++ {
		f := l[(i+n)%len(l)]
		if f.Errors > 0 {
			m.selKey = flowKey(f)
			m.follow = false
			return
		}
	}
}

func (m Model) selIndex(l []*Flow) int {
	for i, f := range l {
		if flowKey(f) == m.selKey {
			return i
		}
	}
	return len(l) - 1
}

func (m Model) fnFilter() string {
	if m.fnIdx == 0 || m.fnIdx > len(m.fnSeen) {
		return ""
	}
	return m.fnSeen[m.fnIdx-1]
}

// keep reports whether a line passes the function, level and search filters.
func (m Model) keep(r *Record) bool {
	if fn := m.fnFilter(); fn != "" && r.Function != fn {
		return false
	}
	if m.level != LevelNone && r.Level.Rank() < m.level.Rank() && !r.IsError() {
		return false
	}
	if m.query != "" {
		q := strings.ToLower(m.query)
		if !strings.Contains(strings.ToLower(r.Message), q) && !strings.Contains(strings.ToLower(r.Function), q) &&
			!strings.Contains(strings.ToLower(r.CorrelationID), q) && !strings.Contains(strings.ToLower(r.RequestID), q) {
			return false
		}
	}
	return true
}

func (m Model) filtering() bool { return m.fnFilter() != "" || m.level != LevelNone || m.query != "" }

// visible returns the flows that have a line passing the filters.
func (m Model) visible() []*Flow {
	all := m.flows.List()
	if !m.filtering() {
		return all
	}
	var out []*Flow
	for _, f := range all {
		for i := range f.Records {
			if m.keep(&f.Records[i]) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// timeline returns the selected flow's lines that pass the filters.
func (m Model) timeline() []Record {
	f := m.flows.Get(m.selKey)
	if f == nil {
		return nil
	}
	if !m.filtering() {
		return f.Records
	}
	var out []Record
	for i := range f.Records {
		if m.keep(&f.Records[i]) {
			out = append(out, f.Records[i])
		}
	}
	return out
}

// Selected returns the selected flow, or nil.
func (m Model) Selected() *Flow { return m.flows.Get(m.selKey) }

// Flows returns the model's flows.
func (m Model) Flows() *Flows { return m.flows }

// Open, Following, Paused, Query and Filters expose the model's state (tests,
// callers).
func (m Model) Open() bool      { return m.open }
func (m Model) Following() bool { return m.follow }
func (m Model) Paused() bool    { return m.paused }
func (m Model) Query() string   { return m.query }
func (m Model) Filters() (function string, level Level) {
	return m.fnFilter(), m.level
}

// Pending returns the number of records held while paused.
func (m Model) Pending() int { return len(m.pending) }

// Scroll returns the first timeline line shown.
func (m Model) Scroll() int { return m.scroll }

// --- view ---

// layout returns the rows of the flow list (0 when a flow is open) and of
// the timeline, so that the screen is exactly m.height lines.
func (m Model) layout() (listRows, timelineRows int) {
	avail := m.height - 2 - 1 // header, filter line; flow title
	avail -= lipgloss.Height(m.help.View(m.keys))
	if m.search || m.notice != "" {
		avail--
	}
	if !m.open {
		avail-- // list header
		listRows = min(max(len(m.visible()), 1), max(1, avail*2/5))
		avail -= listRows
	}
	return listRows, max(1, avail)
}

func (m Model) timelineHeight() int {
	_, h := m.layout()
	return h
}

func (m Model) fnStyle(fn string) lipgloss.Style {
	if s, ok := m.fnStyles[fn]; ok {
		return s
	}
	s := lipgloss.NewStyle().Foreground(ansi.BasicColor(ANSIColor(fn)))
	m.fnStyles[fn] = s
	return s
}

func (m Model) fit(s string) string {
	if ansi.StringWidth(s) > m.width {
		return ansi.Truncate(s, m.width, "…")
	}
	return s
}

func pad(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// View returns the screen in the alternate screen buffer. Its content
// carries full ANSI styling; bubbletea downsamples it to the terminal's
// colour profile (none under NO_COLOR).
func (m Model) View() tea.View {
	v := tea.NewView(m.Screen())
	v.AltScreen = true
	return v
}

// Screen renders the screen as a string with ANSI styling.
func (m Model) Screen() string {
	var b strings.Builder
	line := func(s string) {
		b.WriteString(m.fit(s))
		b.WriteByte('\n')
	}
	// Header.
	state := "● following"
	switch {
	case m.paused:
		state = fmt.Sprintf("‖ paused (%d new)", len(m.pending))
	case !m.follow:
		state = "○ not following"
	}
	if m.ended {
		state = "■ ended"
	}
	errs := 0
	for _, f := range m.flows.List() {
		errs += f.Errors
	}
	hdr := fmt.Sprintf("%s  %s · %s · %s", m.styles.title.Render(m.title), plural(m.flows.Len(), "flow"), plural(m.flows.Total, "line"), plural(errs, "error"))
	gap := m.width - ansi.StringWidth(hdr) - ansi.StringWidth(state)
	if gap < 1 {
		gap = 1
	}
	line(hdr + strings.Repeat(" ", gap) + state)
	// Filters.
	fn := m.fnFilter()
	if fn == "" {
		fn = "all"
	}
	lv := "all"
	if m.level != LevelNone {
		lv = string(m.level) + "+"
	}
	q := m.query
	if q == "" {
		q = "-"
	}
	filt := fmt.Sprintf("function: %s  level: %s  search: %s", fn, lv, q)
	if m.fixed != "" {
		filt = "correlation: " + m.fixed + "  " + filt
	}
	line(m.styles.dim.Render(filt))

	l := m.visible()
	if !m.open {
		m.renderList(&b, l)
	}
	m.renderTimeline(&b)

	if m.search {
		line(m.input.View())
	} else if m.notice != "" {
		line(m.styles.warn.Render("! " + m.notice))
	}
	b.WriteString(m.fit(m.help.View(m.keys)))
	return b.String()
}

func (m Model) renderList(b *strings.Builder, l []*Flow) {
	h, _ := m.layout()
	const timeW, linesW, errW, durW = 12, 6, 4, 10
	idW := 12 // the heading
	for _, f := range l {
		idW = max(idW, ansi.StringWidth(f.ID)+1)
	}
	idW = min(idW, 38, max(12, m.width/4))
	fnW := max(10, m.width-idW-timeW-linesW-errW-durW-7)
	head := "  " + pad("CORRELATION", idW) + " " + pad("FIRST SEEN", timeW) + " " + pad("FUNCTIONS", fnW) + " " +
		fmt.Sprintf("%*s %*s %*s", linesW, "LINES", errW, "ERR", durW, "DURATION")
	b.WriteString(m.fit(m.styles.header.Render(head)))
	b.WriteByte('\n')
	sel := m.selIndex(l)
	start := 0
	if len(l) > h {
		start = max(0, min(sel-h/2, len(l)-h))
	}
	for i := start; i < start+h; i++ {
		if i >= len(l) {
			b.WriteByte('\n')
			continue
		}
		f := l[i]
		id := f.ID
		if f.ByRequest {
			id = "~" + id
		}
		var fns []string
		for _, fn := range f.Functions {
			fns = append(fns, fn)
		}
		fnText := pad(strings.Join(fns, " → "), fnW)
		if i != sel {
			// Colour each function name within the padded cell.
			var parts []string
			for _, fn := range f.Functions {
				parts = append(parts, m.fnStyle(fn).Render(fn))
			}
			if ansi.StringWidth(strings.Join(fns, " → ")) <= fnW {
				fnText = strings.Join(parts, " → ") + strings.Repeat(" ", fnW-ansi.StringWidth(strings.Join(fns, " → ")))
			}
		}
		errs := fmt.Sprintf("%*d", errW, f.Errors)
		row := pad(id, idW) + " " + pad(f.FirstSeen.In(m.loc).Format("15:04:05.000"), timeW) + " " + fnText + " " +
			fmt.Sprintf("%*d ", linesW, f.Lines)
		dur := fmt.Sprintf(" %*s", durW, formatMs(f.DurationMs))
		if i == sel {
			b.WriteString(m.fit(m.styles.sel.Render(pad("▸ "+ansi.Strip(row+errs+dur), m.width))))
		} else {
			if f.Errors > 0 {
				errs = m.styles.err.Render(errs)
			}
			b.WriteString(m.fit("  " + row + errs + dur))
		}
		b.WriteByte('\n')
	}
}

var oneLine = strings.NewReplacer("\r\n", "⏎", "\n", "⏎", "\r", "⏎", "\t", "  ")

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func formatMs(ms float64) string {
	switch {
	case ms == 0:
		return "-"
	case ms < 1000:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fs", ms/1000)
	}
}

func (m Model) renderTimeline(b *strings.Builder) {
	f := m.flows.Get(m.selKey)
	lines := m.timeline()
	h := m.timelineHeight()
	title := "no flow selected"
	if f != nil {
		id := f.ID
		if f.ByRequest {
			id = "request " + id
		}
		title = fmt.Sprintf("%s · %s · %s · %s · %s", id, plural(len(f.Functions), "function"), plural(f.Lines, "line"), plural(f.Errors, "error"), formatMs(f.DurationMs))
		if f.Dropped > 0 {
			title += fmt.Sprintf(" · %d older lines not kept", f.Dropped)
		}
		if len(lines) != len(f.Records) {
			title += fmt.Sprintf(" · %d shown", len(lines))
		}
	}
	title = "── " + title + " "
	if w := ansi.StringWidth(title); w < m.width {
		title += strings.Repeat("─", m.width-w)
	}
	b.WriteString(m.fit(m.styles.dim.Render(title)))
	b.WriteByte('\n')
	start := m.scroll
	if m.follow || start > len(lines)-h {
		start = max(0, len(lines)-h)
	}
	fnW := 0
	if f != nil {
		for _, fn := range f.Functions {
			fnW = max(fnW, ansi.StringWidth(fn))
		}
	}
	fnW = min(fnW, 24)
	for i := start; i < start+h; i++ {
		if i >= len(lines) {
			b.WriteByte('\n')
			continue
		}
		r := &lines[i]
		lv := string(r.Level)
		if r.Kind != KindLog {
			lv = strings.ToUpper(r.Kind.String())
		}
		lvText := pad(lv, 6)
		switch {
		case r.IsError():
			lvText = m.styles.err.Render(lvText)
		case r.Level == LevelWarn:
			lvText = m.styles.warn.Render(lvText)
		case r.Kind != KindLog:
			lvText = m.styles.dim.Render(lvText)
		}
		msg := oneLine.Replace(r.Message)
		row := r.Time.In(m.loc).Format("15:04:05.000") + " " + m.fnStyle(r.Function).Render(pad(r.Function, fnW)) + " " + lvText + " " + msg
		b.WriteString(m.fit(row))
		b.WriteByte('\n')
	}
}
