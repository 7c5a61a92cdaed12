package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
