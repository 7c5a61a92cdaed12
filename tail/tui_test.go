package tail

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// plain is the screen as a terminal without colour support shows it: the
// goldens hold text only (the styling is tested apart).
func plain(m Model) string { return ansi.Strip(m.Screen()) }

// updateGolden reports -update (the flag is registered by teatest's golden
// package, which this test binary links).
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updateGolden() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tail -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Fatalf("%s differs from the output; run with -update if the change is intended\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// fanOut is a fan-out flow: orders-api puts OrderPlaced, inventory, billing
// and notify react; billing fails for c-1002.
func fanOut() RecordsMsg {
	p, _ := NewParser(nil)
	var out RecordsMsg
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	add := func(ms int, fn, req, msg string) {
		l := line(fn, 0, req, msg)
		l.Time = at(ms)
		r := p.Parse(l)
		out = append(out, r)
	}
	m := NewMerger(MergerOptions{Window: time.Hour})
	for i, corr := range []string{"c-1001", "c-1002", "c-1003"} {
		base := i * 1000
		req := func(fn string) string { return fmt.Sprintf("%s-%d", fn, i) }
		add(base, "orders-api", req("api"), "START RequestId: "+req("api")+" Version: $LATEST")
		add(base+2, "orders-api", req("api"), fmt.Sprintf(`{"level":"INFO","message":"order placed","correlationId":"%s","orderId":"o-%d"}`, corr, i))
		add(base+9, "orders-api", req("api"), "END RequestId: "+req("api"))
		add(base+9, "orders-api", req("api"), "REPORT RequestId: "+req("api")+"\tDuration: 8.10 ms\tBilled Duration: 9 ms\tMemory Size: 128 MB\tMax Memory Used: 31 MB")
		add(base+30, "inventory", req("inv"), "START RequestId: "+req("inv")+" Version: $LATEST")
		add(base+33, "inventory", req("inv"), fmt.Sprintf(`{"level":"INFO","message":"stock reserved","detail":{"correlationId":"%s"}}`, corr))
		add(base+40, "inventory", req("inv"), "REPORT RequestId: "+req("inv")+"\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: 35 MB")
		add(base+31, "billing", req("bil"), "START RequestId: "+req("bil")+" Version: $LATEST")
		if corr == "c-1002" {
			add(base+35, "billing", req("bil"), `{"level":"WARN","message":"card declined, retrying","correlation_id":"c-1002"}`)
			add(base+60, "billing", req("bil"), `{"level":"ERROR","message":"payment failed: insufficient funds","correlation_id":"c-1002"}`)
		} else {
			add(base+35, "billing", req("bil"), fmt.Sprintf(`{"level":"INFO","message":"charged 42.00 EUR","correlation_id":"%s"}`, corr))
		}
		add(base+62, "billing", req("bil"), "REPORT RequestId: "+req("bil")+"\tDuration: 30.50 ms\tBilled Duration: 31 ms\tMemory Size: 256 MB\tMax Memory Used: 60 MB")
		add(base+45, "notify", req("not"), fmt.Sprintf("2024-01-01T00:00:00.000Z\t%s\tINFO\temail queued for %s", req("not"), corr))
		add(base+46, "notify", req("not"), fmt.Sprintf(`{"level":"DEBUG","message":"template rendered","x-correlation-id":"%s"}`, corr))
	}
	var merged []Record
	for _, r := range out {
		merged = m.Push(r, t0, merged)
	}
	return RecordsMsg(m.Flush(merged))
}

// keyMsg is the key press a terminal sends for s.
func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case " ":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

func update(t *testing.T, m Model, msgs ...tea.Msg) Model {
	t.Helper()
	for _, msg := range msgs {
		nm, _ := m.Update(msg)
		m = nm.(Model)
	}
	return m
}

func newTestModel(o ModelOptions) Model {
	o.Location = time.UTC
	m := NewModel(o)
	nm, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 28})
	return nm.(Model)
}

