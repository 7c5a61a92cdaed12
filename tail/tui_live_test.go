package tail

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// Saga correlation ids as the saga template makes them: UUIDs that share
// their first 30 characters, so a column cut at the end shows them equal.
const (
	sagaOK     = "c0ffee00-0000-4000-8000-000000000001"
	sagaFailed = "c0ffee00-0000-4000-8000-000000000002"
)

// saga is two saga flows as a local deploy of the node template logs them:
// order → inventory → payment → shipment; the second's shipment fails with
// a reason, and inventory and payment compensate. Lines carry JSON fields
// (sku, reason) the message does not say, a Python traceback with a staged
// path, and REPORT lines with every figure.
func saga() RecordsMsg {
	p, _ := NewParser(nil)
	p.MapSources(nil)
	var out RecordsMsg
	for i, corr := range []string{sagaOK, sagaFailed} {
		base := i * 5000
		add := func(ms int, fn, req, msg string) {
			l := line(fn, base+ms, fmt.Sprintf("%s-%d", req, i), msg)
			r := p.Parse(l)
			if r.CorrelationID == "" && r.RequestID != "" {
				r.CorrelationID = corr // what the merger's propagation does
			}
			out = append(out, r)
		}
		report := func(ms int, fn, req string, dur float64, billed, used int) {
			add(ms, fn, req, fmt.Sprintf("REPORT RequestId: %s-%d\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: 128 MB\tMax Memory Used: %d MB", req, i, dur, billed, used))
		}
		add(0, "order", "r-ord", fmt.Sprintf(`{"level":"INFO","msg":"order placed","correlationId":"%s","orderId":"o-%d","total":42.5}`, corr, i))
		report(12, "order", "r-ord", 11.5, 12, 61)
		add(400, "inventory", "r-inv", fmt.Sprintf(`{"level":"INFO","msg":"stock reserved","correlationId":"%s","sku":"SKU-%d1"}`, corr, i))
		add(401, "inventory", "r-inv", fmt.Sprintf(`{"level":"INFO","msg":"stock reserved","correlationId":"%s","sku":"SKU-%d2"}`, corr, i))
		report(420, "inventory", "r-inv", 20.25, 21, 63)
		add(900, "payment", "r-pay", fmt.Sprintf(`{"level":"INFO","msg":"payment captured","correlationId":"%s","amount":42.5}`, corr))
		report(930, "payment", "r-pay", 30, 30, 64)
		if corr == sagaFailed {
			add(1500, "shipment", "r-shp", fmt.Sprintf(`{"level":"ERROR","msg":"shipment failed","correlationId":"%s","reason":"no carrier available"}`, corr))
			add(1501, "shipment", "r-shp", "[ERROR] ValueError: no carrier for zone 9\nTraceback (most recent call last):\n  File \"/tmp/demo/.evcli/functions/shipment/0123456789abcdef/app.py\", line 17, in handler\n    raise ValueError(\"no carrier for zone 9\")")
			report(1510, "shipment", "r-shp", 15, 15, 40)
			add(2200, "inventory", "r-inv2", fmt.Sprintf(`{"level":"WARN","msg":"stock released","correlationId":"%s","sku":"SKU-11"}`, corr))
			report(2210, "inventory", "r-inv2", 9.5, 10, 63)
			add(2900, "payment", "r-pay2", fmt.Sprintf(`{"level":"WARN","msg":"payment refunded","correlationId":"%s","amount":42.5}`, corr))
			report(2910, "payment", "r-pay2", 10, 10, 64)
		} else {
			add(1500, "shipment", "r-shp", fmt.Sprintf(`{"level":"INFO","msg":"shipment booked","correlationId":"%s","carrier":"dhl"}`, corr))
			report(1520, "shipment", "r-shp", 18.75, 19, 40)
		}
	}
	return out
}

func sagaModel(t *testing.T, w, h int, msgs ...tea.Msg) Model {
	t.Helper()
	m := NewModel(ModelOptions{Location: time.UTC})
	return update(t, m, append([]tea.Msg{tea.WindowSizeMsg{Width: w, Height: h}, saga()}, msgs...)...)
}

