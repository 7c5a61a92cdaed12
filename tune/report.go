package tune

import (
	"fmt"
	"io"
	"math"
	"strings"

	"charm.land/lipgloss/v2"
)

// JSONEstimate is one size in a JSON recommendation.
type JSONEstimate struct {
	MemoryMB             int     `json:"memoryMB"`
	DurationMs           float64 `json:"durationMs"`
	CostPerInvocationUSD float64 `json:"costPerInvocationUSD"`
	// P95Ms is the (estimated or measured) p95 duration; TooSlow says the
	// size was ruled out as slower than the user's time allows.
	P95Ms   float64 `json:"p95Ms,omitempty"`
	TooSlow bool    `json:"tooSlow,omitempty"`
}

// JSONRecommendation is the -o json line for one function.
type JSONRecommendation struct {
	Type                string         `json:"type"` // "recommendation"
	Function            string         `json:"function"`
	Strategy            string         `json:"strategy"`
	CurrentMemoryMB     int            `json:"currentMemoryMB"`
	RecommendedMemoryMB int            `json:"recommendedMemoryMB"`
	Estimates           []JSONEstimate `json:"estimates"`
	MonthlySavingUSD    float64        `json:"monthlySavingUSD"`
	Confidence          string         `json:"confidence"`
	Reason              string         `json:"reason"`
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	r := math.Round(v*p) / p
	if r == 0 {
		return 0 // no -0
	}
	return r
}

// JSON returns the -o json object of r. Durations are rounded to 0.001 ms,
// costs to 1e-12 USD, the monthly saving to 1e-4 USD. Sizes below the floor
// and sizes whose probe runs failed are left out of the estimates.
func (r Recommendation) JSON() JSONRecommendation {
	j := JSONRecommendation{
		Type: "recommendation", Function: r.Function, Strategy: string(r.Strategy),
		CurrentMemoryMB: r.CurrentMemoryMB, RecommendedMemoryMB: r.RecommendedMemoryMB,
		Estimates:        []JSONEstimate{},
		MonthlySavingUSD: round(r.MonthlySavingUSD, 4), Confidence: r.Confidence,
		Reason: strings.Join(append([]string{r.Reason}, r.Notes...), "; "),
	}
	for _, e := range r.Estimates {
		if e.BelowFloor || e.Failed > 0 || (e.Measured && e.Kept == 0) {
			continue
		}
		j.Estimates = append(j.Estimates, JSONEstimate{
			MemoryMB: e.MemoryMB, DurationMs: round(e.DurationMs, 3),
			CostPerInvocationUSD: round(e.CostPerInvocationUSD, 12),
			P95Ms:                round(e.P95Ms, 3), TooSlow: e.TooSlow,
		})
	}
	return j
}

// TextOptions control the text report.
type TextOptions struct {
	// Color turns on lipgloss styling (a terminal without NO_COLOR).
	Color bool
	// BarWidth is the width of the chart's bars; 0 means 24.
	BarWidth int
}

type styles struct {
	head, dim, good, bad, cur, rec, bar lipgloss.Style
	full, empty                         string
}

func newStyles(color bool) styles {
	if !color {
		p := lipgloss.NewStyle()
		return styles{head: p, dim: p, good: p, bad: p, cur: p, rec: p, bar: p, full: "#", empty: " "}
	}
	// The caller decided that colour is wanted (a terminal without
	// NO_COLOR, or --color always): render the 16 basic ANSI colours (SGR 30-37) whatever
	// the writer is (lipgloss v2 styles render as given, with no
	// detection of their own).
	n := lipgloss.NewStyle
	return styles{
		head:  n().Bold(true),
		dim:   n().Faint(true),
		good:  n().Foreground(lipgloss.Color("2")),
		bad:   n().Foreground(lipgloss.Color("1")),
		cur:   n().Foreground(lipgloss.Color("3")),
		rec:   n().Foreground(lipgloss.Color("2")).Bold(true),
		bar:   n().Foreground(lipgloss.Color("4")),
		full:  "█",
		empty: " ",
	}
}

