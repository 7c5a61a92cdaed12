package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

type sendOptions struct {
	File    string
	Bus     string
	Wait    bool
	Timeout time.Duration
}

func newCmdSend(f *cmdutil.Factory) *cobra.Command {
	var o sendOptions
	c := &cobra.Command{
		Use:   "send EVENT.json|-",
		Short: "Put events on the bus",
		Long: `Put events on the project's event bus. The file holds one EventBridge envelope
({"source","detail-type","detail",...}; id and time are filled in when missing), a JSON
array of them, NDJSON, or a PutEvents request ({"Entries":[...]}); "-" reads stdin.
Every event is checked before any is sent: a malformed file sends nothing.

The events go to the provider's bus in calls within its limits (EventBridge's PutEvents:
10 entries and 256 KB a request). An entry over 256 KB sends nothing (exit 2). Entries
that fail with a transient code (throttled, internal failure) are sent again with
backoff, up to 4 attempts; entries that still fail are listed with their index in the
file, error code and message, and send exits 1.

On the local provider each event is stored durably first, then delivered to every
function whose rule matches. With --wait (where the provider can tell), evcli waits
until every delivery the events caused has finished, including deliveries of events
the functions published in turn, and prints one line per delivery.`,
		Example: `  evcli send events/order-created.json --wait
  cat events.ndjson | evcli send - -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.File = args[0]
			return runSend(c.Context(), f, o)
		},
	}
	c.Flags().StringVar(&o.Bus, "bus", "", "event bus (default: the entry's EventBusName, else the project's bus)")
	c.Flags().BoolVar(&o.Wait, "wait", false, "wait for every delivery the events cause and print them")
	c.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Minute, "with --wait: give up waiting after this long")
	return c
}

func readInput(f *cmdutil.Factory, name string) ([]byte, string, error) {
	if name == "-" {
		b, err := io.ReadAll(f.IO.In)
		return b, "<stdin>", err
	}
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return nil, name, cmdutil.UsageError("%s is a directory: send takes one file of events (JSON, an array, NDJSON) or - for stdin", name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, name, cmdutil.UsageError("%s: no such file", name)
		}
		return nil, name, err
	}
	return b, name, nil
}

func runSend(ctx context.Context, f *cmdutil.Factory, o sendOptions) (err error) {
	p, err := f.Project()
	if err != nil {
		return err
	}
	data, name, err := readInput(f, o.File)
	if err != nil {
		return err
	}
	evs, err := providers.ParseEvents(name, data)
	if err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Msg: err.Error(), Err: err}
	}
	if err := providers.CheckEntrySizes(evs); err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Msg: err.Error(), Err: err}
	}
	for i := range evs {
		if o.Bus != "" {
			evs[i].EventBusName = o.Bus
		} else if evs[i].EventBusName == "" {
			evs[i].EventBusName = p.Bus
		}
	}
	need := []providers.Ability{providers.AbilityPublish}
	if o.Wait {
		need = append(need, providers.AbilityWait)
	}
	prov, err := openProvider(ctx, f, p, need)
	if err != nil {
		return err
	}
	wctx := ctx
	if o.Wait && o.Timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	// Close lets an in-process provider finish the deliveries the events
	// caused before evcli exits. Ctrl-C stops that (exit 130), and so does
	// --wait's --timeout: evcli gave up waiting, so it does not wait in
	// Close either; the local provider leaves what is pending to the next
	// evcli process and says so.
	defer func() {
		closeProvider(wctx, waiterOf(f), prov, &err)
		if ctx.Err() != nil {
			err = ctx.Err() // exit 130
		}
	}()
	rep, sendErr := providers.PublishAll(wctx, prov.Bus, "", evs, prov.BusLimits, providers.RetryPolicy{
		MaxAttempts: sendAttempts, Sleep: f.Sleep,
		OnRetry: func(n int, wait time.Duration) {
			if f.Globals.Debug {
				fmt.Fprintf(f.IO.ErrOut, "debug: %d entries failed with a retryable code; retrying in %s\n", n, wait)
			}
		},
	})
	if sendErr != nil && (ctx.Err() != nil || len(rep.Results) == 0) {
		if errors.Is(sendErr, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("gave up after %s (--timeout)", o.Timeout)
		}
		return sendErr
	}
	// The events are stored (or failed): say so before waiting for the
	// deliveries, so an acknowledged event is one the bus holds.
	var jl *cmdutil.JSONLines
	if f.Globals.JSON() {
		jl = cmdutil.NewJSONLines(f.IO.Out, "send")
	}
	failed := printSendResult(f, jl, evs, rep)
	if sendErr != nil {
		return sendErr
	}
	if o.Wait {
		dels, err := prov.Waiter.Wait(wctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return fmt.Errorf("gave up waiting after %s (--timeout)", o.Timeout)
			}
			return err
		}
		failed += printDeliveries(f, f.Globals.JSON(), jl, dels)
		if len(dels) == 0 && rep.Failed() < len(evs) {
			hintNoRule(f, p, o.File)
		}
	} else if prov.Router != nil {
		unmatched := 0
		routes := map[string]func(providers.Event) []string{}
		for i, ev := range evs {
			if i >= len(rep.Results) || rep.Results[i].ErrorCode != "" {
				continue
			}
			route, ok := routes[ev.EventBusName]
			if !ok {
				route, _ = prov.Router.Route(ctx, ev.EventBusName)
				routes[ev.EventBusName] = route
			}
			if route != nil && len(route(ev)) == 0 {
				unmatched++
			}
		}
		if unmatched == len(evs) {
			hintNoRule(f, p, o.File)
		}
	}
	if failed > 0 {
		if !f.Globals.JSON() && rep.Failed() > 0 {
			fmt.Fprintf(f.IO.ErrOut, "%d of %d events not sent\n", rep.Failed(), len(evs))
		}
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

// hintNoRule says that the events reached no function and how to see why.
func hintNoRule(f *cmdutil.Factory, p *project.Project, file string) {
	fn := "FUNCTION"
	if len(p.Functions) > 0 {
		fn = p.Functions[0].Name
	}
	if file == "-" {
		file = "EVENTS.json"
	}
	fmt.Fprintf(f.IO.ErrOut, "no rule matched: nothing ran. See why with: evcli filter test --rule %s --event %s -v\n", fn, file)
}

// printSendResult prints one line (or JSON record) per event and returns
// how many were not sent.
func printSendResult(f *cmdutil.Factory, jl *cmdutil.JSONLines, evs []providers.Event, rep providers.PublishReport) int {
	failed := 0
	for i, r := range rep.Results {
		ev := evs[i]
		if r.ErrorCode != "" {
			failed++
		}
		if jl != nil {
			rec := map[string]any{"type": "event", "id": r.EventID, "source": ev.Source, "detailType": ev.DetailType, "bus": ev.EventBusName,
				"attempts": rep.Attempts[i]}
			if r.ErrorCode != "" {
				rec["index"], rec["errorCode"], rec["errorMessage"] = i, r.ErrorCode, r.ErrorMsg
			}
			_ = jl.Write(rec)
			continue
		}
		if r.ErrorCode != "" {
			after := ""
			if rep.Attempts[i] > 1 {
				after = fmt.Sprintf(" (after %d attempts)", rep.Attempts[i])
			}
			fmt.Fprintf(f.IO.ErrOut, "event %d (%s %s) not sent: %s: %s%s\n", i, ev.Source, ev.DetailType, r.ErrorCode, r.ErrorMsg, after)
		} else {
			fmt.Fprintf(f.IO.ErrOut, "sent %s %s %s\n", r.EventID, ev.Source, ev.DetailType)
		}
	}
	return failed
}

// printDeliveries prints one line (or JSON record) per delivery and returns
// how many failed. jl may be nil for a stream that has not started.
func printDeliveries(f *cmdutil.Factory, asJSON bool, jl *cmdutil.JSONLines, dels []providers.Delivery) int {
	if asJSON && jl == nil && len(dels) > 0 {
		jl = cmdutil.NewJSONLines(f.IO.Out, "deliveries")
	}
	failed := 0
	width, dtWidth := 0, 0
	for _, d := range dels {
		width = max(width, len(d.Function))
		dtWidth = max(dtWidth, len(d.DetailType))
	}
	for _, d := range dels {
		if d.Status != "ok" {
			failed++
		}
		if jl != nil {
			rec := map[string]any{"type": "delivery", "function": d.Function, "status": d.Status, "correlationId": d.CorrelationID,
				"durationMs": d.DurationMs, "eventId": d.EventID, "attempts": d.Attempts}
			if d.DetailType != "" {
				rec["detailType"] = d.DetailType
			}
			if len(d.Published) > 0 {
				rec["published"] = d.Published
			}
			if d.Error != "" {
				rec["error"] = d.Error
			}
			_ = jl.Write(rec)
			continue
		}
		line := fmt.Sprintf("%-*s  %-6s  %8.1f ms  %s", width, d.Function, d.Status, d.DurationMs, orDash(d.CorrelationID))
		if dtWidth > 0 {
			// shipment ← InventoryReserved  failed ... → ShipmentFailed
			line = fmt.Sprintf("%-*s ← %-*s  %-6s  %8.1f ms  %s", width, d.Function, dtWidth, orDash(d.DetailType), d.Status, d.DurationMs, orDash(d.CorrelationID))
		}
		if len(d.Published) > 0 {
			line += "  → " + strings.Join(d.Published, ", ")
		}
		if d.Attempts > 1 {
			line += fmt.Sprintf("  (%d attempts)", d.Attempts)
		}
		if d.Error != "" {
			line += "  " + d.Error
		}
		code := "32"
		if d.Status != "ok" {
			code = "31"
		}
		writeColored(f.IO.Out, f.IO.ColorEnabled(), code, line)
	}
	return failed
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sendAttempts is how often send tries an entry that failed with a
// retryable code (InternalFailure, ThrottlingException).
const sendAttempts = 4
