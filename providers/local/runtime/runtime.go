package runtime

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/evcli/evcli/providers"

	"github.com/evcli/evcli/internal/suggest"
)

// Supported runtime identifiers.
const (
	ProvidedAL2023 = "provided.al2023"
	ProvidedAL2    = "provided.al2"
	NodeJS20       = "nodejs20.x"
	NodeJS22       = "nodejs22.x"
	Python312      = "python3.12"
	Python313      = "python3.13"
)

// Runtimes lists the runtime identifiers Deploy accepts.
var Runtimes = []string{ProvidedAL2023, ProvidedAL2, NodeJS20, NodeJS22, Python312, Python313}

// Lambda's defaults and limits.
const (
	DefaultMemoryMB    = 128
	DefaultTimeoutS    = 3
	DefaultConcurrency = 10
	MinMemoryMB        = 128
	MaxMemoryMB        = 10240
	MaxTimeoutS        = 900
	// MaxRequestPayload is the largest synchronous invoke payload (6 MB).
	MaxRequestPayload = 6291456
	// MaxResponsePayload is the largest response a runtime may post.
	MaxResponsePayload = 6291556
	// InitTimeout bounds the init phase (process start to first /next).
	InitTimeout = 10 * time.Second
	// DefaultAccountID is the account in the ARNs handed to handlers.
	DefaultAccountID = "000000000000"
	// DefaultRegion is used when BaseEnv sets no AWS_REGION.
	DefaultRegion = "us-east-1"
)

// FunctionSpec describes one deployed function.
type FunctionSpec struct {
	Name, Runtime, Handler, Architecture string // runtime: one of Runtimes
	// CodeDir is the directory holding the unpacked artifact: the bootstrap
	// binary, or the node/python sources.
	CodeDir string
	// MemoryMB (default 128), TimeoutS (default 3) and Concurrency, the most
	// simultaneous instances (default 10).
	MemoryMB, TimeoutS, Concurrency int
	// Env is the function's environment, secrets already resolved.
	Env map[string]string
	// CodeSha256 identifies the code: deploying another one replaces the
	// instances.
	CodeSha256 string
}

// LogLine is one log line of an instance.
type LogLine struct {
	Time                                  time.Time
	Function, RequestID, InstanceID, Text string // Text has no trailing newline
	// CorrelationID is InvokeOptions.CorrelationID of the invocation the
	// line belongs to (the same one as RequestID): every line, START to
	// REPORT, the handler's plain text and the runtime's error lines.
	CorrelationID string
}

// Options configures a Manager. All fields are optional.
type Options struct {
	// Logs receives every line: START/END/REPORT and the handler's
	// stdout/stderr, in order per instance. It is called synchronously and
	// should not block for long.
	Logs func(LogLine)
	// Reports receives one record per invocation.
	Reports func(providers.InvocationRecord)
	// BaseEnv is added to every instance's environment (under the
	// function's own Env): AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_REGION, ...
	BaseEnv map[string]string
	// Now is the clock for log times and durations (default time.Now).
	Now func() time.Time
	// TempDir is where the embedded bootstraps are written (default
	// os.TempDir()).
	TempDir string
	// Node and Python are the interpreters (default "node" and "python3",
	// looked up in PATH).
	Node, Python string
	// AccountID is used in the function ARNs (default 000000000000).
	AccountID string
	// Started, when set, is called with the pid of each instance process
	// right after it starts (before its init runs far): tune's probe moves
	// it into a CPU-limited cgroup, whose limit its children inherit.
	Started func(fn string, pid int)
	// Warnf, when set, is told what the user should know, such as a
	// python3.12 function running on another installed Python (once per
	// function per process).
	Warnf func(format string, args ...any)
	// IdleTimeout stops an instance that has had no invocation for that
	// long, as Lambda reclaims idle execution environments (default 10
	// minutes; negative: never).
	IdleTimeout time.Duration
}

// DefaultIdleTimeout is Options.IdleTimeout's default.
const DefaultIdleTimeout = 10 * time.Minute

