package runtime

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// instance is one execution environment: a process in its own process group
// and the Runtime API listener it talks to.
type instance struct {
	m         *Manager
	fn        *function
	spec      FunctionSpec
	gen       uint64
	id        string // 32 hex digits, as in Lambda's log stream names
	accessKey string
	logStream string
	retired   bool        // guarded by m.mu: its concurrency slot was given back
	idleTimer *time.Timer // guarded by m.mu

	ln      net.Listener
	srv     *http.Server
	cmd     *exec.Cmd
	pid     int
	started time.Time

	ready       chan struct{} // closed at the first /next
	readyAt     time.Time
	initFail    chan struct{} // closed when /runtime/init/error was posted
	initErr     []byte
	initType    string
	exitCh      chan struct{} // closed when the process has exited
	exitErr     error
	stopping    chan struct{}
	stopOnce    sync.Once
	invocations int // guarded by mu

	mu        sync.Mutex
	readySeen bool
	cur       *invocation // handed out by /next and not yet answered
	last      string      // request id of the latest invocation

	nextCh chan *invocation

	logs *logPipe
	proc *procStats

	host *hostBridge // the Cloud Functions or Azure Functions host evcli plays; nil for Lambda handlers
}

// newInstance starts a process for spec and its Runtime API listener. The
// caller waits for it to be ready (run does).
func (m *Manager) newInstance(f *function, spec FunctionSpec, gen uint64, first *invocation) (*instance, error) {
	id := randomHex(16)
	now := m.o.Now()
	in := &instance{
		m:         m,
		fn:        f,
		spec:      spec,
		gen:       gen,
		id:        id,
		accessKey: "EVCLI" + strings.ToUpper(id[:15]),
		logStream: now.UTC().Format("2006/01/02") + "/[$LATEST]" + id,
		ready:     make(chan struct{}),
		initFail:  make(chan struct{}),
		exitCh:    make(chan struct{}),
		stopping:  make(chan struct{}),
		nextCh:    make(chan *invocation),
	}
	argv, err := m.command(spec)
	if err != nil {
		return nil, err
	}
	if kind := hostOf(spec); kind != "" {
		if in.host, err = newHostBridge(kind, spec); err != nil {
			return nil, fmt.Errorf("function %q: %w", spec.Name, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("function %q: runtime API listener: %w", spec.Name, err)
	}
	in.ln = ln
	in.srv = &http.Server{Handler: in.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = in.srv.Serve(ln) }()

	pr, pw, err := os.Pipe()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("function %q: log pipe: %w", spec.Name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = spec.CodeDir
	cmd.Env = m.environ(in, ln.Addr().String(), argv)
	cmd.Stdout = pw
	cmd.Stderr = pw
	setProcessGroup(cmd)
	in.logs = newLogPipe(pr, in)
	in.logs.begin(first) // init output belongs to the invocation that caused it
	in.started = m.o.Now()
	if err := cmd.Start(); err != nil {
		if in.host != nil {
			in.host.close()
		}
		pw.Close()
		pr.Close()
		in.srv.Close()
		return nil, fmt.Errorf("function %q: starting %s: %w", spec.Name, argv[0], err)
	}
	pw.Close()
	in.cmd = cmd
	in.pid = cmd.Process.Pid
	in.proc = newProcStats(in.pid)
	if m.o.Started != nil {
		m.o.Started(spec.Name, in.pid)
	}
	go in.logs.run()
	go func() {
		in.exitErr = cmd.Wait()
		close(in.exitCh)
		m.exited(in)
	}()
	if in.host != nil {
		go in.host.run(in)
	}
	if !m.register(in) { // Close ran meanwhile
		in.stop()
		return nil, errClosed()
	}
	return in, nil
}

// command returns the argv that starts spec's runtime.
func (m *Manager) command(spec FunctionSpec) ([]string, error) {
	script := scriptOf(spec)
	switch family(spec.Runtime) {
	case "provided":
		return []string{filepath.Join(spec.CodeDir, "bootstrap")}, nil
	case "node":
		p, err := m.bootstrapScript(script)
		if err != nil {
			return nil, err
		}
		m.checkInterpreter(spec, "node", m.o.Node)
		return []string{m.o.Node, p}, nil
	case "python":
		p, err := m.bootstrapScript(script)
		if err != nil {
			return nil, err
		}
		m.checkInterpreter(spec, "python", m.o.Python)
		return []string{m.o.Python, p}, nil
	}
	return nil, fmt.Errorf("function %q: runtime %q is not supported", spec.Name, spec.Runtime)
}

// environ builds the process environment: a few host variables, then
// BaseEnv, then the function's Env, then the variables Lambda reserves.
func (m *Manager) environ(in *instance, apiAddr string, argv []string) []string {
	spec := in.spec
	env := map[string]string{}
	for _, k := range []string{"PATH", "TMPDIR", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	env["LANG"] = "en_US.UTF-8"
	switch family(spec.Runtime) {
	case "python":
		env["PYTHONUNBUFFERED"] = "1"
		env["PYTHONPYCACHEPREFIX"] = filepath.Join(m.o.TempDir, "evcli-pycache")
	case "node":
		env["NODE_PATH"] = spec.CodeDir
	}
	for k, v := range m.o.BaseEnv {
		env[k] = v
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	region := m.region()
	reserved := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        spec.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(spec.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + spec.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      in.logStream,
		"AWS_LAMBDA_RUNTIME_API":          apiAddr,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"_HANDLER":                        spec.Handler,
		"LAMBDA_TASK_ROOT":                spec.CodeDir,
		"LAMBDA_RUNTIME_DIR":              filepath.Dir(argv[len(argv)-1]),
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"TZ":                              ":UTC",
		"AWS_ACCESS_KEY_ID":               in.accessKey,
		"AWS_SECRET_ACCESS_KEY":           "evcli-local-secret-" + in.id[:8],
	}
	if f := family(spec.Runtime); (f == "node" || f == "python") && hostOf(spec) == "" {
		reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + spec.Runtime
	}
	for k, v := range in.hostEnv() {
		reserved[k] = v
	}
	for k, v := range reserved {
		env[k] = v
	}
	delete(env, "AWS_SESSION_TOKEN")
	delete(env, "AWS_PROFILE")
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (in *instance) hasExited() bool {
	select {
	case <-in.exitCh:
		return true
	default:
		return false
	}
}

func (in *instance) callerRequestID() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cur != nil {
		return in.cur.id
	}
	return in.last
}

// kill ends the process group at once, and the processes the instance
// took out of it (setsid) that still carry its access key (Linux).
func (in *instance) kill() {
	if in.pid > 0 {
		killGroup(in.pid)
		killMarked("AWS_ACCESS_KEY_ID=" + in.accessKey)
	}
}

// stop kills the instance, waits for its process and closes its listener.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		close(in.stopping)
		in.kill()
		select {
		case <-in.exitCh:
		case <-time.After(5 * time.Second):
		}
		in.srv.Close()
		in.logs.close()
		in.proc.close()
		in.m.unregister(in)
	})
}

// The Runtime API.

const apiPrefix = "/2018-06-01/runtime"

func (in *instance) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", in.handleNext)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		in.handleResult(w, r, false)
	})
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		in.handleResult(w, r, true)
	})
	mux.HandleFunc("POST "+apiPrefix+"/init/error", in.handleInitError)
	return mux
}