// WriteText writes the summary table of recs, then, per function, the
// observations, the reason and a chart of cost and duration by size.
func WriteText(w io.Writer, recs []Recommendation, o TextOptions) error {
	st := newStyles(o.Color)
	var b strings.Builder
	rows := [][]string{{"FUNCTION", "STRATEGY", "CURRENT", "RECOMMENDED", "DURATION (ms)", "COST/MONTH", "SAVING/MONTH", "CONFIDENCE"}}
	for _, r := range recs {
		if r.Insufficient {
			rows = append(rows, []string{r.Function, string(r.Strategy), mbOrDash(r.CurrentMemoryMB), "-", "-", "-", "-", r.Confidence + " (too little data)"})
			continue
		}
		rows = append(rows, []string{
			r.Function, strategyLabel(r), mbOrDash(r.CurrentMemoryMB), fmt.Sprintf("%d MB", r.RecommendedMemoryMB),
			fmt.Sprintf("%s → %s", ms(r.Current.DurationMs), ms(r.Recommended.DurationMs)),
			fmt.Sprintf("%s → %s", formatUSD(r.MonthlyCostCurrentUSD), formatUSD(r.MonthlyCostRecommendedUSD)),
			savingText(r), r.Confidence,
		})
	}
	writeTable(&b, rows, st, func(ri, ci int) (lipgloss.Style, bool) {
		if ri == 0 || ri > len(recs) {
			return st.head, false
		}
		r := recs[ri-1]
		switch {
		case ci == 6 && !r.Insufficient && r.MonthlySavingUSD > 0:
			return st.good, true
		case ci == 6 && !r.Insufficient && r.MonthlySavingUSD < 0:
			return st.bad, true
		case ci == 7 && r.Confidence == Low:
			return st.cur, true
		case ci == 3 && r.Changed():
			return st.rec, true
		}
		return st.head, false
	})
	for _, r := range recs {
		b.WriteString("\n")
		writeDetail(&b, r, st, o)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func strategyLabel(r Recommendation) string {
	if r.Strategy == Balanced {
		return fmt.Sprintf("balanced(%g)", r.Weight)
	}
	return string(r.Strategy)
}

func mbOrDash(m int) string {
	if m == 0 {
		return "-"
	}
	return fmt.Sprintf("%d MB", m)
}

func ms(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func savingText(r Recommendation) string {
	if r.MonthlyInvocations == 0 {
		return "-"
	}
	s := formatUSD(r.MonthlySavingUSD)
	if pct := r.SavingPercent(); r.MonthlyCostCurrentUSD > 0 {
		s += fmt.Sprintf(" (%.0f%%)", pct)
	}
	return s
}

func writeTable(b *strings.Builder, rows [][]string, st styles, cellStyle func(row, col int) (lipgloss.Style, bool)) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], lipgloss.Width(c))
		}
	}
	for ri, row := range rows {
		var line strings.Builder
		for i, c := range row {
			pad := ""
			if i < len(row)-1 {
				pad = strings.Repeat(" ", widths[i]-lipgloss.Width(c)+2)
			}
			if ri == 0 {
				c = st.head.Render(c)
			} else if s, ok := cellStyle(ri, i); ok {
				c = s.Render(c)
			}
			line.WriteString(c + pad)
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteString("\n")
	}
}