// Result is the outcome of one synchronous invocation.
type Result struct {
	RequestID string
	// Payload is the response body, or Lambda's error JSON
	// {"errorMessage","errorType","stackTrace"?}.
	Payload []byte
	// FunctionError is "" on success and "Unhandled" on any function error
	// (as Lambda's X-Amz-Function-Error header).
	FunctionError string
	// ErrorType is the error's type: the handler's ("Error", "ValueError",
	// "errorString") or Lambda's own ("Sandbox.Timedout",
	// "Runtime.OutOfMemory", "Runtime.ExitError", ...).
	ErrorType        string
	DurationMs       float64
	BilledDurationMs int64
	MaxMemoryUsedMB  int
	InitDurationMs   float64 // zero when warm
	CPUTimeMs        float64
	CPUWaitMs        float64 // runnable but waiting for a CPU (this machine's contention)
	InstanceID       string
	// Logs are this invocation's log lines, START to REPORT (with the init
	// output on a cold start).
	Logs []string
}

// InvokeOptions carries the optional parts of an invocation.
type InvokeOptions struct {
	// ClientContext and CognitoIdentity are JSON documents passed to the
	// runtime in the Lambda-Runtime-Client-Context and
	// Lambda-Runtime-Cognito-Identity headers.
	ClientContext, CognitoIdentity string
	// TraceID is the X-Ray trace header; one is generated when empty.
	TraceID string
	// OnStart, when set, is called with the request id an invocation gets,
	// before the handler sees it (the bus binds the id to a delivery's flow,
	// so events the handler publishes join that flow). It is called once:
	// the id stays the same when an instance dies before taking the request
	// and another one serves it.
	OnStart func(requestID string)
	// CorrelationID is the correlation id of the flow the invocation serves
	// (the bus's delivery), "" when none is known. Every log line of the
	// invocation carries it (LogLine.CorrelationID), so a plain-text line
	// such as START belongs to its flow without waiting for a JSON line
	// that names it.
	CorrelationID string
}

// Manager runs the deployed functions' instances.
type Manager struct {
	o Options

	mu       sync.Mutex
	closed   bool
	fns      map[string]*function
	byKey    map[string]*instance // access key id -> instance
	all      map[*instance]struct{}
	versions map[string]string // family + interpreter -> its version
	scriptMu sync.Mutex
}

// function is a deployed function and its instances. Its fields are guarded
// by Manager.mu.
type function struct {
	spec    FunctionSpec
	gen     uint64 // bumped when the spec changes: older instances retire
	removed bool
	idle    []*instance     // warm, current generation, most recent last
	live    int             // current-generation instances, idle or busy or starting
	waiters []chan struct{} // invokes waiting for a free slot or instance
}