type apiError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

var acceptedBody = []byte(`{"status":"OK"}`)

func writeAccepted(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{"15"}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(acceptedBody)
}

func invalidState(w http.ResponseWriter, from, to string) {
	writeJSON(w, http.StatusForbidden, apiError{
		ErrorType:    "InvalidStateTransition",
		ErrorMessage: fmt.Sprintf("State transition from %s to %s failed for runtime. Error: State transition is not allowed", from, to),
	})
}

func (in *instance) stateName() string {
	switch {
	case !in.readySeen:
		return "RuntimeInitState"
	case in.cur != nil:
		return "RuntimeInvokingState"
	default:
		return "RuntimeReadyState"
	}
}

func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.mu.Lock()
	if in.cur != nil {
		from := in.stateName()
		in.mu.Unlock()
		invalidState(w, from, "RuntimeReadyState")
		return
	}
	first := !in.readySeen
	if first {
		in.readySeen = true
		in.readyAt = in.m.o.Now()
	}
	in.mu.Unlock()
	if first {
		close(in.ready)
	}
	var (
		inv    *invocation
		frozen bool
	)
	select {
	case inv = <-in.nextCh: // waiting already: no freeze
	default:
		// Nothing to do: freeze the process group until there is, as
		// Lambda freezes an environment once its runtime asks for the next
		// event. What the handler left running (timers, goroutines,
		// unawaited promises) pauses and resumes with the next invocation,
		// its output then inside that invocation's START and END. Not at
		// the first /next: the invocation that started the instance is on
		// its way (and in.pid may not be published to this goroutine yet).
		frozen = !first && freezeGroup(in.pid)
		select {
		case inv = <-in.nextCh:
		case <-r.Context().Done():
			return
		case <-in.stopping:
			writeJSON(w, http.StatusInternalServerError, apiError{ErrorType: "InternalServerError", ErrorMessage: "Internal Server Error"})
			return
		}
	}
	in.mu.Lock()
	in.cur = inv
	in.last = inv.id
	inv.delivered = in.m.o.Now()
	in.mu.Unlock()
	in.logs.start(inv)
	if frozen {
		thawGroup(in.pid)
	}
	h := w.Header()
	h["Lambda-Runtime-Aws-Request-Id"] = []string{inv.id}
	h["Lambda-Runtime-Deadline-Ms"] = []string{strconv.FormatInt(inv.deadline.UnixMilli(), 10)}
	h["Lambda-Runtime-Invoked-Function-Arn"] = []string{inv.arn}
	h["Lambda-Runtime-Trace-Id"] = []string{inv.traceID}
	if inv.opt.ClientContext != "" {
		h["Lambda-Runtime-Client-Context"] = []string{inv.opt.ClientContext}
	}
	if inv.opt.CognitoIdentity != "" {
		h["Lambda-Runtime-Cognito-Identity"] = []string{inv.opt.CognitoIdentity}
	}
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(inv.payload))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// outcome is what the runtime posted for an invocation.
type outcome struct {
	at        time.Time
	isError   bool
	body      []byte
	errorType string
	tooLarge  bool
}

