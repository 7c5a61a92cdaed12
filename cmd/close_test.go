package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
)

// drainingProvider stands in for an in-process local provider whose Close
// drains deliveries: the closer waits until its context ends (or, so that
// a regression fails instead of hanging, a safety minute). onClose runs
// first, with the closer's context.
type drainingProvider struct {
	onClose  func(ctx context.Context)
	closedBy chan string
}

func (d *drainingProvider) Publish(_ context.Context, _ string, evs []providers.Event) ([]providers.PublishResult, error) {
	out := make([]providers.PublishResult, len(evs))
	for i := range out {
		out[i].EventID = "id"
	}
	return out, nil
}

func (d *drainingProvider) Wait(ctx context.Context) ([]providers.Delivery, error) {
	<-ctx.Done() // deliveries still running
	return nil, ctx.Err()
}

func (d *drainingProvider) Invoke(context.Context, string, []byte) (providers.InvokeResult, error) {
	return providers.InvokeResult{Payload: []byte(`{}`)}, nil
}

func (d *drainingProvider) open() *providers.Provider {
	p := &providers.Provider{Bus: d, Waiter: d, Invoker: d}
	p.OnClose(func(ctx context.Context) error {
		if d.onClose != nil {
			d.onClose(ctx)
		}
		if ctx.Done() == nil {
			d.closedBy <- "a context that never ends"
			return nil
		}
		select {
		case <-ctx.Done():
			d.closedBy <- "context ended"
			return errors.New("stopped with 1 delivery pending: the next evcli command will finish it")
		case <-time.After(time.Minute):
			d.closedBy <- "safety minute"
			return nil
		}
	})
	return p
}

// TestSendTimeoutDoesNotWaitInClose: when --wait's --timeout runs out,
// send does not go on waiting for the deliveries in Close (it took 10.7 s
// for a 1 s timeout): Close gets the expired context and says what it
// left pending.
func TestSendTimeoutDoesNotWaitInClose(t *testing.T) {
	e := newAWSCmdEnv(t)
	d := &drainingProvider{closedBy: make(chan string, 2)}
	e.f.OpenProvider = openAs(d.open)
	file := filepath.Join(e.dir, "ev.json")
	os.WriteFile(file, []byte(`{"source":"shop","detail-type":"X","detail":{}}`), 0o644)
	if code := e.run("send", file, "--wait", "--timeout", "50ms"); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, e.errOut)
	}
	if got := <-d.closedBy; got != "context ended" {
		t.Fatalf("Close ended by %s, want by the expired --timeout", got)
	}
	for _, want := range []string{"stopped with 1 delivery pending", "gave up waiting after 50ms (--timeout)"} {
		if !strings.Contains(e.errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, e.errOut)
		}
	}
}

// TestCloseIsCancellableForEveryCommand: Ctrl-C while a command's provider
// drains in Close ends the drain (exit 130, saying what is pending) for
// commands other than send too; a normal exit still lets Close finish.
func TestCloseIsCancellableForEveryCommand(t *testing.T) {
	e := newAWSCmdEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := &drainingProvider{closedBy: make(chan string, 2), onClose: func(context.Context) { cancel() }} // Ctrl-C during the drain
	e.f.OpenProvider = openAs(d.open)
	e.out, e.errOut = &syncBuf{}, &syncBuf{}
	e.f.IO.Out, e.f.IO.ErrOut = e.out, e.errOut
	if code := Run(ctx, e.f, []string{"invoke", "inventory"}); code != cmdutil.ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, e.errOut)
	}
	if got := <-d.closedBy; got != "context ended" {
		t.Fatalf("Close ended by %s, want by Ctrl-C", got)
	}
	if !strings.Contains(e.errOut.String(), "stopped with 1 delivery pending") {
		t.Errorf("stderr lacks what is pending:\n%s", e.errOut)
	}

	// A normal exit: Close runs to its end with a live context.
	finished := make(chan bool, 1)
	p := &providers.Provider{Invoker: d}
	p.OnClose(func(ctx context.Context) error { finished <- ctx.Err() == nil; return nil })
	e.f.OpenProvider = openAs(func() *providers.Provider { return p })
	if code := e.run("invoke", "inventory"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	if !<-finished {
		t.Fatal("Close of a normal exit got an ended context")
	}
}