// New returns a Manager with no functions.
func New(o Options) (*Manager, error) {
	if unsupported != nil {
		return nil, unsupported
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.Node == "" {
		o.Node = "node"
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	o.BaseEnv = maps.Clone(o.BaseEnv)
	return &Manager{
		o:     o,
		fns:   map[string]*function{},
		byKey: map[string]*instance{},
		all:   map[*instance]struct{}{},
	}, nil
}

func (m *Manager) region() string {
	if r := m.o.BaseEnv["AWS_REGION"]; r != "" {
		return r
	}
	if r := m.o.BaseEnv["AWS_DEFAULT_REGION"]; r != "" {
		return r
	}
	return DefaultRegion
}

func (m *Manager) arn(fn string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", m.region(), m.o.AccountID, fn)
}

// normalize fills defaults and validates spec; errors name the field.
func (m *Manager) normalize(spec FunctionSpec) (FunctionSpec, error) {
	bad := func(field, format string, a ...any) error {
		return &providers.Error{Code: providers.InvalidArgument, Resource: "function " + quoteName(spec.Name),
			Err: fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...))}
	}
	if spec.Name == "" {
		return spec, bad("name", "is empty; give the function a name")
	}
	if spec.MemoryMB == 0 {
		spec.MemoryMB = DefaultMemoryMB
	}
	if spec.TimeoutS == 0 {
		spec.TimeoutS = DefaultTimeoutS
	}
	if spec.Concurrency == 0 {
		spec.Concurrency = DefaultConcurrency
	}
	if spec.MemoryMB < MinMemoryMB || spec.MemoryMB > MaxMemoryMB {
		return spec, bad("memory", "%d MB is out of range; use %d to %d MB", spec.MemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	if spec.TimeoutS < 1 || spec.TimeoutS > MaxTimeoutS {
		return spec, bad("timeout", "%d s is out of range; use 1 to %d seconds", spec.TimeoutS, MaxTimeoutS)
	}
	if spec.Concurrency < 1 {
		return spec, bad("concurrency", "%d must be at least 1", spec.Concurrency)
	}
	switch spec.Architecture {
	case "", "x86_64", "arm64":
	default:
		return spec, bad("architecture", "%q is not one of x86_64, arm64", spec.Architecture)
	}
	if !slices.Contains(Runtimes, spec.Runtime) {
		msg := fmt.Sprintf("%q is not supported; use one of %s", spec.Runtime, strings.Join(Runtimes, ", "))
		if s := suggestName(spec.Runtime, Runtimes); s != "" {
			msg = fmt.Sprintf("%q is not supported; did you mean %q?", spec.Runtime, s)
		}
		return spec, bad("runtime", "%s", msg)
	}
	if spec.CodeDir == "" {
		return spec, bad("code directory", "is empty")
	}
	abs, err := filepath.Abs(spec.CodeDir)
	if err != nil {
		return spec, bad("code directory", "%v", err)
	}
	spec.CodeDir = abs
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return spec, bad("code directory", "%s is not a directory", abs)
	}
	switch family(spec.Runtime) {
	case "provided":
		bs := filepath.Join(abs, "bootstrap")
		st, err := os.Stat(bs)
		if err != nil {
			return spec, bad("code", "%s has no bootstrap executable; a %s function needs one at the root of its artifact", abs, spec.Runtime)
		}
		if st.Mode()&0o111 == 0 {
			return spec, bad("code", "%s is not executable; chmod +x it", bs)
		}
		if err := checkBinary(bs); err != nil {
			return spec, bad("code", "%v", err)
		}
	case "node", "python":
		i := strings.LastIndex(spec.Handler, ".")
		if i <= strings.LastIndex(spec.Handler, "/")+1 || i == len(spec.Handler)-1 {
			want := "index.handler"
			if family(spec.Runtime) == "python" {
				want = "app.handler"
			}
			return spec, bad("handler", "%q is not FILE.EXPORT; write it like %q", spec.Handler, want)
		}
		interp := m.o.Node
		hint := "install Node.js 20 or later"
		if family(spec.Runtime) == "python" {
			interp, hint = m.o.Python, "install Python 3"
		}
		if _, err := exec.LookPath(interp); err != nil {
			return spec, bad("runtime", "%s needs %q, which is not in PATH; %s", spec.Runtime, interp, hint)
		}
	}
	spec.Env = maps.Clone(spec.Env)
	return spec, nil
}

// checkBinary refuses an ELF bootstrap this machine cannot execute (another
// architecture, or Linux binaries elsewhere); other files (scripts) pass.
func checkBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if goruntime.GOOS != "linux" {
		return fmt.Errorf("%s is a Linux executable, which cannot run on %s; build the handler for %s/%s to run it locally", path, goruntime.GOOS, goruntime.GOOS, goruntime.GOARCH)
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM, "riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390}[goruntime.GOARCH]
	if want != 0 && f.Machine != want {
		return fmt.Errorf("%s is built for %v but this machine is %s; build it with GOARCH=%s to run it locally", path, f.Machine, goruntime.GOARCH, goruntime.GOARCH)
	}
	return nil
}

func quoteName(s string) string { return fmt.Sprintf("%q", s) }

func family(rt string) string {
	switch {
	case strings.HasPrefix(rt, "provided"):
		return "provided"
	case strings.HasPrefix(rt, "nodejs"):
		return "node"
	case strings.HasPrefix(rt, "python"):
		return "python"
	}
	return ""
}

// sameInstances reports whether instances running a may serve b.
func sameInstances(a, b FunctionSpec) bool {
	return a.Runtime == b.Runtime && a.Handler == b.Handler && a.CodeDir == b.CodeDir &&
		a.CodeSha256 == b.CodeSha256 && a.MemoryMB == b.MemoryMB && a.TimeoutS == b.TimeoutS &&
		a.Architecture == b.Architecture && maps.Equal(a.Env, b.Env)
}

// Deploy adds or replaces a function. When anything but the concurrency
// changes, idle instances are stopped at once and busy ones when their
// invocation ends; the next invokes start fresh instances.
func (m *Manager) Deploy(spec FunctionSpec) error {
	spec, err := m.normalize(spec)
	if err != nil {
		return err
	}
	if family(spec.Runtime) != "provided" {
		if _, err := m.bootstrapScript(scriptOf(spec)); err != nil {
			return err
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed()
	}
	f := m.fns[spec.Name]
	var stop []*instance
	if f == nil {
		m.fns[spec.Name] = &function{spec: spec, gen: 1}
	} else {
		if !sameInstances(f.spec, spec) {
			f.gen++
			stop = f.idle
			for _, in := range stop {
				in.retired = true
			}
			f.idle = nil
			f.live = 0
		}
		f.spec = spec
		f.wakeAll()
	}
	m.mu.Unlock()
	for _, in := range stop {
		in.stop()
	}
	return nil
}

// Remove deletes a function: idle instances stop now, busy ones when their
// invocation ends.
func (m *Manager) Remove(name string) error {
	m.mu.Lock()
	f := m.fns[name]
	if f == nil {
		err := m.notFoundLocked(name)
		m.mu.Unlock()
		return err
	}
	delete(m.fns, name)
	f.removed = true
	stop := f.idle
	for _, in := range stop {
		in.retired = true
	}
	f.idle = nil
	f.wakeAll()
	m.mu.Unlock()
	for _, in := range stop {
		in.stop()
	}
	return nil
}

// Functions returns the deployed functions' specs, sorted by name.
func (m *Manager) Functions() []FunctionSpec {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]FunctionSpec, 0, len(m.fns))
	for _, f := range m.fns {
		out = append(out, f.spec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (f *function) wakeAll() {
	for _, w := range f.waiters {
		close(w)
	}
	f.waiters = nil
}

func (f *function) wakeOne() {
	if len(f.waiters) > 0 {
		close(f.waiters[0])
		f.waiters = f.waiters[1:]
	}
}

func (m *Manager) notFoundLocked(name string) error {
	names := make([]string, 0, len(m.fns))
	for n := range m.fns {
		names = append(names, n)
	}
	hint := `run "evcli deploy" to deploy it`
	if s := suggestName(name, names); s != "" {
		hint = fmt.Sprintf("did you mean %q?", s)
	}
	return &providers.Error{Code: providers.NotFound, Resource: "function " + quoteName(name),
		Err: errors.New("not deployed on the local provider"), Hint: hint}
}

func errClosed() error {
	return &providers.Error{Code: providers.Unavailable, Resource: "local runtime", Err: errors.New("closed")}
}

// Invoke calls fn synchronously with payload (a JSON document; empty means
// {}). Function errors are reported in the Result, not as the error.
func (m *Manager) Invoke(ctx context.Context, fn string, payload []byte) (Result, error) {
	return m.InvokeWithOptions(ctx, fn, payload, InvokeOptions{})
}

// InvokeWithOptions is Invoke with a client context, Cognito identity or
// trace id.
func (m *Manager) InvokeWithOptions(ctx context.Context, fn string, payload []byte, opt InvokeOptions) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if len(payload) > MaxRequestPayload {
		return Result{}, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + quoteName(fn),
			Err: fmt.Errorf("%d byte payload is too large for the RequestResponse invocation type (limit %d bytes)", len(payload), MaxRequestPayload)}
	}
	if !json.Valid(payload) {
		var v any
		err := json.Unmarshal(payload, &v)
		return Result{}, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + quoteName(fn),
			Err: fmt.Errorf("could not parse request body into json: %v", err), Hint: "pass a JSON document as the payload"}
	}
	inv := newInvocation(m, fn, payload, opt)
	if opt.OnStart != nil {
		opt.OnStart(inv.id)
	}
	for {
		in, cold, err := m.acquire(ctx, fn, inv)
		if err != nil {
			return Result{}, err
		}
		done := make(chan Result, 1)
		retry := make(chan struct{})
		go func() {
			r, err := m.run(in, inv, cold)
			if err != nil {
				close(retry)
				return
			}
			done <- r
		}()
		select {
		case r := <-done:
			return r, nil
		case <-retry:
			continue
		case <-ctx.Done():
			// The invocation runs to its end anyway, as on Lambda; its logs
			// and report are still written.
			return Result{RequestID: inv.id}, ctx.Err()
		}
	}
}