func TestModelFlowsFromRecords(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{}), fanOut())
	if n := m.Flows().Len(); n != 3 {
		t.Fatalf("%d flows, want 3", n)
	}
	f := m.Flows().Get("c-1002")
	if f == nil {
		t.Fatal("no flow c-1002")
	}
	if got := strings.Join(f.Functions, ","); got != "orders-api,inventory,billing,notify" {
		t.Errorf("functions = %s", got)
	}
	if f.Lines != 13 || f.Errors != 1 || f.DurationMs != 8.1+10+30.5 {
		t.Errorf("lines %d errors %d duration %v", f.Lines, f.Errors, f.DurationMs)
	}
	// Following: the newest flow is selected.
	if s := m.Selected(); s == nil || s.ID != "c-1003" || !m.Following() {
		t.Errorf("selected %v, following %v", s, m.Following())
	}
}

func TestModelNavigation(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{}), fanOut(), keyMsg("up"))
	if m.Selected().ID != "c-1002" || m.Following() {
		t.Fatalf("after up: %s following=%v", m.Selected().ID, m.Following())
	}
	// New records do not move the selection while not following.
	m = update(t, m, RecordsMsg{{Time: t0.Add(time.Hour), Function: "late", CorrelationID: "c-2000", Message: "new flow"}})
	if m.Selected().ID != "c-1002" {
		t.Fatalf("selection moved to %s while not following", m.Selected().ID)
	}
	m = update(t, m, keyMsg("G"))
	if m.Selected().ID != "c-2000" || !m.Following() {
		t.Fatalf("after G: %s following=%v", m.Selected().ID, m.Following())
	}
	m = update(t, m, keyMsg("g"), keyMsg("down"), keyMsg("enter"))
	if !m.Open() || m.Selected().ID != "c-1002" {
		t.Fatalf("open=%v selected=%s", m.Open(), m.Selected().ID)
	}
	m = update(t, m, keyMsg("esc"))
	if m.Open() {
		t.Fatal("esc did not close the flow")
	}
}

func TestModelNextError(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{}), fanOut(), keyMsg("e"))
	if m.Selected().ID != "c-1002" {
		t.Fatalf("next error selected %s, want c-1002", m.Selected().ID)
	}
	m = update(t, m, keyMsg("enter"), keyMsg("e"))
	tl := m.timeline()
	if !tl[m.Scroll()].IsError() {
		t.Fatalf("timeline scrolled to %q, not the error", tl[m.Scroll()].Message)
	}
}

func TestModelPause(t *testing.T) {
	c := make(chan Record)
	m := update(t, newTestModel(ModelOptions{Records: c}), keyMsg(" "))
	if !m.Paused() {
		t.Fatal("not paused")
	}
	batch := fanOut()
	n := len(batch)
	nm, cmd := m.Update(batch)
	m = nm.(Model)
	if m.Flows().Total != 0 || m.Pending() != n || cmd == nil {
		t.Fatalf("while paused: %d applied, %d pending, cmd %v", m.Flows().Total, m.Pending(), cmd)
	}
	// Past the cap the model stops reading: the pipeline is held back.
	big := make(RecordsMsg, maxPending)
	nm, cmd = m.Update(big)
	m = nm.(Model)
	if cmd != nil {
		t.Fatal("still reading with a full pending queue")
	}
	nm, cmd = m.Update(keyMsg(" "))
	m = nm.(Model)
	if m.Paused() || m.Pending() != 0 || m.Flows().Total != n+maxPending || cmd == nil {
		t.Fatalf("after resume: paused=%v pending=%d total=%d cmd=%v", m.Paused(), m.Pending(), m.Flows().Total, cmd)
	}
}