// fakeClock is a clock whose Sleep returns at once, moving time on by
// the duration asked: a wait loop runs its ticks instantly and in order.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// scriptedDrainer stands in for an in-process local engine's deliveries:
// Pending answers the counts of pending in turn (then the last again);
// HandOff finds a server at its handAt-th call (0: never) and then fails
// with handErr, if set. Drain waits until its context ends: the loop, not
// the drain, decides when the wait is over.
type scriptedDrainer struct {
	mu       sync.Mutex
	pending  []int
	handAt   int
	handErr  error
	handoffs int
}

func (d *scriptedDrainer) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.pending[0]
	if len(d.pending) > 1 {
		d.pending = d.pending[1:]
	}
	return n
}

func (d *scriptedDrainer) Drain(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (d *scriptedDrainer) HandOff(context.Context) (providers.HandOff, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.handoffs++
	if d.handAt == 0 || d.handoffs < d.handAt {
		return providers.HandOff{}, false, nil
	}
	return providers.HandOff{Deliveries: 5, To: "evcli local serve (pid 4242 at 127.0.0.1:4010)"}, true, d.handErr
}

// sendWithDrainer runs `evcli send` of one event on a provider whose
// deliveries d stands in for, on a fake clock, and returns the exit code
// and the lines of stderr after the "sent" line.
func sendWithDrainer(t *testing.T, d *scriptedDrainer) (int, []string) {
	t.Helper()
	e := newAWSCmdEnv(t)
	clk := &fakeClock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	e.f.Now, e.f.Sleep = clk.Now, clk.Sleep
	bus := &drainingProvider{}
	e.f.OpenProvider = openAs(func() *providers.Provider {
		return &providers.Provider{Bus: bus, Drainer: d}
	})
	file := filepath.Join(e.dir, "ev.json")
	os.WriteFile(file, []byte(`{"source":"shop","detail-type":"X","detail":{}}`), 0o644)
	code := e.run("send", file)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(e.errOut.String()), "\n") {
		if !strings.HasPrefix(l, "sent ") {
			lines = append(lines, l)
		}
	}
	return code, lines
}

// TestSendSaysWhatItWaitsFor: a send whose deliveries run in this process
// says, after a second and then every 5 s, how many it is waiting for, and
// nothing once they are done (fake clock: one tick a second).
func TestSendSaysWhatItWaitsFor(t *testing.T) {
	// Read at the start, then once a tick (t = 0 s, 1 s, 2 s, ...).
	d := &scriptedDrainer{pending: []int{48, 48, 48, 30, 30, 30, 30, 30, 12, 0}}
	code, lines := sendWithDrainer(t, d)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, strings.Join(lines, "\n"))
	}
	const hint = " to finish… (Ctrl-C leaves them to the next evcli command that delivers; a running evcli local serve takes them over)"
	want := []string{"waiting for 48 deliveries" + hint, "waiting for 30 deliveries" + hint}
	if !slices.Equal(lines, want) {
		t.Fatalf("stderr after sent:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if d.handoffs != 8 {
		t.Errorf("asked for a server %d times, want once a tick while deliveries were pending (8)", d.handoffs)
	}

	// Deliveries that finish within the first second: not a word.
	if code, lines := sendWithDrainer(t, &scriptedDrainer{pending: []int{3, 3, 0}}); code != 0 || len(lines) != 0 {
		t.Fatalf("quick deliveries: exit %d, stderr %q; want 0 and nothing", code, lines)
	}
	// Nothing pending: no loop at all.
	if d := (&scriptedDrainer{pending: []int{0}}); func() int { sendWithDrainer(t, d); return d.handoffs }() != 0 {
		t.Fatal("looked for a server with nothing pending")
	}
}

// TestSendHandsItsDeliveriesToLocalServe: once a local serve answers,
// send hands it what is pending and returns at once, saying so; a failed
// hand-off is an error that says where the deliveries went.
func TestSendHandsItsDeliveriesToLocalServe(t *testing.T) {
	code, lines := sendWithDrainer(t, &scriptedDrainer{pending: []int{5}, handAt: 3})
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, strings.Join(lines, "\n"))
	}
	want := []string{
		"waiting for 5 deliveries to finish… (Ctrl-C leaves them to the next evcli command that delivers; a running evcli local serve takes them over)",
		"handed 5 deliveries to evcli local serve (pid 4242 at 127.0.0.1:4010), which delivers them; follow them with: evcli tail",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("stderr after sent:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	code, lines = sendWithDrainer(t, &scriptedDrainer{pending: []int{5}, handAt: 1, handErr: errors.New("hand 5 deliveries to evcli local serve: connection refused; they are stored")})
	if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "connection refused; they are stored") {
		t.Fatalf("failed hand-off: exit %d, stderr %q; want exit 1 with the error", code, lines)
	}
}