// acquire returns a warm instance, or starts one when fewer than the
// concurrency are live, or waits for one.
// A new instance's init output is tagged with inv's request id.
func (m *Manager) acquire(ctx context.Context, name string, inv *invocation) (*instance, bool, error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, false, errClosed()
		}
		f := m.fns[name]
		if f == nil {
			err := m.notFoundLocked(name)
			m.mu.Unlock()
			return nil, false, err
		}
		if n := len(f.idle); n > 0 {
			in := f.idle[n-1]
			f.idle = f.idle[:n-1]
			if in.idleTimer != nil {
				in.idleTimer.Stop()
			}
			m.mu.Unlock()
			return in, false, nil // run notices if it died meanwhile
		}
		if f.live < f.spec.Concurrency {
			f.live++
			spec, gen := f.spec, f.gen
			m.mu.Unlock()
			in, err := m.newInstance(f, spec, gen, inv)
			if err != nil {
				m.mu.Lock()
				if f.gen == gen {
					f.live--
					f.wakeOne()
				}
				m.mu.Unlock()
				return nil, false, err
			}
			return in, true, nil
		}
		w := make(chan struct{})
		f.waiters = append(f.waiters, w)
		conc := f.spec.Concurrency
		m.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			m.mu.Lock()
			if i := slices.Index(f.waiters, w); i >= 0 {
				f.waiters = slices.Delete(f.waiters, i, i+1)
			} else {
				f.wakeOne() // pass on the wake-up this waiter received
			}
			m.mu.Unlock()
			return nil, false, &providers.Error{Code: providers.Throttled, Resource: "function " + quoteName(name),
				Err:  fmt.Errorf("all %d instances stayed busy: %w", conc, ctx.Err()),
				Hint: "raise the function's concurrency"}
		}
	}
}

