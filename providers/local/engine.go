package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/bus"
	"github.com/evcli/evcli/providers/local/runtime"
	"github.com/evcli/evcli/providers/local/store"
)

// Options configure an Engine.
type Options struct {
	// Dir is the project's state directory (<project>/.evcli).
	Dir string
	// Region is handed to handlers as AWS_REGION (default us-east-1).
	Region string
	// Addr is where the endpoints listen (default 127.0.0.1:0). An address
	// other machines can reach needs AllowRemote.
	Addr string
	// AllowRemote lets Addr be a non-loopback address (--allow-remote).
	AllowRemote bool
	// Logf reports problems with no caller to return to (default: discard).
	Logf func(format string, args ...any)
	// Warnf tells the user of a problem they should fix, such as a stored
	// rule that no longer compiles (default: standard error).
	Warnf func(format string, args ...any)
	// OnRequest is told of each request the endpoints answer, health
	// checks aside (local serve prints one line each).
	OnRequest func(providers.ServedRequest)
	// DrainTimeout bounds how long Serve waits for deliveries after its
	// context ends (default DefaultDrainTimeout); the rest are left, with
	// no outcome, to the next process.
	DrainTimeout time.Duration
	// Retries and Backoff override the bus's async retry policy (tests).
	Retries int
	Backoff func(attempt int) time.Duration
}