func TestModelSearchAndFilters(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{}), fanOut(), keyMsg("/"))
	for _, r := range "declined" {
		m = update(t, m, keyMsg(string(r)))
	}
	if m.Query() != "" {
		t.Fatal("query applied before enter")
	}
	m = update(t, m, keyMsg("enter"))
	if m.Query() != "declined" || len(m.visible()) != 1 || m.Selected().ID != "c-1002" {
		t.Fatalf("query %q visible %d selected %s", m.Query(), len(m.visible()), m.Selected().ID)
	}
	if tl := m.timeline(); len(tl) != 1 || tl[0].Message != "card declined, retrying" {
		t.Fatalf("timeline %v", tl)
	}
	m = update(t, m, keyMsg("esc"))
	if m.Query() != "" || len(m.visible()) != 3 {
		t.Fatal("esc did not clear the search")
	}
	// f cycles functions in the order seen; l cycles WARN+, ERROR+, all.
	m = update(t, m, keyMsg("f"), keyMsg("f"))
	if fn, _ := m.Filters(); fn != "inventory" {
		t.Fatalf("function filter %q", fn)
	}
	for _, r := range m.timeline() {
		if r.Function != "inventory" {
			t.Fatalf("timeline has %s", r.Function)
		}
	}
	m = update(t, m, keyMsg("f"), keyMsg("f"), keyMsg("f"))
	if fn, _ := m.Filters(); fn != "" {
		t.Fatalf("function filter did not wrap to all: %q", fn)
	}
	m = update(t, m, keyMsg("l"), keyMsg("l"))
	if _, lv := m.Filters(); lv != LevelError || len(m.visible()) != 1 {
		t.Fatalf("level %q visible %d", lv, len(m.visible()))
	}
	m = update(t, m, keyMsg("l"))
	if _, lv := m.Filters(); lv != LevelNone {
		t.Fatalf("level %q", lv)
	}
}

func TestModelSearchPaste(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{}), fanOut(), tea.PasteMsg{Content: "declined"})
	if m.search || m.Query() != "" {
		t.Fatal("a paste outside search changed the search")
	}
	m = update(t, m, keyMsg("/"), tea.PasteMsg{Content: "card decl"}, keyMsg("i"), keyMsg("enter"))
	if m.Query() != "card decli" || len(m.visible()) != 1 || m.Selected().ID != "c-1002" {
		t.Fatalf("after a paste: query %q, %d flows visible", m.Query(), len(m.visible()))
	}
}

func TestModelCtrlCQuitsWhileSearching(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{}), keyMsg("/"), keyMsg("q"))
	if _, cmd := m.Update(keyMsg("x")); cmd != nil {
		if _, ok := cmd().(tea.QuitMsg); ok {
			t.Fatal("a letter quit while searching")
		}
	}
	_, cmd := m.Update(keyMsg("ctrl+c"))
	if cmd == nil {
		t.Fatal("ctrl+c did nothing while searching")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("ctrl+c did not quit while searching")
	}
}

func TestModelCorrelationOpensOneFlow(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{Correlation: "c-1002"}), fanOut(), keyMsg("esc"))
	if m.Flows().Len() != 1 || !m.Open() || m.Selected().ID != "c-1002" {
		t.Fatalf("flows %d open %v", m.Flows().Len(), m.Open())
	}
}

func TestModelResize(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{}), fanOut())
	for _, size := range [][2]int{{100, 28}, {60, 15}, {140, 40}, {30, 8}} {
		m = update(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, open := range []bool{false, true} {
			m.open = open
			v := m.Screen()
			lines := strings.Split(v, "\n")
			if len(lines) > size[1] {
				t.Errorf("%dx%d open=%v: %d lines", size[0], size[1], open, len(lines))
			}
			for _, l := range lines {
				if w := lipgloss.Width(l); w > size[0] {
					t.Errorf("%dx%d open=%v: line of width %d: %q", size[0], size[1], open, w, l)
				}
			}
		}
	}
}