func TestShortIDKeepsTheDistinguishingPart(t *testing.T) {
	ids := []string{sagaOK, sagaFailed}
	p, s := distinguish(ids)
	if p != 36 || s != 1 {
		t.Fatalf("distinguish = %d, %d; want 36, 1", p, s)
	}
	for _, w := range []int{12, 15, 22, 35} {
		a, b := shortID(sagaOK, w, p, s), shortID(sagaFailed, w, p, s)
		if a == b || len([]rune(a)) != w || !strings.HasPrefix(a, "c0ffee") {
			t.Errorf("width %d: %q and %q", w, a, b)
		}
	}
	if got := shortID(sagaOK, 36, p, s); got != sagaOK {
		t.Errorf("a fitting id was cut: %q", got)
	}
	// Ids that differ at the start keep their head.
	p, s = distinguish([]string{"a1-same-tail-0000", "b2-same-tail-0000"})
	if got := shortID("a1-same-tail-0000", 8, p, s); !strings.HasPrefix(got, "a") {
		t.Errorf("head lost: %q", got)
	}
}

func TestFlowListTellsSagaFlowsApartAtEveryWidth(t *testing.T) {
	for _, w := range []int{60, 80, 120, 200} {
		m := sagaModel(t, w, 24)
		s := plain(m)
		ok, failed := strings.Contains(s, "001 "), strings.Contains(s, "002 ")
		if !ok || !failed {
			t.Errorf("width %d: the two saga flows are not told apart:\n%s", w, s)
		}
		if w >= 120 && (!strings.Contains(s, sagaOK) || !strings.Contains(s, sagaFailed)) {
			t.Errorf("width %d: ids cut although they fit:\n%s", w, s)
		}
	}
}

func TestFlowDurations(t *testing.T) {
	m := sagaModel(t, 120, 24)
	f := m.Flows().Get(sagaFailed)
	if f.WallMs() != 2910 {
		t.Errorf("wall %v ms, want 2910 (first line to last)", f.WallMs())
	}
	if f.BilledMs != 12+21+30+15+10+10 {
		t.Errorf("billed %v ms", f.BilledMs)
	}
	if s := plain(m); !strings.Contains(s, "2.91s") || !strings.Contains(s, "98.0ms") || !strings.Contains(s, "TOOK") || !strings.Contains(s, "BILLED") {
		t.Errorf("durations not shown:\n%s", s)
	}
}

func TestKeyTableListsEveryKey(t *testing.T) {
	m := sagaModel(t, 120, 40, keyMsg("?"))
	if !m.keyTable {
		t.Fatal("? did not open the key table")
	}
	s := plain(m)
	for _, k := range []string{"↑/k ↓/j", "enter", "esc", "/", "f", "l", "e", "y", "w", "space / p", "F", "g / G", "pgup pgdn", "← →", "?", "q / ctrl+c"} {
		if !strings.Contains(s, " "+k+" ") {
			t.Errorf("key %q missing:\n%s", k, s)
		}
	}
	// Every binding of the key map is in the table.
	for _, group := range DefaultKeyMap().FullHelp() {
		for _, b := range group {
			first := strings.Split(b.Help().Key, "/")[0]
			if !strings.Contains(s, first) {
				t.Errorf("binding %q not in the table", b.Help().Key)
			}
		}
	}
	// Keys do not act behind the table; esc or ? closes it.
	m = update(t, m, keyMsg("f"))
	if fn, _ := m.Filters(); fn != "" {
		t.Error("f acted behind the key table")
	}
	if m = update(t, m, keyMsg("esc")); m.keyTable {
		t.Error("esc did not close the key table")
	}
	if m = update(t, m, keyMsg("?"), keyMsg("?")); m.keyTable {
		t.Error("? did not close the key table")
	}
	// A short screen scrolls the table instead of cutting it.
	small := sagaModel(t, 60, 12, keyMsg("?"))
	if s := plain(small); !strings.Contains(s, "more (↑/↓ scroll)") || len(strings.Split(s, "\n")) != 12 {
		t.Errorf("short table:\n%s", s)
	}
	small = update(t, small, keyMsg("down"), keyMsg("down"), keyMsg("down"))
	if small.kscroll != 3 || !strings.Contains(plain(small), "Flow lines") {
		t.Errorf("key table did not scroll:\n%s", plain(small))
	}
}