// Engine runs the deployed functions of one project: the Lambda runtime,
// the event bus, the store, and the HTTP endpoints (PutEvents, Lambda
// Invoke, evcli's own) on 127.0.0.1.
type Engine struct {
	wfMu sync.Mutex
	wf   *workflows // runs the executions rules start (nil until one does)

	o    Options
	db   *store.DB
	rt   *runtime.Manager
	bus  *bus.Bus
	logs *logBatcher
	ln   net.Listener
	srv  *http.Server

	// token authenticates the owner (see guard); Serve writes it to
	// .evcli/serve.token for evcli's own commands.
	token string

	lock *deliveryLock
	// redeliver runs Redeliver in the background when this engine started
	// alone (see deliverlock.go); Drain waits for it, Close cancels it.
	redeliverCancel context.CancelFunc
	redeliverDone   chan struct{}
	// sole: no other process was delivering at Start, when the store's
	// last seq was through; Close then marks what this engine stored as
	// delivered (bus.Bus.MarkFinished).
	sole    bool
	through int64

	// refuse holds, by function, why it must not run (a secret without
	// a value); set by Reload.
	refuseMu sync.Mutex
	refuse   map[string]error

	// dbMu guards dbClosed: writes that may come after Close (an
	// invocation's report) check it under RLock.
	dbMu     sync.RWMutex
	dbClosed bool

	// handedOff: HandOff gave the pending deliveries to local serve and
	// closed the engine.
	handedOff atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// Start opens the store under o.Dir, starts the endpoints and loads every
// deployed function.
func Start(ctx context.Context, o Options) (*Engine, error) {
	if o.Region == "" {
		o.Region = runtime.DefaultRegion
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if err := checkAddr(o); err != nil {
		return nil, err
	}
	if o.Warnf == nil {
		o.Warnf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	db, err := store.Open(o.Dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{o: o, db: db, token: newToken()}
	// Take the delivery lock before anything can be published: when no
	// other process is delivering, every event stored so far whose delivery
	// has no final outcome was left by a killed process.
	var (
		through int64
		sole    bool
	)
	e.lock, sole, err = acquireDeliveryLock(o.Dir, func() error {
		var err error
		through, err = db.LastEventSeq(ctx)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	e.sole, e.through = sole, through
	e.logs = newLogBatcher(db, o.Logf)
	e.ln, err = net.Listen("tcp", o.Addr)
	if err != nil {
		e.lock.release()
		db.Close()
		return nil, fmt.Errorf("local provider: listen on %s: %w", o.Addr, err)
	}
	endpoint := "http://" + e.ln.Addr().String()
	e.rt, err = runtime.New(runtime.Options{
		Logs: func(l runtime.LogLine) {
			e.logs.add(providers.LogLine{Time: l.Time, Provider: "local", Function: l.Function,
				RequestID: l.RequestID, Stream: l.InstanceID, Message: l.Text, CorrelationID: l.CorrelationID})
		},
		Reports: func(r providers.InvocationRecord) {
			// An invocation cut short by Close reports after the runtime
			// stopped, maybe after the store closed: drop its record then.
			e.dbMu.RLock()
			defer e.dbMu.RUnlock()
			if e.dbClosed {
				return
			}
			if err := db.AppendInvocation(context.Background(), r); err != nil {
				o.Logf("local provider: record invocation of %s: %v", r.Function, err)
			}
		},
		BaseEnv: map[string]string{
			"AWS_ENDPOINT_URL_EVENTBRIDGE": endpoint,
			"AWS_ENDPOINT_URL_LAMBDA":      endpoint,
			"AWS_REGION":                   o.Region,
			"AWS_DEFAULT_REGION":           o.Region,
		},
		TempDir: filepath.Join(o.Dir, "runtime"),
		Warnf:   o.Warnf,
	})
	if err != nil {
		e.ln.Close()
		db.Close()
		e.lock.release()
		return nil, err
	}
	e.bus, err = bus.New(bus.Options{
		Store:      db,
		Invoker:    busInvoker{e},
		NewMatcher: bus.NewFilterMatcher(o.Warnf),
		Region:     o.Region,
		Retries:    o.Retries,
		Backoff:    o.Backoff,
		Logf:       o.Logf,
	})
	if err != nil {
		e.rt.Close()
		e.ln.Close()
		db.Close()
		e.lock.release()
		return nil, err
	}
	if err := e.Reload(ctx, ""); err != nil {
		e.Close()
		return nil, err
	}
	if sole && through > 0 {
		e.startRedeliver(through)
	}
	e.srv = &http.Server{Handler: e.logRequests(e.guard(e.handler())), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := e.srv.Serve(e.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.Logf("local provider: serve: %v", err)
		}
	}()
	return e, nil
}

// Addr is the host:port of the endpoints.
func (e *Engine) Addr() string { return e.ln.Addr().String() }

// DB is the engine's store.
func (e *Engine) DB() *store.DB { return e.db }

// Bus is the engine's event bus.
func (e *Engine) Bus() *bus.Bus { return e.bus }

// Reload re-reads function fn ("" for all) from the store into the runtime,
// removing functions that are gone, and reloads the bus's rules.
func (e *Engine) Reload(ctx context.Context, fn string) error {
	recs, err := e.db.Functions(ctx)
	if err != nil {
		return err
	}
	secrets, err := readSecrets(ctx, e.db)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Name] = true
		if fn != "" && r.Name != fn {
			continue
		}
		env := map[string]string{}
		for k, v := range r.Env {
			env[k] = v
		}
		// The values evcli deploy read, never this process's environment.
		sr := secrets[r.Name]
		for k, v := range sr.Values {
			env[k] = v
		}
		e.setRefusal(r.Name, missingSecretError(r.Name, sr))
		spec := runtime.FunctionSpec{
			Name: r.Name, Runtime: r.Runtime, Handler: r.Handler, Architecture: r.Architecture,
			CodeDir: r.CodeDir, MemoryMB: r.MemoryMB, TimeoutS: r.TimeoutS, Concurrency: r.Concurrency,
			Env: env, CodeSha256: r.CodeSha256,
		}
		if err := e.rt.Deploy(spec); err != nil {
			return fmt.Errorf("load function %s: %w", r.Name, err)
		}
	}
	for _, s := range e.rt.Functions() {
		if !have[s.Name] && (fn == "" || fn == s.Name) {
			_ = e.rt.Remove(s.Name)
			e.setRefusal(s.Name, nil)
		}
	}
	return e.bus.Reload(ctx)
}

// setRefusal records why fn must not run (nil: it may).
func (e *Engine) setRefusal(fn string, err error) {
	e.refuseMu.Lock()
	defer e.refuseMu.Unlock()
	if err == nil {
		delete(e.refuse, fn)
		return
	}
	if e.refuse == nil {
		e.refuse = map[string]error{}
	}
	e.refuse[fn] = err
}

// refusal says why fn must not run, or nil: its deployment lacks a
// secret's value (see secrets.go).
func (e *Engine) refusal(fn string) error {
	e.refuseMu.Lock()
	defer e.refuseMu.Unlock()
	return e.refuse[fn]
}

// Invoke calls fn synchronously.
func (e *Engine) Invoke(ctx context.Context, fn string, payload []byte) (providers.InvokeResult, error) {
	if err := e.refusal(fn); err != nil {
		return providers.InvokeResult{}, err
	}
	res, err := e.rt.Invoke(ctx, fn, payload)
	e.logs.flush()
	if err != nil {
		return providers.InvokeResult{}, err
	}
	return providers.InvokeResult{RequestID: res.RequestID, Payload: res.Payload, FunctionError: res.FunctionError,
		LogTail: res.Logs, DurationMs: res.DurationMs}, nil
}

// SendResult is what Send returns: one result per event and, when it
// waited, the final outcome of every delivery the events caused.
type SendResult struct {
	Results    []providers.PublishResult `json:"results"`
	Deliveries []store.Delivery          `json:"deliveries,omitempty"`
}

// Send publishes events on busName ("" = each event's own or "default") in a
// new flow. With wait it returns once every delivery they caused, directly
// or through events the functions published, has finished.
func (e *Engine) Send(ctx context.Context, busName string, evs []providers.Event, wait bool) (SendResult, error) {
	flow := e.bus.NewFlow()
	res, err := e.Publish(ctx, flow, busName, evs)
	out := SendResult{Results: res}
	if err != nil || !wait {
		return out, err
	}
	out.Deliveries, err = e.Wait(ctx, flow)
	return out, err
}

// Publish publishes events in flow (any id; see bus.Bus.PublishInFlow), on
// busName or each event's own bus.
func (e *Engine) Publish(ctx context.Context, flow, busName string, evs []providers.Event) ([]providers.PublishResult, error) {
	byBus := map[string][]int{}
	var order []string
	for i, ev := range evs {
		b := busName
		if b == "" {
			b = ev.EventBusName
		}
		if b == "" {
			b = "default"
		}
		if _, ok := byBus[b]; !ok {
			order = append(order, b)
		}
		byBus[b] = append(byBus[b], i)
	}
	out := make([]providers.PublishResult, len(evs))
	for _, b := range order {
		idx := byBus[b]
		batch := make([]providers.Event, len(idx))
		for j, i := range idx {
			batch[j] = evs[i]
		}
		res, err := e.bus.PublishInFlow(ctx, flow, b, batch)
		if err != nil {
			return out, err
		}
		for j, i := range idx {
			out[i] = res[j]
		}
	}
	return out, nil
}

// Wait waits until nothing of flow is pending and returns its deliveries.
func (e *Engine) Wait(ctx context.Context, flow string) ([]store.Delivery, error) {
	d, err := e.bus.Wait(ctx, flow)
	e.logs.flush()
	return d, err
}

// Adopt delivers, in a flow of its own, what evcli process pid gave up
// for this engine to finish (bus.Bus.Adopt; see HandOff).
func (e *Engine) Adopt(ctx context.Context, pid int, hs []bus.Handed) (int, error) {
	n, err := e.bus.Adopt(ctx, e.bus.NewFlow(), hs)
	if n > 0 {
		e.o.Logf("took over %d %s from evcli process %d", n, plural(n, "delivery", "deliveries"), pid)
	}
	return n, err
}

// Pending is how many deliveries Drain would wait for; at least 1 while
// the redelivery begun at Start is still looking for work.
func (e *Engine) Pending() int {
	n := e.bus.Pending()
	if n == 0 && e.redelivering() {
		n = 1
	}
	return n
}

func (e *Engine) redelivering() bool {
	if e.redeliverDone == nil {
		return false
	}
	select {
	case <-e.redeliverDone:
		return false
	default:
		return true
	}
}

// startRedeliver schedules, in the background and in a flow of its own,
// the deliveries of the events stored through seq through that killed
// processes left unfinished (bus.Bus.Redeliver).
func (e *Engine) startRedeliver(through int64) {
	ctx, cancel := context.WithCancel(context.Background())
	e.redeliverCancel, e.redeliverDone = cancel, make(chan struct{})
	go func() {
		defer close(e.redeliverDone)
		n, err := e.bus.Redeliver(ctx, e.bus.NewFlow(), time.Time{}, through)
		if n > 0 {
			e.o.Logf("local provider: redelivering %d deliveries that a stopped evcli process left unfinished", n)
		}
		if err != nil && ctx.Err() == nil {
			e.o.Logf("local provider: redeliver: %v", err)
		}
	}()
}

// Drain waits for every delivery in progress, including those redelivered
// at Start.
func (e *Engine) Drain(ctx context.Context) error {
	if e.redeliverDone != nil {
		select {
		case <-e.redeliverDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := e.bus.Drain(ctx)
	if wf := e.workflowRunner(false); wf != nil && err == nil {
		err = wf.wait(ctx)
	}
	e.logs.flush()
	return err
}

// Close stops the endpoints, the bus and every instance, and closes the
// store. Call Drain first to let deliveries finish.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if e.srv != nil {
			_ = e.srv.Shutdown(ctx)
		} else {
			_ = e.ln.Close()
		}
		if e.redeliverCancel != nil {
			e.redeliverCancel()
			<-e.redeliverDone
		}
		if wf := e.workflowRunner(false); wf != nil {
			// executions still running stop at their current state, RUNNING
			// for the next process (Drain first lets them finish)
			wf.close(ctx)
		}
		errs := []error{e.bus.Close(), e.rt.Close()}
		if e.sole {
			// Every delivery is recorded now: spare the next lone process a
			// scan of what this one stored (a replay's worth, say). Counting
			// those events costs a fraction of that scan.
			mctx, mcancel := context.WithTimeout(context.Background(), time.Minute)
			_, err := e.bus.MarkFinished(mctx, e.through)
			mcancel()
			if err != nil {
				e.o.Logf("local provider: record finished deliveries: %v", err)
			}
		}
		e.logs.close()
		e.dbMu.Lock()
		e.dbClosed = true
		errs = append(errs, e.db.Close())
		e.dbMu.Unlock()
		e.lock.release()
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// busInvoker runs the bus's deliveries on the runtime, binding each
// invocation's request id to the delivery's flow before the handler runs
// and tagging its log lines with the delivery's correlation id.
type busInvoker struct{ e *Engine }

func (i busInvoker) Invoke(ctx context.Context, fn string, payload []byte) (bus.InvokeOutcome, error) {
	if wf, ok := strings.CutPrefix(fn, workflowTarget); ok {
		// a rule targeting a workflow starts an execution (asynchronously,
		// as EventBridge's StartExecution does) and the delivery is done
		return bus.InvokeOutcome{}, i.e.startWorkflow(ctx, wf, payload)
	}
	if err := i.e.refusal(fn); err != nil {
		return bus.InvokeOutcome{}, &bus.FinalError{Err: err} // only a deploy cures it
	}
	res, err := i.e.rt.InvokeWithOptions(ctx, fn, payload, runtime.InvokeOptions{
		OnStart: func(requestID string) { bus.BindRequest(ctx, requestID) },
		// every line of the invocation is stored with the delivery's
		// correlation id, START and REPORT included
		CorrelationID: bus.CorrelationFromContext(ctx),
	})
	if err != nil {
		return bus.InvokeOutcome{}, err
	}
	out := bus.InvokeOutcome{FunctionError: res.FunctionError, ErrorType: res.ErrorType, DurationMs: res.DurationMs}
	if res.FunctionError != "" {
		var doc struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(res.Payload, &doc)
		out.ErrorMessage = doc.ErrorMessage
	}
	return out, nil
}

// accessKeyOf returns the access key id of a SigV4-signed request.
func accessKeyOf(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		return ""
	}
	cred := auth[i+len("Credential="):]
	if j := strings.IndexByte(cred, '/'); j >= 0 {
		return cred[:j]
	}
	return ""
}