// release returns an instance after an invocation: to the idle list when it
// is healthy and current, otherwise it is stopped and its slot freed.
func (m *Manager) release(in *instance, healthy bool) {
	m.mu.Lock()
	if in.retired {
		m.mu.Unlock()
		in.stop()
		return
	}
	f := in.fn
	current := !f.removed && f.gen == in.gen && !m.closed
	if current && healthy && !in.hasExited() {
		f.idle = append(f.idle, in)
		if m.o.IdleTimeout > 0 {
			if in.idleTimer == nil {
				in.idleTimer = time.AfterFunc(m.o.IdleTimeout, func() { m.reap(in) })
			} else {
				in.idleTimer.Reset(m.o.IdleTimeout)
			}
		}
		f.wakeOne()
		m.mu.Unlock()
		return
	}
	m.retireLocked(in)
	m.mu.Unlock()
	in.stop()
}

// retireLocked gives an instance's concurrency slot back, once.
func (m *Manager) retireLocked(in *instance) {
	if in.retired {
		return
	}
	in.retired = true
	f := in.fn
	if f.gen != in.gen {
		return
	}
	if i := slices.Index(f.idle, in); i >= 0 {
		f.idle = slices.Delete(f.idle, i, i+1)
	}
	f.live--
	f.wakeOne()
}

// reap stops an instance that stayed idle for IdleTimeout.
func (m *Manager) reap(in *instance) {
	m.mu.Lock()
	idle := slices.Contains(in.fn.idle, in)
	if idle {
		m.retireLocked(in)
	}
	m.mu.Unlock()
	if idle {
		in.stop()
	}
}

// exited is called when an instance's process has ended: an idle instance
// leaves the pool at once.
func (m *Manager) exited(in *instance) {
	m.mu.Lock()
	idle := slices.Contains(in.fn.idle, in)
	if idle {
		m.retireLocked(in)
	}
	m.mu.Unlock()
	if idle {
		in.stop()
	}
}

// CallerOf returns the function and request id of the invocation running in
// the instance that was given accessKeyID, or, when it is idle, of its last
// invocation (work a handler left running after it returned).
func (m *Manager) CallerOf(accessKeyID string) (fn, requestID string, ok bool) {
	m.mu.Lock()
	in := m.byKey[accessKeyID]
	m.mu.Unlock()
	if in == nil {
		return "", "", false
	}
	id := in.callerRequestID()
	if id == "" {
		return "", "", false
	}
	return in.spec.Name, id, true
}

// Close stops every instance (killing their process groups) and closes their
// listeners. Invokes after Close fail with Unavailable.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	all := slices.Collect(maps.Keys(m.all))
	for _, f := range m.fns {
		f.wakeAll()
		f.idle = nil
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range all {
		wg.Add(1)
		go func() { defer wg.Done(); in.stop() }()
	}
	wg.Wait()
	return nil
}

// register records a started instance; it reports false after Close.
func (m *Manager) register(in *instance) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.byKey[in.accessKey] = in
	m.all[in] = struct{}{}
	return true
}

func (m *Manager) unregister(in *instance) {
	m.mu.Lock()
	delete(m.byKey, in.accessKey)
	delete(m.all, in)
	m.mu.Unlock()
}

func suggestName(s string, candidates []string) string { return suggest.Closest(s, candidates) }
