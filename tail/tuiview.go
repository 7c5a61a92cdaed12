package tail

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// layout returns the rows of the flow list (0 when a flow is open) and of
// the timeline (or the line detail), so that the screen is exactly m.height
// lines.
func (m Model) layout() (listRows, timelineRows int) {
	avail := m.height - 2 - 1 // header, filter line; flow title
	avail -= lipgloss.Height(m.help.View(m.helpKeys()))
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

func (m Model) detailHeight() int { return m.timelineHeight() }

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

// contextKeys is the help bar of a view: the keys that act there first.
type contextKeys []key.Binding

func (c contextKeys) ShortHelp() []key.Binding  { return c }
func (c contextKeys) FullHelp() [][]key.Binding { return [][]key.Binding{c} }

// helpKeys is the help bar's key map for what is shown.
func (m Model) helpKeys() help.KeyMap {
	k := m.keys
	switch {
	case m.detail:
		return contextKeys{k.Help, k.Quit, k.Back, k.Wrap, k.Left, k.Right, k.Up, k.Down, k.Copy}
	case m.open:
		return contextKeys{k.Help, k.Quit, withHelp(k.Open, "line detail"), k.Back, k.NextError, k.Copy, k.Search, k.Function, k.Level, k.Pause, k.Follow}
	}
	return m.keys
}

func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
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
	if m.keyTable {
		return m.keyTableScreen()
	}
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
		c := m.fixed
		if m.prefix {
			c += "…"
		}
		filt = "correlation: " + c + "  " + filt
	}
	line(m.styles.dim.Render(filt))

	switch {
	case m.detail:
		m.renderDetail(&b)
	default:
		if !m.open {
			m.renderList(&b, m.visible())
		}
		m.renderTimeline(&b)
	}

	if m.search {
		line(m.input.View())
	} else if m.notice != "" {
		line(m.styles.warn.Render("! " + m.notice))
	}
	b.WriteString(m.fit(m.help.View(m.helpKeys())))
	return b.String()
}

// --- flow list ---

// distinguish returns how many leading (p) and trailing (s) runes tell
// every id of ids apart from the others (git's short SHAs, from both ends:
// saga ids often share a long prefix).
func distinguish(ids []string) (p, s int) {
	lcp := func(a, b []rune) int {
		n := 0
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		return n
	}
	fwd := make([][]rune, 0, len(ids))
	rev := make([][]rune, 0, len(ids))
	for _, id := range ids {
		r := []rune(id)
		fwd = append(fwd, r)
		r = slices.Clone(r)
		slices.Reverse(r)
		rev = append(rev, r)
	}
	cmpRunes := func(a, b []rune) int { return slices.Compare(a, b) }
	slices.SortFunc(fwd, cmpRunes)
	slices.SortFunc(rev, cmpRunes)
	for i := 1; i < len(fwd); i++ {
		p = max(p, lcp(fwd[i-1], fwd[i])+1)
		s = max(s, lcp(rev[i-1], rev[i])+1)
	}
	return max(p, 1), max(s, 1)
}

// shortID fits id in w columns, keeping its distinguishing part: the whole
// id when it fits, else head…tail where the head holds the first p or the
// tail the last s runes (see distinguish); w > min(p, s) keeps ids apart.
func shortID(id string, w, p, s int) string {
	r := []rune(id)
	if len(r) <= w || w < 3 {
		return id
	}
	avail := w - 1
	t := avail / 2
	h := avail - t
	if h < p && t < s {
		if s <= avail {
			t = s
		} else {
			t = max(0, avail-p)
		}
		h = avail - t
	}
	return string(r[:h]) + "…" + string(r[len(r)-t:])
}

// Column widths of the flow list.
const (
	timeColW  = 12
	linesColW = 5
	errColW   = 3
	durColW   = 8
	minFnColW = 14
)