func TestLineCursorAndDetail(t *testing.T) {
	m := sagaModel(t, 100, 30, keyMsg("enter"))
	if !m.Open() || m.Selected().ID != sagaFailed {
		t.Fatal("flow not open")
	}
	lines := m.timeline()
	if m.cursorIndex(lines) != len(lines)-1 {
		t.Fatal("following: the cursor is not on the last line")
	}
	m = update(t, m, keyMsg("up"))
	if m.Following() || m.cursorIndex(lines) != len(lines)-2 {
		t.Fatalf("up: cursor %d following %v", m.cursorIndex(lines), m.Following())
	}
	m = update(t, m, keyMsg("g"), keyMsg("e"))
	if r := m.current(); r == nil || r.Message != "shipment failed" {
		t.Fatalf("e moved the cursor to %+v", r)
	}
	m = update(t, m, keyMsg("enter"))
	if !m.detail {
		t.Fatal("enter on a line did not open its detail")
	}
	s := squash(plain(m))
	for _, want := range []string{"reason no carrier available", "correlation " + sagaFailed, "request r-shp-1", "level ERROR", "kind log", "function shipment"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail lacks %q:\n%s", want, s)
		}
	}
	// The Python traceback: level ERROR, source path mapped back.
	m = update(t, m, keyMsg("esc"), keyMsg("down"), keyMsg("enter"))
	s = squash(plain(m))
	if !strings.Contains(s, `File "functions/shipment/app.py", line 17`) || !strings.Contains(s, "level ERROR") {
		t.Errorf("traceback detail:\n%s", s)
	}
	m = update(t, m, keyMsg("esc"))
	if m.detail || !m.Open() {
		t.Fatal("esc did not go back to the flow's lines")
	}
	m = update(t, m, keyMsg("esc"))
	if m.Open() {
		t.Fatal("esc did not go back to the list")
	}
}

func TestDetailWrapAndHorizontalScroll(t *testing.T) {
	m := sagaModel(t, 60, 24, keyMsg("enter"), keyMsg("enter")) // the last line: a REPORT
	s := plain(m)
	if !strings.Contains(s, "Max Memory Used: 64 MB") || !strings.Contains(squash(s), "memory 64 MB used of 128 MB") {
		t.Fatalf("wrapped REPORT detail cuts a figure:\n%s", s)
	}
	m = update(t, m, keyMsg("w"))
	if m.wrap {
		t.Fatal("w did not turn wrapping off")
	}
	if s := plain(m); strings.Contains(s, "Max Memory Used") {
		t.Fatalf("not wrapping, yet the long line is whole at 60 columns:\n%s", s)
	}
	for i := 0; i < 20 && !strings.Contains(plain(m), "Max Memory Used: 64 MB"); i++ {
		m = update(t, m, keyMsg("right"))
	}
	if m.hscroll == 0 || !strings.Contains(plain(m), "Max Memory Used: 64 MB") {
		t.Fatalf("→ did not scroll sideways (hscroll %d):\n%s", m.hscroll, plain(m))
	}
	m = update(t, m, keyMsg("left"), keyMsg("w"))
	if !m.wrap || m.hscroll != 0 {
		t.Fatalf("w did not wrap again: wrap %v hscroll %d", m.wrap, m.hscroll)
	}
}

func TestTimelineShowsFieldsAndWholeReports(t *testing.T) {
	m := sagaModel(t, 200, 40, keyMsg("enter"))
	s := plain(m)
	for _, want := range []string{
		"stock reserved  sku=SKU-11", "stock reserved  sku=SKU-12", // two lines told apart
		`shipment failed  reason="no carrier available"`,
		"REPORT 15 ms · billed 15 ms · mem 40/128 MB",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("timeline lacks %q:\n%s", want, s)
		}
	}
	// --level error (l l) keeps the Python exception.
	m = update(t, m, keyMsg("l"), keyMsg("l"))
	var msgs []string
	for _, r := range m.timeline() {
		msgs = append(msgs, r.Message)
	}
	if len(msgs) != 2 || !strings.HasPrefix(msgs[1], "[ERROR] ValueError") {
		t.Errorf("ERROR+ lines: %q", msgs)
	}
}

func TestCopyID(t *testing.T) {
	m := sagaModel(t, 80, 24)
	nm, cmd := m.Update(keyMsg("y"))
	m = nm.(Model)
	if cmd == nil || cmd() != tea.SetClipboard(sagaFailed)() {
		t.Fatalf("y did not set the clipboard to %s", sagaFailed)
	}
	if !strings.Contains(plain(m), "! copied "+sagaFailed) {
		t.Errorf("the copied id is not shown:\n%s", plain(m))
	}
	// In a line's detail, the line's id.
	m = update(t, m, keyMsg("up"), keyMsg("enter"), keyMsg("enter"))
	_, cmd = m.Update(keyMsg("y"))
	if cmd == nil || cmd() != tea.SetClipboard(sagaOK)() {
		t.Fatal("y in the detail did not copy the line's id")
	}
}

