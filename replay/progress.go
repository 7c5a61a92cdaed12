package replay

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Bar draws a replay's progress on one terminal line: a bar, the count, the
// rate and the time left. Updates closer together than Every are skipped.
type Bar struct {
	W     io.Writer
	Now   func() time.Time
	Width int           // of the bar itself; default 30
	Every time.Duration // default 100ms

	last    time.Time
	drawn   bool
	lastLen int
}

// Update redraws the line for p (throttled; the done phase always draws).
func (b *Bar) Update(p Progress) {
	now := b.Now()
	if p.Phase != PhaseDone && b.drawn && now.Sub(b.last) < max(b.Every, 100*time.Millisecond) {
		return
	}
	b.last, b.drawn = now, true
	width := b.Width
	if width <= 0 {
		width = 30
	}
	line := FormatProgress(p, width)
	pad := ""
	if n := b.lastLen - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	b.lastLen = len(line)
	fmt.Fprintf(b.W, "\r%s%s", line, pad)
}

// Finish ends the bar's line.
func (b *Bar) Finish() {
	if b.drawn {
		fmt.Fprintln(b.W)
		b.drawn = false
	}
}

// FormatProgress renders p as the bar line (without carriage return).
func FormatProgress(p Progress, width int) string {
	if p.Total < 0 {
		return fmt.Sprintf("reading events… %s read, %s selected", thousands(p.Read), thousands(p.Selected))
	}
	done := p.Done()
	frac := 1.0
	if p.Total > 0 {
		frac = float64(done) / float64(p.Total)
	}
	fill := int(frac * float64(width))
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	s := fmt.Sprintf("[%s] %s/%s", bar, thousands(done), thousands(p.Total))
	if secs := p.Elapsed.Seconds(); secs > 0 && p.Published+p.Failed > 0 {
		rate := float64(p.Published+p.Failed) / secs
		s += fmt.Sprintf("  %s/s", thousands(int64(rate+0.5)))
		if left := p.Total - done; left > 0 && rate > 0 {
			s += "  ETA " + time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second).String()
		}
	}
	if p.Failed > 0 {
		s += fmt.Sprintf("  %s failed", thousands(p.Failed))
	}
	return s
}

// thousands formats n with thousands separators: 1234567 -> 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