func TestFlowsBounded(t *testing.T) {
	fs := NewFlows(10, 5)
	for i := 0; i < 10_000; i++ {
		fs.Add(Record{Time: t0.Add(time.Duration(i)), CorrelationID: fmt.Sprint("c-", i%50), Message: "x"})
		if fs.Len() > 10 {
			t.Fatalf("%d flows kept, cap 10", fs.Len())
		}
	}
	for _, f := range fs.List() {
		if len(f.Records) > 5 {
			t.Fatalf("flow %s keeps %d lines, cap 5", f.ID, len(f.Records))
		}
	}
	if fs.Get("c-49") == nil || fs.Total != 10_000 {
		t.Fatal("newest flow evicted")
	}

	// The cap on lines across flows evicts the oldest flows whole.
	fs = NewFlows(1000, 100)
	fs.MaxRecords = 250
	for i := 0; i < 10_000; i++ {
		fs.Add(Record{Time: t0.Add(time.Duration(i)), CorrelationID: fmt.Sprint("c-", i/30), Message: "x"})
		kept := 0
		for _, f := range fs.List() {
			kept += len(f.Records)
		}
		if kept != fs.Kept() || kept > 250+30 {
			t.Fatalf("after %d: %d lines kept (counted %d), cap 250", i, kept, fs.Kept())
		}
	}
}

func TestFlowsAbsorbRequestFlow(t *testing.T) {
	fs := NewFlows(0, 0)
	fs.Add(Record{Time: t0, Function: "a", RequestID: "r1", Message: "START"})
	fs.Add(Record{Time: t0.Add(time.Second), Function: "b", CorrelationID: "c-1", Message: "other"})
	fs.Add(Record{Time: t0.Add(2 * time.Second), Function: "a", RequestID: "r1", CorrelationID: "c-1", Message: "named", Report: &Report{DurationMs: 5}})
	if fs.Len() != 1 {
		t.Fatalf("%d flows, want the request flow absorbed", fs.Len())
	}
	f := fs.Get("c-1")
	if f.Lines != 3 || strings.Join(f.Functions, ",") != "a,b" || f.DurationMs != 5 || f.Records[0].CorrelationID != "c-1" || !f.FirstSeen.Equal(t0) {
		t.Fatalf("%+v", f)
	}
}

// --- teatest flows against golden screens ---

func runTUI(t *testing.T, o ModelOptions, w, h int, msgs ...tea.Msg) Model {
	t.Helper()
	o.Location = time.UTC
	tm := teatest.NewTestModel(t, NewModel(o), teatest.WithInitialTermSize(w, h))
	for _, msg := range msgs {
		tm.Send(msg)
	}
	tm.Send(keyMsg("q"))
	return tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
}

func TestTUINavigateFlows(t *testing.T) {
	m := runTUI(t, ModelOptions{}, 100, 28, fanOut(), keyMsg("up"), keyMsg("up"), keyMsg("down"))
	checkGolden(t, "TestTUINavigateFlows", plain(m))
}

func TestTUIOpenFlow(t *testing.T) {
	m := runTUI(t, ModelOptions{}, 100, 24, fanOut(), keyMsg("e"), keyMsg("enter"))
	checkGolden(t, "TestTUIOpenFlow", plain(m))
}

func TestTUISearch(t *testing.T) {
	msgs := []tea.Msg{fanOut(), keyMsg("/")}
	for _, r := range "email" {
		msgs = append(msgs, keyMsg(string(r)))
	}
	msgs = append(msgs, keyMsg("enter"), keyMsg("g"))
	m := runTUI(t, ModelOptions{}, 100, 24, msgs...)
	checkGolden(t, "TestTUISearch", plain(m))
}

// TestREADMEScreenshot is the screen the README shows.
func TestREADMEScreenshot(t *testing.T) {
	m := runTUI(t, ModelOptions{}, 100, 24, saga(), keyMsg("e"))
	checkGolden(t, "README-screenshot", plain(m))
}

