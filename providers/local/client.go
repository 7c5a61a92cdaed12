package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/bus"
	"github.com/evcli/evcli/providers/local/store"
)

func pid() int { return os.Getpid() }

// Session is the local provider as a command uses it: the running
// `evcli local serve` of the project when there is one, otherwise an engine
// in this process that lives until Close.
type Session interface {
	// Send publishes events (see Engine.Send).
	Send(ctx context.Context, bus string, evs []providers.Event, wait bool) (SendResult, error)
	// Publish publishes events in flow (any unique id), without waiting.
	Publish(ctx context.Context, flow, bus string, evs []providers.Event) ([]providers.PublishResult, error)
	// Wait waits until nothing of flow is pending and returns its deliveries.
	Wait(ctx context.Context, flow string) ([]store.Delivery, error)
	// Invoke calls one function synchronously.
	Invoke(ctx context.Context, fn string, payload []byte) (providers.InvokeResult, error)
	// Close ends the session. In-process, it first waits for every delivery
	// in progress, so a one-shot `send` exits when the work is done.
	Close(ctx context.Context) error
}

// Connect returns a session on the running server of the project whose
// state is in o.Dir, or starts an engine in this process.
func Connect(ctx context.Context, o Options) (Session, error) {
	if c, ok := Running(ctx, o.Dir); ok {
		return c, nil
	}
	e, err := Start(ctx, o)
	if err != nil {
		return nil, err
	}
	return inProcess{e}, nil
}

// Running returns a client of the project's running server, if one answers.
func Running(ctx context.Context, dir string) (*Client, bool) {
	if _, err := os.Stat(dir); err != nil {
		return nil, false
	}
	db, err := store.Open(dir)
	if err != nil {
		return nil, false
	}
	addr, spid, ok, err := db.Server(ctx)
	db.Close()
	if err != nil || !ok {
		return nil, false
	}
	c := &Client{addr: addr, pid: spid, token: readToken(dir), http: &http.Client{}}
	if c.token == "" {
		return nil, false
	}
	hctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	var h health
	if err := c.do(hctx, http.MethodGet, "health", nil, &h); err != nil || h.PID != spid {
		return nil, false
	}
	return c, true
}

// Client talks to a running `evcli local serve`.
type Client struct {
	addr  string
	pid   int    // the server's process
	token string // from .evcli/serve.token
	http  *http.Client
}

// Addr is the server's host:port.
func (c *Client) Addr() string { return c.addr }

// PID is the server's process id.
func (c *Client) PID() int { return c.pid }

// Adopt asks the server to deliver what this process gave up (HandOff).
func (c *Client) Adopt(ctx context.Context, hs []bus.Handed) (int, error) {
	var res adoptResponse
	err := c.do(ctx, http.MethodPost, "adopt", adoptRequest{PID: pid(), Deliveries: hs}, &res)
	return res.Adopted, err
}

func (c *Client) Close(context.Context) error { return nil }

// Send implements Session.
func (c *Client) Send(ctx context.Context, bus string, evs []providers.Event, wait bool) (SendResult, error) {
	return c.send(ctx, "", bus, evs, wait)
}

// Publish implements Session.
func (c *Client) Publish(ctx context.Context, flow, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	res, err := c.send(ctx, flow, bus, evs, false)
	return res.Results, err
}

// Wait implements Session.
func (c *Client) Wait(ctx context.Context, flow string) ([]store.Delivery, error) {
	var res SendResult
	err := c.do(ctx, http.MethodPost, "wait", waitRequest{Flow: flow}, &res)
	return res.Deliveries, err
}

func (c *Client) send(ctx context.Context, flow, bus string, evs []providers.Event, wait bool) (SendResult, error) {
	req := sendRequest{Bus: bus, Wait: wait, Flow: flow}
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			return SendResult{}, err
		}
		req.Events = append(req.Events, b)
		req.Buses = append(req.Buses, ev.EventBusName)
	}
	var res SendResult
	err := c.do(ctx, http.MethodPost, "send", req, &res)
	return res, err
}