func (m Model) renderList(b *strings.Builder, l []*Flow) {
	h, _ := m.layout()
	showTime := m.width >= 100
	fixed := 2 + 1 + 1 + linesColW + 1 + errColW + 1 + durColW + 1 + durColW
	if showTime {
		fixed += timeColW + 1
	}
	ids := make([]string, len(l))
	need, fnNeed := len("CORRELATION"), 0
	for i, f := range l {
		ids[i] = f.ID
		w := utf8.RuneCountInString(f.ID)
		if f.ByRequest {
			w++
		}
		need = max(need, w)
		fnNeed = max(fnNeed, ansi.StringWidth(strings.Join(f.Functions, " → ")))
	}
	p, s := distinguish(ids)
	avail := m.width - fixed
	// The id gets what the functions leave, but never less than what
	// tells it apart (with a readable head): ids are never cut to equal.
	idMin := min(need, max(16, 6+min(p, s)))
	idW := max(idMin, min(need, avail-max(fnNeed, minFnColW)))
	fnW := max(8, avail-idW)
	head := "  " + pad("CORRELATION", idW) + " "
	if showTime {
		head += pad("FIRST SEEN", timeColW) + " "
	}
	head += pad("FUNCTIONS", fnW) + " " +
		fmt.Sprintf("%*s %*s %*s %*s", linesColW, "LINES", errColW, "ERR", durColW, "TOOK", durColW, "BILLED")
	b.WriteString(m.fit(m.styles.header.Render(pad(head, m.width))))
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
		id := shortID(f.ID, idW, p, s)
		if f.ByRequest {
			id = "~" + shortID(f.ID, idW-1, p, s)
		}
		fnsPlain := strings.Join(f.Functions, " → ")
		fnText := pad(fnsPlain, fnW)
		if i != sel && ansi.StringWidth(fnsPlain) <= fnW {
			// Colour each function name within the padded cell.
			var parts []string
			for _, fn := range f.Functions {
				parts = append(parts, m.fnStyle(fn).Render(fn))
			}
			fnText = strings.Join(parts, " → ") + strings.Repeat(" ", fnW-ansi.StringWidth(fnsPlain))
		}
		errs := fmt.Sprintf("%*d", errColW, f.Errors)
		row := pad(id, idW) + " "
		if showTime {
			row += pad(f.FirstSeen.In(m.loc).Format("15:04:05.000"), timeColW) + " "
		}
		row += fnText + " " + fmt.Sprintf("%*d ", linesColW, f.Lines)
		durs := fmt.Sprintf(" %*s %*s", durColW, formatMs(f.WallMs()), durColW, formatMs(f.BilledMs))
		if i == sel {
			b.WriteString(m.fit(m.styles.sel.Render(pad("▸ "+ansi.Strip(row+errs+durs), m.width))))
		} else {
			if f.Errors > 0 {
				errs = m.styles.err.Render(errs)
			}
			b.WriteString(m.fit("  " + row + errs + durs))
		}
		b.WriteByte('\n')
	}
}