func writeDetail(b *strings.Builder, r Recommendation, st styles, o TextOptions) {
	ob := r.Observations
	fmt.Fprintf(b, "%s\n", st.head.Render(r.Function))
	if ob.Invocations > 0 {
		sampled := ""
		if ob.Sampled {
			sampled = fmt.Sprintf(", statistics from a sample of %d", ob.Duration.N+int(ob.Errors))
		}
		fmt.Fprintf(b, "  observed   %d invocation%s in %s (%d error%s, %d throttle%s%s), %d cold start%s",
			ob.Invocations, plural(int(ob.Invocations)), formatWindow(ob.Window()), ob.Errors, plural(int(ob.Errors)),
			ob.Throttles, plural(int(ob.Throttles)), sampled, ob.ColdStarts, plural(ob.ColdStarts))
		if ob.ColdStarts > 0 {
			fmt.Fprintf(b, " (init p50 %s ms, p99 %s ms)", ms(ob.Init.P50), ms(ob.Init.P99))
		}
		b.WriteString("\n")
		if ob.Duration.N > 0 {
			fmt.Fprintf(b, "  duration   p50 %s ms, p90 %s ms, p99 %s ms, mean %s ms; billed mean %s ms\n",
				ms(ob.Duration.P50), ms(ob.Duration.P90), ms(ob.Duration.P99), ms(ob.Duration.Mean), ms(ob.BilledMeanMs))
		}
		share := "unknown"
		if ob.CPUShareKnown {
			share = fmt.Sprintf("%.0f%% (measured)", ob.CPUShare*100)
		}
		fmt.Fprintf(b, "  memory     %d MB configured; Max Memory Used p99 %d MB, max %d MB; CPU share %s\n",
			ob.MemoryMB, ob.MaxMemoryUsedP99MB, ob.MaxMemoryUsedMaxMB, share)
	}
	if r.Probed {
		fmt.Fprintf(b, "  probed     %s\n", probeSummary(r))
	}
	if r.MonthlyInvocations > 0 && !r.Insufficient {
		fmt.Fprintf(b, "  per month  %.0f invocations at the observed rate\n", r.MonthlyInvocations)
	}
	fmt.Fprintf(b, "  why        %s (%s confidence)\n", r.Reason, r.Confidence)
	for _, n := range r.Notes {
		fmt.Fprintf(b, "  note       %s\n", n)
	}
	if len(r.Estimates) > 0 {
		writeChart(b, r, st, o)
	}
}

func probeSummary(r Recommendation) string {
	var parts []string
	for _, e := range r.Estimates {
		parts = append(parts, fmt.Sprintf("%d MB: %d kept", e.MemoryMB, e.Kept))
	}
	return strings.Join(parts, ", ")
}

// writeChart draws two horizontal bar charts side by side: cost per million
// invocations and duration, one row per memory size.
func writeChart(b *strings.Builder, r Recommendation, st styles, o TextOptions) {
	width := o.BarWidth
	if width <= 0 {
		width = 24
	}
	maxCost, maxDur := 0.0, 0.0
	for _, e := range r.Estimates {
		maxCost = math.Max(maxCost, e.CostPerInvocationUSD)
		maxDur = math.Max(maxDur, e.DurationMs)
	}
	kind := "estimated"
	if r.Probed {
		kind = "measured"
	}
	fmt.Fprintf(b, "  %s by memory size (%s):\n", kind, "< current, * recommended, - below the floor, failed or too slow")
	header := fmt.Sprintf("  %-10s %-*s  %-*s", "MEMORY", width+11, "COST PER 1M INVOCATIONS", width+10, "DURATION (ms)")
	b.WriteString(st.head.Render(strings.TrimRight(header, " ")) + "\n")
	for _, e := range r.Estimates {
		mark := " "
		switch {
		case e.MemoryMB == r.RecommendedMemoryMB && !r.Insufficient:
			mark = "*"
		case e.MemoryMB == r.CurrentMemoryMB:
			mark = "<"
		case e.BelowFloor || e.TooSlow || e.Failed > 0 || (e.Measured && e.Kept == 0):
			mark = "-"
		}
		label := fmt.Sprintf("%s %5d MB", mark, e.MemoryMB)
		switch mark {
		case "*":
			label = st.rec.Render(label)
		case "<":
			label = st.cur.Render(label)
		case "-":
			label = st.dim.Render(label)
		}
		if e.Measured && e.Kept == 0 {
			fmt.Fprintf(b, "  %s %s\n", label, st.dim.Render("no successful run"))
			continue
		}
		costBar := bar(e.CostPerInvocationUSD, maxCost, width, st)
		durBar := bar(e.DurationMs, maxDur, width, st)
		line := fmt.Sprintf("  %s %s %-10s %s %s", label, costBar, formatUSD(e.CostPerInvocationUSD*1e6), durBar, ms(e.DurationMs))
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}

func bar(v, maxV float64, width int, st styles) string {
	n := 0
	if maxV > 0 {
		n = int(math.Round(v / maxV * float64(width)))
	}
	n = min(max(n, 0), width)
	if v > 0 && n == 0 {
		n = 1
	}
	return st.bar.Render(strings.Repeat(st.full, n)) + strings.Repeat(st.empty, width-n)
}