// Invoke implements Session.
func (c *Client) Invoke(ctx context.Context, fn string, payload []byte) (providers.InvokeResult, error) {
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	var res providers.InvokeResult
	err := c.do(ctx, http.MethodPost, "invoke", invokeRequest{Function: fn, Payload: payload}, &res)
	return res, err
}

// Reload asks the server to re-read function fn ("" = all) from the store.
func (c *Client) Reload(ctx context.Context, fn string) error {
	return c.do(ctx, http.MethodPost, "reload?function="+url.QueryEscape(fn), nil, nil)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.addr+apiPrefix+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return &providers.Error{Code: providers.Unavailable, Resource: "local server " + c.addr, Err: err,
			Hint: "is `evcli local serve` still running? stop it and run the command again"}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		code := providers.Unknown
		switch resp.StatusCode {
		case http.StatusNotFound:
			code = providers.NotFound
		case http.StatusBadRequest:
			code = providers.InvalidArgument
		}
		if e.Error == "" {
			e.Error = resp.Status
		}
		return &providers.Error{Code: code, Err: errors.New(e.Error)}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("local server %s: bad response: %w", c.addr, err)
	}
	return nil
}

// inProcess is a Session backed by an engine in this process.
type inProcess struct{ e *Engine }

func (s inProcess) Send(ctx context.Context, bus string, evs []providers.Event, wait bool) (SendResult, error) {
	return s.e.Send(ctx, bus, evs, wait)
}

func (s inProcess) Publish(ctx context.Context, flow, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	return s.e.Publish(ctx, flow, bus, evs)
}

func (s inProcess) Wait(ctx context.Context, flow string) ([]store.Delivery, error) {
	return s.e.Wait(ctx, flow)
}

func (s inProcess) Invoke(ctx context.Context, fn string, payload []byte) (providers.InvokeResult, error) {
	return s.e.Invoke(ctx, fn, payload)
}

func (s inProcess) Close(ctx context.Context) error {
	if s.e.handedOff.Load() {
		return s.e.Close() // closed already: nothing is left to wait for
	}
	err := s.e.Drain(ctx)
	cerr := s.e.Close()
	if err != nil && ctx.Err() != nil {
		return errors.Join(&StoppedError{Pending: s.e.bus.Abandoned(), Err: ctx.Err()}, cerr)
	}
	return errors.Join(err, cerr)
}

// HandOff gives the deliveries still pending in this process to the
// project's running `evcli local serve`, if one answers, so that a one-shot
// command returns at once instead of waiting for them; ok is false when no
// server runs or the engine is still looking for deliveries to redeliver
// (ask again later). It closes the engine first: deliveries in progress
// are cut short and, like queued ones, recorded nowhere (bus.Bus.Close),
// so the store holds each as unfinished whatever happens next; then the
// server is told which they are and schedules them (bus.Bus.Adopt). An
// acknowledged delivery is never lost on the way: if this process dies
// before the server took them, or the server dies before it finished
// them, they are unfinished in the store and the next process that
// delivers alone finishes them (Redeliver), as after kill -9. An attempt
// cut short here runs again there (at least once, as EventBridge).
func (s inProcess) HandOff(ctx context.Context) (providers.HandOff, bool, error) {
	e := s.e
	if e.handedOff.Load() || e.redelivering() || e.bus.Pending() == 0 {
		return providers.HandOff{}, false, nil
	}
	c, ok := Running(ctx, e.o.Dir)
	if !ok {
		return providers.HandOff{}, false, nil
	}
	e.handedOff.Store(true)
	_ = e.bus.Close() // first: nothing more is attempted or recorded here
	left := e.bus.Left()
	cerr := e.Close()
	to := fmt.Sprintf("evcli local serve (pid %d at %s)", c.PID(), c.Addr())
	n, err := c.Adopt(ctx, left)
	if err != nil {
		return providers.HandOff{Deliveries: len(left), To: to}, true, errors.Join(fmt.Errorf(
			"hand %d %s to %s: %w; they are stored, and the next evcli process that delivers alone (a command, or local serve when it starts again) will finish them",
			len(left), plural(len(left), "delivery", "deliveries"), to, err), cerr)
	}
	return providers.HandOff{Deliveries: n, To: to}, true, cerr
}