func (in *instance) handleResult(w http.ResponseWriter, r *http.Request, isError bool) {
	id := r.PathValue("id")
	to := "RuntimeResponseSentState"
	in.mu.Lock()
	inv := in.cur
	if inv == nil {
		from := in.stateName()
		in.mu.Unlock()
		invalidState(w, from, to)
		return
	}
	in.mu.Unlock()
	if inv.id != id {
		writeJSON(w, http.StatusBadRequest, apiError{ErrorType: "InvalidRequestID", ErrorMessage: "Invalid request ID"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{ErrorType: "InvalidRequestFormat", ErrorMessage: "reading the body: " + err.Error()})
		return
	}
	o := outcome{isError: isError, body: body}
	if isError {
		o.errorType = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	} else if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
		// A streamed response that failed midway (aws-lambda-go's trailers).
		o.isError, o.errorType = true, t
		o.body, _ = base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
	}
	if !isError && len(body) > MaxResponsePayload {
		o.tooLarge = true
		_, _ = io.Copy(io.Discard, r.Body)
	}
	in.mu.Lock()
	if in.cur != inv {
		from := in.stateName()
		in.mu.Unlock()
		invalidState(w, from, to)
		return
	}
	in.cur = nil
	in.mu.Unlock()
	o.at = in.m.o.Now()
	inv.done <- o
	if o.tooLarge {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{ErrorType: "RequestEntityTooLarge",
			ErrorMessage: fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload)})
		return
	}
	writeAccepted(w)
}

func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	in.mu.Lock()
	if in.readySeen {
		from := in.stateName()
		in.mu.Unlock()
		invalidState(w, from, "RuntimeInitErrorState")
		return
	}
	in.readySeen = true // no /next will be served
	in.mu.Unlock()
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload))
	in.initErr = body
	in.initType = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	close(in.initFail)
	writeAccepted(w)
}