// TestModelStyling checks what the goldens strip: the alternate screen, a
// function's colour (the same as the plain printer's), red errors and the
// reversed selection.
func TestModelStyling(t *testing.T) {
	m := update(t, newTestModel(ModelOptions{}), fanOut(), keyMsg("e"))
	v := m.View()
	if !v.AltScreen {
		t.Error("the TUI does not use the alternate screen")
	}
	if v.Content != m.Screen() {
		t.Error("View and Screen differ")
	}
	for _, fn := range []string{"orders-api", "inventory", "billing", "notify"} {
		want := lipgloss.NewStyle().Foreground(ansi.BasicColor(ANSIColor(fn))).Render(fn)
		if !strings.Contains(v.Content, want) {
			t.Errorf("%s is not shown in its colour %d (%q)", fn, ANSIColor(fn), want)
		}
	}
	red := lipgloss.NewStyle().Foreground(ansi.Red).Bold(true).Render
	if !strings.Contains(v.Content, red(pad("ERROR", 6))) {
		t.Error("the error line's level is not red")
	}
	if !strings.Contains(v.Content, "\x1b[7m▸ c-1002") {
		t.Errorf("the selected flow is not reversed:\n%q", v.Content)
	}
}

// TestModelBackgroundColor: the help bar's greys follow the terminal's
// background once it answers; until then they are the dark-background ones.
func TestModelBackgroundColor(t *testing.T) {
	m := newTestModel(ModelOptions{})
	// #626262 is the dark-background key grey, #909090 the light one.
	const darkKey, lightKey = "38;2;98;98;98", "38;2;144;144;144"
	if s := m.Screen(); !strings.Contains(s, darkKey) || strings.Contains(s, lightKey) {
		t.Fatalf("default help colours are not the dark ones:\n%q", s)
	}
	light := update(t, m, tea.BackgroundColorMsg{Color: lipgloss.Color("#ffffff")})
	if s := light.Screen(); !strings.Contains(s, lightKey) {
		t.Fatalf("a light background kept the dark help colours:\n%q", s)
	}
	dark := update(t, light, tea.BackgroundColorMsg{Color: lipgloss.Color("#101010")})
	if s := dark.Screen(); !strings.Contains(s, darkKey) {
		t.Fatalf("a dark background did not restore the dark help colours:\n%q", s)
	}
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// sgrAttrs returns whether out sets a colour and whether it sets any other
// attribute (bold, faint, reverse…) through SGR sequences.
func sgrAttrs(out string) (colour, other bool) {
	for _, m := range sgr.FindAllStringSubmatch(out, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			switch {
			case n >= 30 && n <= 38, n >= 40 && n <= 48, n >= 90 && n <= 97, n >= 100 && n <= 107:
				colour = true
			case n != 0 && n != 39 && n != 49:
				other = true
			}
			if n == 38 || n == 48 {
				break // the rest are the colour's parameters
			}
		}
	}
	return colour, other
}

// TestTUIColorProfile runs the program as the terminal sees it: under the
// ASCII profile (NO_COLOR, --color never) the renderer writes no colour but
// keeps bold and reverse video; under ANSI it writes the colours.
func TestTUIColorProfile(t *testing.T) {
	for _, tt := range []struct {
		profile               colorprofile.Profile
		wantColour, wantOther bool
	}{
		{colorprofile.ASCII, false, true},
		{colorprofile.ANSI, true, true},
		{colorprofile.NoTTY, false, false},
	} {
		t.Run(tt.profile.String(), func(t *testing.T) {
			tm := teatest.NewTestModel(t, NewModel(ModelOptions{Location: time.UTC}),
				teatest.WithInitialTermSize(100, 24), teatest.WithProgramOptions(tea.WithColorProfile(tt.profile)))
			tm.Send(fanOut())
			tm.Send(keyMsg("e"))
			tm.Send(keyMsg("q"))
			b, err := io.ReadAll(tm.FinalOutput(t, teatest.WithFinalTimeout(10*time.Second)))
			if err != nil {
				t.Fatal(err)
			}
			out := string(b)
			if !strings.Contains(out, "payment failed: insufficient funds") {
				t.Fatalf("the screen was not drawn:\n%q", out)
			}
			colour, other := sgrAttrs(out)
			if colour != tt.wantColour || other != tt.wantOther {
				t.Fatalf("%v: colour %v (want %v), other attributes %v (want %v)", tt.profile, colour, tt.wantColour, other, tt.wantOther)
			}
		})
	}
}