// emptyText says why nothing is shown and what to try.
func (m Model) emptyText() string {
	switch {
	case m.flows.Len() > 0 && m.filtering():
		return "no line matches these filters: esc clears them"
	case m.flows.Len() > 0:
		return "no line"
	}
	hint := m.hint
	if hint == "" {
		hint = "no lines yet"
	}
	if m.ended {
		return hint
	}
	return hint + " · waiting for new lines…"
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

// --- timeline ---

func (m Model) flowTitle(f *Flow, shown int) string {
	id := f.ID
	if f.ByRequest {
		id = "request " + id
	}
	title := fmt.Sprintf("%s · took %s · billed %s · %s · %s · %s", id, formatMs(f.WallMs()), formatMs(f.BilledMs),
		plural(f.Errors, "error"), plural(f.Lines, "line"), plural(len(f.Functions), "function"))
	if f.Dropped > 0 {
		title += fmt.Sprintf(" · %d older lines not kept", f.Dropped)
	}
	if shown != len(f.Records) {
		title += fmt.Sprintf(" · %d shown", shown)
	}
	return title
}

func (m Model) rule(title string) string {
	title = "── " + title + " "
	if w := ansi.StringWidth(title); w < m.width {
		title += strings.Repeat("─", m.width-w)
	}
	return m.fit(m.styles.dim.Render(title))
}

func (m Model) renderTimeline(b *strings.Builder) {
	f := m.flows.Get(m.selKey)
	lines := m.timeline()
	h := m.timelineHeight()
	title := "no flow selected"
	if f != nil {
		title = m.flowTitle(f, len(lines))
	}
	b.WriteString(m.rule(title))
	b.WriteByte('\n')
	start := m.scroll
	if m.follow || start > len(lines)-h {
		start = max(0, len(lines)-h)
	}
	cur := -1
	if m.open {
		cur = m.cursorIndex(lines)
		if cur >= 0 && (cur < start || cur >= start+h) {
			start = max(0, min(cur, len(lines)-h))
		}
	}
	fnW := 0
	if f != nil {
		for _, fn := range f.Functions {
			fnW = max(fnW, ansi.StringWidth(fn))
		}
	}
	fnW = min(fnW, 24)
	var empty []string
	if len(lines) == 0 {
		empty = strings.Split(ansi.Wrap(m.emptyText(), m.width, " "), "\n")
	}
	for i := start; i < start+h; i++ {
		if i >= len(lines) {
			if i < len(empty) {
				b.WriteString(m.fit(m.styles.dim.Render(empty[i])))
			}
			b.WriteByte('\n')
			continue
		}
		r := &lines[i]
		lv := string(r.Level)
		if r.Kind != KindLog {
			lv = strings.ToUpper(r.Kind.String())
		}
		lvText := pad(lv, 6)
		if i != cur {
			switch {
			case r.IsError():
				lvText = m.styles.err.Render(lvText)
			case r.Level == LevelWarn:
				lvText = m.styles.warn.Render(lvText)
			case r.Kind != KindLog:
				lvText = m.styles.dim.Render(lvText)
			}
		}
		fnText := pad(r.Function, fnW)
		if i != cur {
			fnText = m.fnStyle(r.Function).Render(fnText)
		}
		row := r.Time.In(m.loc).Format("15:04:05.000") + " " + fnText + " " + lvText + " " + lineText(r)
		switch {
		case i == cur:
			row = m.styles.sel.Render(pad("▸ "+row, m.width))
		case m.open:
			row = "  " + row
		}
		b.WriteString(m.fit(row))
		b.WriteByte('\n')
	}
}

// lineText is a record on one line: the message, then the JSON fields the
// message does not say (sku=…, reason=…); a REPORT line's figures, all of
// them, without the request id that the detail shows.
func lineText(r *Record) string {
	if r.Kind == KindReport && r.Report != nil {
		return reportText(r.Report)
	}
	msg := oneLine.Replace(r.Message)
	if r.Fields == nil || strings.HasPrefix(r.Message, "{") || strings.Contains(r.Message, "\t{") {
		return msg // the message is the JSON itself
	}
	var extra []string
	for _, kv := range flatten(r.Fields) {
		if shownKey(kv.k) || kv.v == r.Message {
			continue
		}
		v := kv.v
		if strings.ContainsAny(v, " \t\n\"=") || v == "" {
			v = strconv.Quote(v)
		}
		extra = append(extra, kv.k+"="+v)
	}
	if len(extra) == 0 {
		return msg
	}
	return msg + "  " + strings.Join(extra, " ")
}

func reportText(rep *Report) string {
	s := fmt.Sprintf("%s ms · billed %s ms · mem %s/%s MB", fnum(rep.DurationMs), fnum(rep.BilledDurationMs), fnum(rep.MaxMemoryUsedMB), fnum(rep.MemorySizeMB))
	if rep.InitDurationMs > 0 {
		s += " · init " + fnum(rep.InitDurationMs) + " ms"
	}
	if rep.Status != "" && rep.Status != "success" {
		s += " · " + rep.Status
	}
	return s
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// shownKey reports the JSON keys whose value the line already shows
// (message, level, time, ids) or that carry no information for a reader.
func shownKey(k string) bool {
	last := k[strings.LastIndexByte(k, '.')+1:]
	if isCorrelationKey(last) {
		return true
	}
	switch k {
	case "message", "msg", "level", "levelname", "severity", "log.level", "lvl",
		"timestamp", "time", "ts", "requestId", "AWSRequestId", "function_request_id",
		"aws_request_id", "request_id", "function":
		return true
	}
	return false
}

type kv struct {
	k, v string
	raw  any
}

// stringList returns the strings of a JSON array of strings.
func stringList(v any) ([]string, bool) {
	a, ok := v.([]any)
	if !ok || len(a) == 0 {
		return nil, false
	}
	out := make([]string, len(a))
	for i, x := range a {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// flatten lists a JSON object's scalar values by dotted path (detail.sku),
// sorted; arrays are written as JSON.
func flatten(m map[string]any) []kv {
	var out []kv
	var walk func(prefix string, m map[string]any, depth int)
	walk = func(prefix string, m map[string]any, depth int) {
		for k, v := range m {
			key := prefix + k
			if sub, ok := v.(map[string]any); ok && depth < 4 {
				walk(key+".", sub, depth+1)
				continue
			}
			out = append(out, kv{key, valueText(v), v})
		}
	}
	walk("", m, 0)
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	return out
}

func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// --- line detail ---

// detailRows is every field of a record, one label and value per row (a
// value of several lines continues on rows with an empty label).
func (m Model) detailRows(r *Record) [][2]string {
	var rows [][2]string
	add := func(label, value string) {
		value = strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\r", "\n")
		for i, l := range strings.Split(value, "\n") {
			if i > 0 {
				label = ""
			}
			rows = append(rows, [2]string{label, strings.ReplaceAll(l, "\t", "    ")})
		}
	}
	add("time", r.Time.In(m.loc).Format("2006-01-02T15:04:05.000000Z07:00"))
	add("function", r.Function)
	if r.Provider != "" {
		add("provider", r.Provider)
	}
	add("request", r.RequestID)
	add("correlation", r.CorrelationID)
	lv := string(r.Level)
	if lv == "" {
		lv = "-"
	}
	add("level", lv)
	add("kind", r.Kind.String())
	if r.Stream != "" {
		add("stream", r.Stream)
	}
	add("message", r.Message)
	if rep := r.Report; rep != nil {
		add("duration", fnum(rep.DurationMs)+" ms")
		add("billed", fnum(rep.BilledDurationMs)+" ms")
		add("memory", fnum(rep.MaxMemoryUsedMB)+" MB used of "+fnum(rep.MemorySizeMB)+" MB")
		if rep.InitDurationMs > 0 {
			add("init", fnum(rep.InitDurationMs)+" ms")
		}
		if rep.Status != "" {
			add("status", rep.Status)
		}
	}
	if r.Fields != nil {
		for _, f := range flatten(r.Fields) {
			v := f.v
			if lines, ok := stringList(f.raw); ok {
				v = strings.Join(lines, "\n") // a stack trace, one frame a row
			}
			add(f.k, v)
		}
	}
	return rows
}

// detailLines are the detail's screen lines at the model's width: wrapped,
// or whole (cut at render, after the horizontal scroll).
func (m Model) detailLines() []string {
	r := m.current()
	if r == nil {
		return nil
	}
	rows := m.detailRows(r)
	lw := len("correlation")
	for _, row := range rows {
		if r.Fields != nil {
			lw = max(lw, min(ansi.StringWidth(row[0]), 24))
		}
	}
	lw += 2
	var out []string
	for _, row := range rows {
		label := pad(row[0], lw)
		if !m.wrap || m.width-lw < 10 {
			out = append(out, label+row[1])
			continue
		}
		for j, l := range strings.Split(ansi.Wrap(row[1], m.width-lw, " "), "\n") {
			if j > 0 {
				label = strings.Repeat(" ", lw)
			}
			out = append(out, label+l)
		}
	}
	return out
}

func (m Model) renderDetail(b *strings.Builder) {
	lines := m.timeline()
	cur := m.cursorIndex(lines)
	f := m.flows.Get(m.selKey)
	h := m.detailHeight()
	title := "no line"
	if f != nil && cur >= 0 {
		wrap := "wrap on (w)"
		if !m.wrap {
			wrap = fmt.Sprintf("wrap off (w) · column %d (←/→)", m.hscroll+1)
		}
		title = fmt.Sprintf("line %d of %d · %s · %s", cur+1, len(lines), f.ID, wrap)
	}
	b.WriteString(m.rule(title))
	b.WriteByte('\n')
	dl := m.detailLines()
	start := max(0, min(m.dscroll, len(dl)-h))
	for i := start; i < start+h; i++ {
		if i < len(dl) {
			l := dl[i]
			if !m.wrap && m.hscroll > 0 {
				l = ansi.Cut(l, m.hscroll, m.hscroll+m.width)
			}
			b.WriteString(m.fit(l))
		}
		b.WriteByte('\n')
	}
}

// --- key table ---

func (m Model) keyTableScreen() string {
	rows := KeyTable()
	keyW := 0
	for _, r := range rows {
		keyW = max(keyW, ansi.StringWidth(r.Keys))
	}
	keyW++
	actW := 0
	for _, r := range rows {
		actW = max(actW, ansi.StringWidth(r.Action))
	}
	colW := 1 + keyW + actW
	ncols := max(1, m.width/colW)
	avail := max(1, m.height-2) // title, bottom line
	// Group rows, then fill columns a group at a time.
	var groups [][]string
	for _, r := range rows {
		if r.Keys == "" {
			groups = append(groups, []string{m.styles.header.Render(r.Action)})
			continue
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], " "+pad(r.Keys, keyW)+r.Action)
	}
	var cols [][]string
	var col []string
	for _, g := range groups {
		if len(col) > 0 && len(col)+1+len(g) > avail && len(cols) < ncols-1 {
			cols = append(cols, col)
			col = nil
		}
		if len(col) > 0 {
			col = append(col, "")
		}
		col = append(col, g...)
	}
	cols = append(cols, col)
	height := 0
	for _, c := range cols {
		height = max(height, len(c))
	}
	var b strings.Builder
	b.WriteString(m.fit(m.styles.title.Render(m.title) + " · keys"))
	b.WriteByte('\n')
	start := max(0, min(m.kscroll, height-avail))
	n := 0
	for i := start; i < height && n < avail; i, n = i+1, n+1 {
		if n == avail-1 && i < height-1 {
			b.WriteString(m.fit(m.styles.dim.Render(fmt.Sprintf("  ↓ %d more (↑/↓ scroll)", height-i))))
			b.WriteByte('\n')
			n++
			break
		}
		var line strings.Builder
		for _, c := range cols {
			cell := ""
			if i < len(c) {
				cell = c[i]
			}
			line.WriteString(pad(cell, colW))
		}
		b.WriteString(m.fit(strings.TrimRight(line.String(), " ")))
		b.WriteByte('\n')
	}
	for ; n < avail; n++ {
		b.WriteByte('\n')
	}
	b.WriteString(m.fit(m.styles.dim.Render("esc or ? closes this table · q quits")))
	return b.String()
}

// wallMs is a flow's wall-clock time, from its first line to its last.
func wallMs(first, last time.Time) float64 {
	if last.Before(first) {
		return 0
	}
	return float64(last.Sub(first)) / float64(time.Millisecond)
}
