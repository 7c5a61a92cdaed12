package tail

import (
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
	NextError, Copy, Wrap, Left, Right      key.Binding
	Help, Quit                              key.Binding
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
		Open:      b("enter", "open", "enter"),
		Back:      b("esc", "back", "esc"),
		Follow:    b("F", "follow", "F"),
		Pause:     b("space", "pause", "space", "p"),
		Search:    b("/", "search", "/"),
		Function:  b("f", "function", "f"),
		Level:     b("l", "level", "l"),
		NextError: b("e", "next error", "e"),
		Copy:      b("y", "copy id", "y"),
		Wrap:      b("w", "wrap", "w"),
		Left:      b("←/h", "scroll left", "left", "h"),
		Right:     b("→", "scroll right", "right"),
		Help:      b("?", "all keys", "?"),
		Quit:      b("q", "quit", "q", "ctrl+c"),
	}
}

// ShortHelp is the one-line help bar: ? first and q last, so that a narrow
// terminal, which cuts the bar, still shows them.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Quit, k.Open, k.Back, k.Search, k.Function, k.Level, k.NextError, k.Copy, k.Pause, k.Follow}
}

// FullHelp lists every binding (the key table ? shows is KeyTable).
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Open, k.Back, k.Search, k.NextError, k.Copy},
		{k.Function, k.Level, k.Pause, k.Follow},
		{k.Wrap, k.Left, k.Right, k.Help, k.Quit},
	}
}

// KeyRow is one row of the key table: the keys, what they do, and where.
type KeyRow struct{ Keys, Action string }