func TestEmptyStates(t *testing.T) {
	hint := EmptyHint(sagaFailed, "10m", "")
	if hint != "no lines for correlation "+sagaFailed+" in the last 10m: try --since 24h" {
		t.Fatalf("hint %q", hint)
	}
	m := update(t, NewModel(ModelOptions{Correlation: sagaFailed, EmptyHint: hint}), tea.WindowSizeMsg{Width: 120, Height: 20})
	if s := plain(m); !strings.Contains(s, hint+" · waiting for new lines…") {
		t.Errorf("empty flow:\n%s", s)
	}
	m = update(t, m, StreamEndMsg{})
	if s := plain(m); !strings.Contains(s, hint) || strings.Contains(s, "waiting") {
		t.Errorf("ended:\n%s", s)
	}
	m = update(t, NewModel(ModelOptions{EmptyHint: EmptyHint("", "10m", "")}), tea.WindowSizeMsg{Width: 100, Height: 20})
	if s := plain(m); !strings.Contains(s, "no lines in the last 10m: try --since 24h") {
		t.Errorf("empty list:\n%s", s)
	}
	m = sagaModel(t, 100, 24, keyMsg("/"), keyMsg("z"), keyMsg("z"), keyMsg("enter"))
	if s := plain(m); !strings.Contains(s, "no line matches these filters: esc clears them") {
		t.Errorf("filtered to nothing:\n%s", s)
	}
	for _, tt := range []struct{ corr, since, filters, want string }{
		{"", "2024-05-01T10:00:00Z", "", "no lines since 2024-05-01T10:00:00Z: try an earlier --since"},
		{"abc", "", "", "no lines for correlation abc in the store: check the id"},
		{"abc", "", "--level error", "no lines matching --level error for correlation abc in the store: try without --level error"},
		{"", "", "", "no lines in the store: send an event"},
	} {
		if got := EmptyHint(tt.corr, tt.since, tt.filters); !strings.HasPrefix(got, tt.want) {
			t.Errorf("EmptyHint(%q, %q, %q) = %q", tt.corr, tt.since, tt.filters, got)
		}
	}
}

func TestModelCorrelationPrefix(t *testing.T) {
	m := NewModel(ModelOptions{Correlation: "c0ffee00-0000-4000-8000-00000000000", CorrelationPrefix: true, Location: time.UTC})
	m = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 24}, saga())
	if m.Flows().Len() != 1 || m.Selected() == nil || m.Selected().ID != sagaOK || !m.Open() {
		t.Fatalf("prefix: %d flows, selected %v", m.Flows().Len(), m.Selected())
	}
}

