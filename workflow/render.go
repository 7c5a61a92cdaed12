package workflow

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/evcli/evcli/providers"
)

// Printer writes an execution's transitions as they happen, one line per
// finished state, retry and caught error. It is not safe for concurrent
// use; WaitExecution calls it from one goroutine.
type Printer struct {
	W io.Writer
	// Times prints each line's time (RFC 3339, milliseconds) first.
	Times bool

	fn           map[string]string // scope/state -> function of its last task
	caught       map[string]providers.WorkflowEvent
	compensating string // why the states now running run ("" = not compensating)
	compensated  []string
}

func key(ev providers.WorkflowEvent) string { return ev.Scope + "\x00" + ev.State }

// Event renders one history event (some render nothing).
func (p *Printer) Event(ev providers.WorkflowEvent) {
	if p.fn == nil {
		p.fn, p.caught = map[string]string{}, map[string]providers.WorkflowEvent{}
	}
	indent := ""
	if ev.Scope != "" {
		indent = "  "
	}
	name := ev.State
	if ev.Scope != "" {
		name = "[" + ev.Scope + "] " + ev.State
	}
	line := func(format string, args ...any) {
		if p.Times {
			fmt.Fprintf(p.W, "%s  ", ev.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		}
		fmt.Fprintf(p.W, indent+format+"\n", args...)
	}
	switch ev.Type {
	case "ExecutionResumed":
		line("resumed at %s (it was interrupted; that state runs again)", ev.State)
	case "ExecutionRedriven":
		line("redriven from %s", ev.State)
	case "TaskScheduled":
		p.fn[key(ev)] = ev.Function
	case "RetryScheduled":
		line("  %s: %s, retry %d in %s", name, ev.Error, ev.Attempt-1, time.Duration(ev.DelayMs*float64(time.Millisecond)))
	case "CatchMatched":
		p.caught[key(ev)] = ev
	case "StateExited", "StateFailed":
		outcome := "ok"
		failed := ev
		c, caught := p.caught[key(ev)]
		if caught {
			delete(p.caught, key(ev))
			failed = c
		}
		if ev.Type == "StateFailed" || caught {
			outcome = "failed: " + failed.Error
			if c := shortCause(failed.Cause); c != "" {
				outcome += " (" + c + ")"
			}
		}
		if caught {
			outcome += ", caught -> " + c.Next
		}
		why := ""
		if p.compensating != "" && ev.Scope == "" && ev.StateType != "Fail" && ev.StateType != "Succeed" {
			why = "  [compensating " + p.compensating + "]"
			if ev.Type == "StateExited" {
				p.compensated = append(p.compensated, ev.State)
			}
		}
		line("%-22s %-8s %-12s %8s  %s%s", name, ev.StateType, p.fn[key(ev)], ms(ev.DurationMs), outcome, why)
		if caught && ev.Scope == "" {
			p.compensating = fmt.Sprintf("%s in %s", c.Error, ev.State)
		}
	}
}

// Summary writes the execution's end: status, error and what was
// compensated.
func (p *Printer) Summary(x providers.WorkflowExecution) {
	d := ""
	if !x.Stopped.IsZero() && !x.Started.IsZero() {
		d = " in " + x.Stopped.Sub(x.Started).Round(time.Millisecond).String()
	}
	switch x.Status {
	case "SUCCEEDED":
		fmt.Fprintf(p.W, "execution %s SUCCEEDED%s\n", x.Name, d)
	case "RUNNING":
		fmt.Fprintf(p.W, "execution %s RUNNING\n", x.Name)
	default:
		fmt.Fprintf(p.W, "execution %s %s%s: %s", x.Name, x.Status, d, x.Error)
		if c := shortCause(x.Cause); c != "" {
			fmt.Fprintf(p.W, " (%s)", c)
		}
		fmt.Fprintln(p.W)
	}
	if len(p.compensated) > 0 {
		fmt.Fprintf(p.W, "compensations run: %s (for %s)\n", strings.Join(p.compensated, ", "), p.compensating)
	}
}

func ms(v float64) string {
	if v < 1000 {
		return fmt.Sprintf("%.0fms", v)
	}
	return (time.Duration(v * float64(time.Millisecond))).Round(10 * time.Millisecond).String()
}

// shortCause is a cause fit for one line: a Lambda error document's
// errorMessage, or the text cut at 100 characters.
func shortCause(c string) string {
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if strings.HasPrefix(c, "{") && json.Unmarshal([]byte(c), &doc) == nil && doc.ErrorMessage != "" {
		c = doc.ErrorMessage
	}
	c = strings.Join(strings.Fields(c), " ")
	if len(c) > 100 {
		c = c[:97] + "..."
	}
	return c
}