// StoppedError is what closing an in-process session returns when its
// context ended (Ctrl-C, SIGTERM) before every delivery had finished. The
// deliveries cut short are not failed: nothing is recorded for them, and
// the next evcli process that delivers (send, invoke, replay, local serve)
// finishes them. It unwraps to the context's error.
type StoppedError struct {
	Pending int
	Err     error
}

func (e *StoppedError) Error() string {
	if e.Pending == 0 {
		return "stopped: every delivery had finished"
	}
	return fmt.Sprintf("stopped with %d %s pending: the events are stored, and the next evcli command that delivers (send, invoke, replay) or `evcli local serve` will finish them",
		e.Pending, plural(e.Pending, "delivery", "deliveries"))
}

func (e *StoppedError) Unwrap() error { return e.Err }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Serve runs an engine as the project's server until ctx is done: it
// registers its address in the store so other evcli processes use it.
func Serve(ctx context.Context, o Options, ready func(*Engine)) error {
	if err := checkAddr(o); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return err
	}
	// One server per project: the lease ends with this process, however
	// it ends.
	lease, err := AcquireLease(o.Dir, "local serve")
	if err != nil {
		var held *HeldError
		if errors.As(err, &held) {
			where := ""
			if c, ok := Running(ctx, o.Dir); ok {
				where = " at http://" + c.Addr()
			}
			return fmt.Errorf("a local server for this project is already running%s (evcli process %d, started %s); use it, or stop it first",
				where, held.PID, held.Started.Local().Format(time.RFC3339))
		}
		return err
	}
	defer lease.Release()
	e, err := Start(ctx, o)
	if err != nil {
		return err
	}
	if !IsLoopback(e.Addr()) {
		e.o.Warnf("warning: listening on %s, reachable from other machines (--allow-remote): evcli's own endpoints need the token in .evcli/%s, the AWS endpoints a request signed with it as access key id", e.Addr(), tokenFile)
	}
	if err := writeToken(o.Dir, e.token); err != nil {
		e.Close()
		return fmt.Errorf("local provider: write %s: %w", tokenFile, err)
	}
	defer os.Remove(filepath.Join(o.Dir, tokenFile))
	if err := e.db.SetServer(ctx, e.Addr(), pid()); err != nil {
		e.Close()
		return err
	}
	if ready != nil {
		ready(e)
	}
	<-ctx.Done()
	bg := context.Background()
	_ = e.db.ClearServer(bg, pid())
	// Drain for a bounded time, then leave the rest to the next start:
	// what Close cuts short is not failed but redelivered (bus.Bus.Close).
	drain := o.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	dctx, cancel := context.WithTimeout(bg, drain)
	defer cancel()
	_ = e.Drain(dctx)
	err = e.Close()
	if n := e.bus.Abandoned(); n > 0 {
		e.o.Logf("stopped with %d %s pending: the events are stored, and the next `evcli local serve` or evcli command that delivers will finish them",
			n, plural(n, "delivery", "deliveries"))
	}
	return err
}

// DefaultDrainTimeout is how long Serve lets deliveries finish after it is
// told to stop (Options.DrainTimeout).
const DefaultDrainTimeout = 5 * time.Second

// ReloadServer tells the project's running server, if any, to reload fn.
// It is the reload hook of a Deployer used outside the server.
func ReloadServer(dir string) func(ctx context.Context, fn string) error {
	return func(ctx context.Context, fn string) error {
		if c, ok := Running(ctx, dir); ok {
			return c.Reload(ctx, fn)
		}
		return nil
	}
}