// TestTUIWidths are the goldens of the live TUI at 60, 80, 120 and 200
// columns (24 rows, ASCII colour profile): the flow list, a flow's lines,
// a line's detail and the key table.
func TestTUIWidths(t *testing.T) {
	screens := []struct {
		name string
		keys []string
	}{
		{"list", nil},
		{"flow", []string{"enter", "g", "e"}},
		{"detail", []string{"enter", "g", "e", "down", "enter"}},
		{"keys", []string{"?"}},
	}
	for _, w := range []int{60, 80, 120, 200} {
		for _, sc := range screens {
			t.Run(fmt.Sprintf("%d/%s", w, sc.name), func(t *testing.T) {
				tm := teatest.NewTestModel(t, NewModel(ModelOptions{Location: time.UTC}),
					teatest.WithInitialTermSize(w, 24), teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
				tm.Send(saga())
				for _, k := range sc.keys {
					tm.Send(keyMsg(k))
				}
				tm.Send(tea.QuitMsg{})
				m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
				checkGolden(t, fmt.Sprintf("TestTUIWidths-%d-%s", w, sc.name), plain(m))
			})
		}
	}
}

// squash collapses runs of spaces, so that checks do not depend on column
// widths.
func squash(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
}

// TestTUIEmptyCorrelation is the screen of an id with no line in the
// --since window, at 60 columns: the hint wraps rather than being cut.
func TestTUIEmptyCorrelation(t *testing.T) {
	o := ModelOptions{Correlation: sagaFailed, EmptyHint: EmptyHint(sagaFailed, "10m", ""), Location: time.UTC}
	tm := teatest.NewTestModel(t, NewModel(o), teatest.WithInitialTermSize(60, 12), teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	tm.Send(tea.QuitMsg{})
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	s := plain(m)
	if !strings.Contains(squash(strings.ReplaceAll(s, "\n", " ")), "in the last 10m: try --since 24h") {
		t.Errorf("hint cut:\n%s", s)
	}
	checkGolden(t, "TestTUIEmptyCorrelation", s)
}

// FuzzShortID: ids shortened to any width above the distinguishing minimum
// stay apart, and fit the width.
func FuzzShortID(f *testing.F) {
	f.Add(sagaOK, sagaFailed, 12)
	f.Add("a1-same-tail", "b2-same-tail", 4)
	f.Add("ab", "abc", 3)
	f.Add("ééé-1", "ééé-2", 5)
	f.Fuzz(func(t *testing.T, a, b string, w int) {
		if a == b || w < 3 || w > 200 || !utf8.ValidString(a) || !utf8.ValidString(b) || strings.Contains(a+b, "…") {
			return
		}
		p, s := distinguish([]string{a, b})
		if w <= min(p, s) {
			return
		}
		sa, sb := shortID(a, w, p, s), shortID(b, w, p, s)
		if sa == sb {
			t.Fatalf("%q and %q both shown as %q at width %d", a, b, sa, w)
		}
		for _, x := range []string{sa, sb} {
			if n := utf8.RuneCountInString(x); n > w {
				t.Fatalf("%q is %d runes, width %d", x, n, w)
			}
		}
	})
}

// TestScreenFitsInEveryView: whatever the view and the size, the screen is
// at most the terminal's height and no line is wider than it.
func TestScreenFitsInEveryView(t *testing.T) {
	views := map[string][]string{
		"list":   nil,
		"flow":   {"enter"},
		"detail": {"enter", "g", "e", "down", "enter"},
		"nowrap": {"enter", "g", "e", "down", "enter", "w", "right", "right"},
		"keys":   {"?"},
		"keys-scrolled": {"?", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down",
			"down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down"},
	}
	for _, size := range [][2]int{{60, 24}, {80, 24}, {120, 24}, {200, 24}, {40, 10}, {30, 8}} {
		for name, keys := range views {
			var msgs []tea.Msg
			for _, k := range keys {
				msgs = append(msgs, keyMsg(k))
			}
			m := sagaModel(t, size[0], size[1], msgs...)
			lines := strings.Split(plain(m), "\n")
			if len(lines) > size[1] {
				t.Errorf("%dx%d %s: %d lines", size[0], size[1], name, len(lines))
			}
			for _, l := range lines {
				if w := utf8.RuneCountInString(l); w > size[0] {
					t.Errorf("%dx%d %s: line of width %d: %q", size[0], size[1], name, w, l)
				}
			}
		}
	}
}

// TestDetailNodeErrorBody: Node's "Uncaught Exception \t{...}" shows its
// errorType, errorMessage and stack, a frame a row, with the source path.
func TestDetailNodeErrorBody(t *testing.T) {
	p, _ := NewParser(nil)
	p.MapSources(nil)
	r := p.Parse(line("payment", 0, "r-1", "2024-01-01T00:00:00.000Z\tr-1\tERROR\tUncaught Exception \t"+
		`{"errorType":"Runtime.ImportModuleError","errorMessage":"Cannot find module 'x'","stack":["Error: Cannot find module 'x'","    at Object.<anonymous> (/p/.evcli/functions/payment/0123456789abcdef/index.js:8:49)"]}`))
	m := update(t, NewModel(ModelOptions{Location: time.UTC}), tea.WindowSizeMsg{Width: 100, Height: 24}, RecordsMsg{r}, keyMsg("enter"), keyMsg("enter"))
	s := squash(plain(m))
	if got := lineText(&r); strings.Contains(got, "errorType=") {
		t.Errorf("the timeline repeats the JSON of the message: %q", got)
	}
	for _, want := range []string{"errorType Runtime.ImportModuleError", "stack Error: Cannot find module 'x'\n at Object.<anonymous> (functions/payment/index.js:8:49)", "level ERROR"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail lacks %q:\n%s", want, s)
		}
	}
}
