package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local"
	"github.com/evcli/evcli/providers/local/store"
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

On the local provider each event is stored durably first, then delivered to every
function whose rule matches. With --wait, evcli waits until every delivery the events
caused has finished, including deliveries of events the functions published in turn,
and prints one line per delivery.

On AWS the events go to EventBridge with PutEvents, at most 10 entries and 256 KB a
request. Entries that fail with a retryable code (InternalFailure, ThrottlingException)
are sent again with backoff, up to 4 attempts; entries that still fail are listed with
their index in the file, error code and message, and send exits 1. --wait is local-only.`,
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
	b, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, name, cmdutil.UsageError("%s: no such file", name)
		}
		return nil, name, err
	}
	return b, name, nil
}

func runSend(ctx context.Context, f *cmdutil.Factory, o sendOptions) error {
	p, err := f.Project()
	if err != nil {
		return err
	}
	if err := providerOf(p, "send"); err != nil {
		return err
	}
	if p.Provider == "aws" && o.Wait {
		return cmdutil.UsageError("--wait works on the local provider only: on AWS, EventBridge and Lambda deliver asynchronously; follow the deliveries with evcli tail")
	}
	data, name, err := readInput(f, o.File)
	if err != nil {
		return err
	}
	evs, err := providers.ParseEvents(name, data)
	if err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Msg: err.Error(), Err: err}
	}
	for i := range evs {
		if o.Bus != "" {
			evs[i].EventBusName = o.Bus
		} else if evs[i].EventBusName == "" {
			evs[i].EventBusName = p.Bus
		}
	}
	if p.Provider == "aws" {
		return sendAWS(ctx, f, evs)
	}
	s, err := local.Connect(ctx, localOptions(f, p))
	if err != nil {
		return err
	}
	wctx := ctx
	if o.Wait && o.Timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	res, sendErr := s.Send(wctx, "", evs, o.Wait)
	if sendErr != nil {
		_ = s.Close(ctx)
		if errors.Is(sendErr, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("gave up waiting after %s (--timeout): deliveries are still running", o.Timeout)
		}
		return sendErr
	}
	// The events are stored: say so before waiting for the deliveries of a
	// one-shot session, so an acknowledged event is one the store holds.
	failed := printSendResult(f, evs, res, nil)
	if err := s.Close(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	if failed > 0 {
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

// printSendResult prints the events and deliveries and returns how many
// entries or deliveries failed.
// attempts, when not nil, is how many PutEvents attempts each entry took.
func printSendResult(f *cmdutil.Factory, evs []providers.Event, res local.SendResult, attempts []int) int {
	failed := 0
	var jl *cmdutil.JSONLines
	if f.Globals.JSON() {
		jl = cmdutil.NewJSONLines(f.IO.Out, "send")
	}
	for i, r := range res.Results {
		ev := evs[i]
		if r.ErrorCode != "" {
			failed++
		}
		if jl != nil {
			rec := map[string]any{"type": "event", "id": r.EventID, "source": ev.Source, "detailType": ev.DetailType, "bus": ev.EventBusName}
			if r.ErrorCode != "" {
				rec["index"], rec["errorCode"], rec["errorMessage"] = i, r.ErrorCode, r.ErrorMsg
			}
			if attempts != nil {
				rec["attempts"] = attempts[i]
			}
			_ = jl.Write(rec)
			continue
		}
		if r.ErrorCode != "" {
			after := ""
			if attempts != nil && attempts[i] > 1 {
				after = fmt.Sprintf(" (after %d attempts)", attempts[i])
			}
			fmt.Fprintf(f.IO.ErrOut, "event %d (%s %s) not sent: %s: %s%s\n", i, ev.Source, ev.DetailType, r.ErrorCode, r.ErrorMsg, after)
		} else {
			fmt.Fprintf(f.IO.ErrOut, "sent %s %s %s\n", r.EventID, ev.Source, ev.DetailType)
		}
	}
	return failed + printDeliveries(f, f.Globals.JSON(), jl, res.Deliveries)
}

// printDeliveries prints one line (or JSON record) per delivery and returns
// how many failed. jl may be nil for a stream that has not started.
func printDeliveries(f *cmdutil.Factory, asJSON bool, jl *cmdutil.JSONLines, dels []store.Delivery) int {
	if asJSON && jl == nil && len(dels) > 0 {
		jl = cmdutil.NewJSONLines(f.IO.Out, "deliveries")
	}
	failed := 0
	width := 0
	for _, d := range dels {
		width = max(width, len(d.Function))
	}
	for _, d := range dels {
		if d.Status != "ok" {
			failed++
		}
		if jl != nil {
			rec := map[string]any{"type": "delivery", "function": d.Function, "status": d.Status, "correlationId": d.CorrelationID,
				"durationMs": d.DurationMs, "eventId": d.EventID, "attempts": d.Attempts}
			if d.Error != "" {
				rec["error"] = d.Error
			}
			_ = jl.Write(rec)
			continue
		}
		line := fmt.Sprintf("%-*s  %-6s  %8.1f ms  %s", width, d.Function, d.Status, d.DurationMs, orDash(d.CorrelationID))
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

// maxPutEventsBytes is PutEvents' limit on a request's entries (and so on
// one entry), counted as EventBridge counts them.
const maxPutEventsBytes = 256 * 1024

// putEntrySize is an entry's size as EventBridge computes it: 14 bytes for
// the time, plus the UTF-8 bytes of source, detail-type, detail and each
// resource.
func putEntrySize(ev providers.Event) int {
	n := len(ev.Source) + len(ev.DetailType) + len(ev.Detail)
	if len(bytes.TrimSpace(ev.Detail)) == 0 {
		n += 2 // sent as {}
	}
	if !ev.Time.IsZero() {
		n += 14
	}
	for _, r := range ev.Resources {
		n += len(r)
	}
	return n
}

// retryablePutCode reports whether a PutEvents entry error is transient.
func retryablePutCode(code string) bool {
	return code == "InternalFailure" || code == "InternalException" || code == "ServiceUnavailable" ||
		strings.Contains(code, "Throttl")
}

// sendAWS puts evs on EventBridge: requests of at most 10 entries and 256 KB,
// entries that failed with a retryable code sent again with backoff, and
// every entry that still failed reported with its index, code and message.
func sendAWS(ctx context.Context, f *cmdutil.Factory, evs []providers.Event) error {
	for i, ev := range evs {
		if n := putEntrySize(ev); n > maxPutEventsBytes {
			return cmdutil.UsageError("event %d (%s %s) is %d bytes: PutEvents takes at most %d bytes per entry; nothing was sent", i, ev.Source, ev.DetailType, n, maxPutEventsBytes)
		}
	}
	bus, err := f.Open.EventBus(ctx)
	if err != nil {
		return err
	}
	results := make([]providers.PublishResult, len(evs))
	attempts := make([]int, len(evs))
	pending := make([]int, len(evs))
	for i := range pending {
		pending[i] = i
	}
	var callErr error
	backoff := 200 * time.Millisecond
	for attempt := 1; len(pending) > 0; attempt++ {
		var retry []int
		for start := 0; start < len(pending) && callErr == nil; {
			// One request: at most 10 entries and 256 KB.
			end, size := start, 0
			for end < len(pending) && end-start < 10 {
				n := putEntrySize(evs[pending[end]])
				if end > start && size+n > maxPutEventsBytes {
					break
				}
				size += n
				end++
			}
			idx := pending[start:end]
			batch := make([]providers.Event, len(idx))
			for j, i := range idx {
				batch[j] = evs[i]
			}
			res, err := bus.Publish(ctx, "", batch)
			for j, r := range res {
				i := idx[j]
				results[i], attempts[i] = r, attempt
				if r.ErrorCode != "" && retryablePutCode(r.ErrorCode) {
					retry = append(retry, i)
				}
			}
			if err != nil {
				callErr = err
				// Entries without an answer keep their earlier failure, if any.
				for _, i := range idx[len(res):] {
					if attempts[i] == 0 {
						results[i] = providers.PublishResult{ErrorCode: "NotSent", ErrorMsg: "the PutEvents call failed"}
					}
				}
				for _, i := range pending[end:] {
					if attempts[i] == 0 {
						results[i] = providers.PublishResult{ErrorCode: "NotSent", ErrorMsg: "not attempted after an earlier PutEvents call failed"}
					}
				}
			}
			start = end
		}
		if callErr != nil || len(retry) == 0 || attempt == sendAttempts {
			break
		}
		if f.Globals.Debug {
			fmt.Fprintf(f.IO.ErrOut, "debug: %d entries failed with a retryable code; retrying in %s\n", len(retry), backoff)
		}
		if err := f.Sleep(ctx, backoff); err != nil {
			return err
		}
		backoff *= 2
		pending = retry
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	failed := printSendResult(f, evs, local.SendResult{Results: results}, attempts)
	if callErr != nil {
		return callErr
	}
	if failed > 0 {
		if !f.Globals.JSON() {
			fmt.Fprintf(f.IO.ErrOut, "%d of %d events not sent\n", failed, len(evs))
		}
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}