// KeyTable is the full-screen table ? shows: every key, in groups.
func KeyTable() []KeyRow {
	return []KeyRow{
		{"", "Flow list"},
		{"↑/k ↓/j", "select a flow"},
		{"enter", "open its lines"},
		{"g / G", "first / last flow, follow"},
		{"pgup pgdn", "scroll the lines below"},
		{"", "Flow lines"},
		{"↑/k ↓/j", "previous / next line"},
		{"pgup pgdn", "a page up / down"},
		{"g / G", "first / last line, follow"},
		{"enter", "line detail: all fields"},
		{"esc", "back to the flow list"},
		{"", "Line detail"},
		{"↑ ↓ pgup pgdn", "scroll"},
		{"w", "wrap long lines on / off"},
		{"← → (h)", "scroll sideways (no wrap)"},
		{"esc / enter", "back to the lines"},
		{"", "Everywhere"},
		{"/", "search (enter applies)"},
		{"f", "next function filter"},
		{"l", "level: all, WARN+, ERROR+"},
		{"e", "next error"},
		{"y", "copy the full id (OSC 52)"},
		{"space / p", "pause / resume"},
		{"F", "follow on / off"},
		{"esc", "clear the filters"},
		{"?", "this table (esc closes)"},
		{"q / ctrl+c", "quit"},
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
	// CorrelationPrefix: Correlation is a prefix no ID had yet; the first
	// flow whose ID starts with it is the one shown.
	CorrelationPrefix bool
	// EmptyHint says what to try while there is no line (from
	// EmptyHint: "no lines … in the last 10m: try --since 24h").
	EmptyHint string
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
	prefix   bool // fixed is a prefix (ModelOptions.CorrelationPrefix)
	hint     string
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
	cursor   int // the selected line of an open flow (when not following)
	detail   bool
	dscroll  int // first detail line shown
	hscroll  int // first detail column shown, when not wrapping
	wrap     bool
	keyTable bool
	kscroll  int // first row of the key table shown, when it is taller than the screen
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
		prefix: o.CorrelationPrefix,
		hint:   o.EmptyHint,
		wrap:   true,
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
			if !m.prefix || !strings.HasPrefix(r.CorrelationID, m.fixed) {
				continue
			}
			m.fixed, m.prefix, m.selKey = r.CorrelationID, false, r.CorrelationID
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
	if m.keyTable {
		switch {
		case key.Matches(msg, k.Quit):
			return m, tea.Quit
		case key.Matches(msg, k.Help), key.Matches(msg, k.Back):
			m.keyTable = false
		case key.Matches(msg, k.Up):
			m.kscroll = max(0, m.kscroll-1)
		case key.Matches(msg, k.Down):
			m.kscroll++
		}
		return m, nil
	}
	if m.detail {
		if cmd, ok := m.detailKey(msg); ok {
			return m, cmd
		}
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.keyTable, m.kscroll = true, 0
	case key.Matches(msg, k.Copy):
		return m, m.copyID()
	case key.Matches(msg, k.Search):
		m.search = true
		m.input.SetValue(m.query)
		m.input.CursorEnd()
		return m, m.input.Focus()
	case key.Matches(msg, k.Open):
		switch {
		case m.open:
			if lines := m.timeline(); len(lines) > 0 {
				m.cursor = m.cursorIndex(lines)
				m.follow = false
				m.detail, m.dscroll, m.hscroll = true, 0, 0
			}
		case m.flows.Get(m.selKey) != nil:
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
			m.moveCursor(-1)
		} else {
			m.move(-1)
		}
	case key.Matches(msg, k.Down):
		if m.open {
			m.moveCursor(1)
		} else {
			m.move(1)
		}
	case key.Matches(msg, k.PageUp):
		if m.open {
			m.moveCursor(-m.timelineHeight())
		} else {
			m.scrollBy(-m.timelineHeight())
		}
	case key.Matches(msg, k.PageDown):
		if m.open {
			m.moveCursor(m.timelineHeight())
		} else {
			m.scrollBy(m.timelineHeight())
		}
	case key.Matches(msg, k.Top):
		m.follow = false
		if m.open {
			m.scroll, m.cursor = 0, 0
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
		if !m.follow && m.open {
			m.cursor = max(0, len(m.timeline())-1)
			m.scroll = max(0, m.cursor-m.timelineHeight()+1)
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

// detailKey handles the keys of the line detail; ok false passes the key on
// (quit, help, copy, search…).
func (m *Model) detailKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := m.keys
	h := m.detailHeight()
	switch {
	case key.Matches(msg, k.Back), key.Matches(msg, k.Open):
		m.detail = false
	case key.Matches(msg, k.Up):
		m.dscroll--
	case key.Matches(msg, k.Down):
		m.dscroll++
	case key.Matches(msg, k.PageUp):
		m.dscroll -= h
	case key.Matches(msg, k.PageDown):
		m.dscroll += h
	case key.Matches(msg, k.Top):
		m.dscroll = 0
	case key.Matches(msg, k.Bottom):
		m.dscroll = len(m.detailLines())
	case key.Matches(msg, k.Wrap):
		m.wrap = !m.wrap
		m.hscroll = 0
	case key.Matches(msg, k.Left):
		m.hscroll = max(0, m.hscroll-8)
	case key.Matches(msg, k.Right):
		if !m.wrap {
			m.hscroll += 8
		}
	default:
		return nil, false
	}
	m.dscroll = max(0, min(m.dscroll, len(m.detailLines())-h))
	return nil, true
}

// copyID puts the full correlation id of the selected flow (or, in a
// line's detail, of the line; else its request id) on the clipboard with
// an OSC 52 sequence, and shows it in the status line for terminals that
// ignore OSC 52.
func (m *Model) copyID() tea.Cmd {
	id := ""
	if m.detail {
		if r := m.current(); r != nil {
			id = r.CorrelationID
			if id == "" {
				id = r.RequestID
			}
		}
	} else if f := m.flows.Get(m.selKey); f != nil {
		id = f.ID
	}
	if id == "" {
		return nil
	}
	m.notice = "copied " + id
	return tea.SetClipboard(id)
}

// cursorIndex is the selected line of lines in an open flow: the last one
// while following.
func (m Model) cursorIndex(lines []Record) int {
	if m.follow || len(lines) == 0 {
		return len(lines) - 1
	}
	return max(0, min(m.cursor, len(lines)-1))
}

// current is the line the cursor is on, or nil.
func (m Model) current() *Record {
	lines := m.timeline()
	if i := m.cursorIndex(lines); i >= 0 {
		return &lines[i]
	}
	return nil
}

// moveCursor moves the line cursor of an open flow by d, scrolling to keep
// it shown; reaching the last line going down follows again.
func (m *Model) moveCursor(d int) {
	lines := m.timeline()
	if len(lines) == 0 {
		return
	}
	h := m.timelineHeight()
	c := m.cursorIndex(lines)
	if m.follow {
		m.scroll = max(0, len(lines)-h)
	}
	c = max(0, min(len(lines)-1, c+d))
	m.cursor = c
	m.follow = d > 0 && c == len(lines)-1
	if c < m.scroll {
		m.scroll = c
	} else if c >= m.scroll+h {
		m.scroll = c - h + 1
	}
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
		start := m.cursorIndex(lines)
		for i := start + 1; i < len(lines); i++ {
			if lines[i].IsError() {
				m.follow = false
				m.scroll, m.cursor = i, i
				return
			}
		}
		for i := 0; i <= start && i < len(lines); i++ {
			if lines[i].IsError() {
				m.follow = false
				m.scroll, m.cursor = i, i
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
