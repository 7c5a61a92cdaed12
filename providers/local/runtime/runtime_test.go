package runtime

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

func TestGoEchoWarmReuseAndLogs(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "echo", MemoryMB: 256})

	first := invoke(t, m, "echo", `{"action":"log","lines":["hello","multi\rline"]}`)
	second := invoke(t, m, "echo", `{"action":"echo","value":{"n":1}}`)

	if first.FunctionError != "" || second.FunctionError != "" {
		t.Fatalf("function errors: %s / %s", first.Payload, second.Payload)
	}
	if got, want := string(second.Payload), `{"action":"echo","value":{"n":1}}`; got != want {
		t.Errorf("echo payload = %s, want %s", got, want)
	}
	if first.InstanceID != second.InstanceID {
		t.Errorf("second invoke ran on instance %s, want the warm %s", second.InstanceID, first.InstanceID)
	}
	if first.InitDurationMs <= 0 || second.InitDurationMs != 0 {
		t.Errorf("init durations = %v, %v; want >0 on the cold start and 0 when warm", first.InitDurationMs, second.InitDurationMs)
	}
	if first.BilledDurationMs < int64(first.DurationMs+first.InitDurationMs) {
		t.Errorf("billed %d ms < duration %.2f + init %.2f", first.BilledDurationMs, first.DurationMs, first.InitDurationMs)
	}
	if first.MaxMemoryUsedMB <= 0 || first.MaxMemoryUsedMB > 256 {
		t.Errorf("max memory used = %d MB", first.MaxMemoryUsedMB)
	}
	golden(t, "go_cold_logs", normalize(rec.linesOf(first.RequestID), first.RequestID))
	golden(t, "go_warm_logs", normalize(rec.linesOf(second.RequestID), second.RequestID))
	if got := normalize(first.Logs, first.RequestID); got != normalize(rec.linesOf(first.RequestID), first.RequestID) {
		t.Errorf("Result.Logs = %q, want the lines sent to Options.Logs", got)
	}
	if len(rec.reports) != 2 {
		t.Fatalf("%d reports, want 2", len(rec.reports))
	}
	r := rec.reports[0]
	if r.Function != "echo" || r.RequestID != first.RequestID || r.Outcome != "ok" || r.MemorySizeMB != 256 || r.InitDurationMs != first.InitDurationMs {
		t.Errorf("report = %+v", r)
	}
}

// TestInstancesFreezeBetweenInvocations: once its runtime asks for the next
// event and none is waiting, an instance's processes are stopped, as Lambda
// freezes an execution environment; what the handler left running resumes
// with the next invocation, and its output is that invocation's (after its
// START). A frozen instance is still killed when it is reclaimed.
func TestInstancesFreezeBetweenInvocations(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "late"})
	// The handler returns at once and prints "late line" 30 ms later.
	first := invoke(t, m, "late", `{"action":"late","ms":30}`)
	in := instanceOf(t, m, first.InstanceID)
	waitStopped(t, in.pid)
	// Frozen: the line is not written however long we wait; the next
	// invocation thaws the instance and gets it.
	second := invoke(t, m, "late", `{"action":"spin","ms":100}`)
	if second.InstanceID != first.InstanceID {
		t.Fatalf("second invocation on %s, want the warm %s", second.InstanceID, first.InstanceID)
	}
	var late *LogLine
	for late == nil {
		rec.mu.Lock()
		for i, l := range rec.lines {
			if l.Text == "late line" {
				late = &rec.lines[i]
			}
		}
		rec.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	if late.RequestID != second.RequestID || late.InstanceID != first.InstanceID {
		t.Errorf("late line tagged %+v, want the second invocation %s", *late, second.RequestID)
	}
	if slices.Contains(first.Logs, "late line") {
		t.Errorf("the first invocation's lines have the late line: %q", first.Logs)
	}
	if lines := rec.linesOf(second.RequestID); len(lines) == 0 || !strings.HasPrefix(lines[0], "START ") {
		t.Errorf("second invocation's lines = %q, want START first", lines)
	}
	// Close kills the instance, frozen or not.
	waitStopped(t, in.pid)
	m.Close()
	select {
	case <-in.exitCh:
	case <-time.After(10 * time.Second):
		t.Fatal("a frozen instance outlived Close")
	}
}

// instanceOf returns m's instance with the given id.
func instanceOf(t *testing.T, m *Manager, id string) *instance {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for in := range m.all {
		if in.id == id {
			return in
		}
	}
	t.Fatalf("no instance %s", id)
	return nil
}

// waitStopped waits until process pid is stopped (frozen); it fails the
// test if that has not happened in 10 s, which is not a speed limit but
// means it is not going to.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); procState(t, pid) != "T"; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("instance process %d is not frozen (state %s)", pid, procState(t, pid))
		}
	}
}

// procState is the state letter of process pid in /proc/PID/stat ("T":
// stopped); the test is skipped where there is no /proc.
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if goruntime.GOOS != "linux" {
			t.Skip("process states are read from /proc (Linux)")
		}
		t.Fatal(err)
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return f[0]
}

func TestIdleInstancesAreReclaimed(t *testing.T) {
	m, _ := newTestManager(t, Options{IdleTimeout: 50 * time.Millisecond})
	deploy(t, m, FunctionSpec{Name: "idle"})
	first := invoke(t, m, "idle", `{}`)
	for {
		m.mu.Lock()
		n := len(m.all)
		m.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if again := invoke(t, m, "idle", `{}`); again.InstanceID == first.InstanceID || again.InitDurationMs == 0 {
		t.Error("the reclaimed instance served again")
	}
}

func TestCPUTime(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "cpu"})
	invoke(t, m, "cpu", `{}`)
	r := invoke(t, m, "cpu", `{"action":"spin","ms":30}`)
	if r.CPUTimeMs <= 0 {
		t.Errorf("CPU time of a spinning handler = %v ms, want > 0", r.CPUTimeMs)
	}
	if got := rec.reports[1].CPUTimeMs; got != r.CPUTimeMs {
		t.Errorf("record CPU time %v, result %v", got, r.CPUTimeMs)
	}
}

func TestGoErrors(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "fn"})
	tests := []struct {
		name, payload, errorType string
		wantPayload              map[string]any
		replaced                 bool // the instance exits afterwards
	}{
		{"returned error", `{"action":"error"}`, "errorString", map[string]any{"errorMessage": "boom", "errorType": "errorString"}, false},
		{"panic", `{"action":"panic"}`, "string", map[string]any{"errorMessage": "kaboom", "errorType": "string"}, true},
		{"unknown action", `{"action":"nope"}`, "errorString", map[string]any{"errorMessage": `unknown action "nope"`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := invoke(t, m, "fn", `{}`)
			r := invoke(t, m, "fn", tt.payload)
			if r.FunctionError != "Unhandled" || r.ErrorType != tt.errorType {
				t.Fatalf("FunctionError=%q ErrorType=%q, want Unhandled %q (payload %s)", r.FunctionError, r.ErrorType, tt.errorType, r.Payload)
			}
			got := jsonOf(t, r.Payload)
			for k, v := range tt.wantPayload {
				if got[k] != v {
					t.Errorf("payload %s = %v, want %v", k, got[k], v)
				}
			}
			after := invoke(t, m, "fn", `{}`)
			if replaced := after.InstanceID != before.InstanceID; replaced != tt.replaced {
				t.Errorf("instance replaced = %v, want %v", replaced, tt.replaced)
			}
			if rep := rec.reports[len(rec.reports)-2]; rep.Outcome != "error" {
				t.Errorf("report outcome = %q, want error", rep.Outcome)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "slow", TimeoutS: 1})
	r := invoke(t, m, "slow", `{"action":"sleep","ms":5000}`)
	if r.FunctionError != "Unhandled" || r.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("got %q %q %s, want Unhandled Sandbox.Timedout", r.FunctionError, r.ErrorType, r.Payload)
	}
	want := fmt.Sprintf(`{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: %s Error: Task timed out after 1.00 seconds"}`, r.RequestID)
	if string(r.Payload) != want {
		t.Errorf("payload = %s, want %s", r.Payload, want)
	}
	golden(t, "timeout_logs", normalize(rec.linesOf(r.RequestID), r.RequestID))
	if rec.reports[0].Outcome != "timeout" {
		t.Errorf("outcome = %q", rec.reports[0].Outcome)
	}
	next := invoke(t, m, "slow", `{}`)
	if next.FunctionError != "" || next.InstanceID == r.InstanceID || next.InitDurationMs == 0 {
		t.Errorf("after a timeout: %s on instance %s (was %s), init %v; want a fresh instance", next.Payload, next.InstanceID, r.InstanceID, next.InitDurationMs)
	}
}

func TestOutOfMemory(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "hungry", MemoryMB: 128, TimeoutS: 30})
	r := invoke(t, m, "hungry", `{"action":"oom","mb":1024}`)
	if r.FunctionError != "Unhandled" || r.ErrorType != "Runtime.OutOfMemory" {
		t.Fatalf("got %q %q %s, want Unhandled Runtime.OutOfMemory", r.FunctionError, r.ErrorType, r.Payload)
	}
	want := fmt.Sprintf(`{"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: %s Error: Runtime exited with error: signal: killed"}`, r.RequestID)
	if string(r.Payload) != want {
		t.Errorf("payload = %s, want %s", r.Payload, want)
	}
	if r.MaxMemoryUsedMB != 128 {
		t.Errorf("max memory used = %d, want 128", r.MaxMemoryUsedMB)
	}
	golden(t, "oom_logs", normalize(rec.linesOf(r.RequestID), r.RequestID))
	if rec.reports[0].Outcome != "oom" {
		t.Errorf("outcome = %q", rec.reports[0].Outcome)
	}
	small := invoke(t, m, "hungry", `{"action":"oom","mb":16}`)
	if small.FunctionError != "" || small.InstanceID == r.InstanceID {
		t.Errorf("after OOM: %s on %s; want success on a new instance", small.Payload, small.InstanceID)
	}
}

func TestCrashReplacesInstance(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "crashy"})
	r := invoke(t, m, "crashy", `{"action":"crash","code":2}`)
	want := fmt.Sprintf(`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: %s Error: Runtime exited with error: exit status 2"}`, r.RequestID)
	if r.FunctionError != "Unhandled" || r.ErrorType != "Runtime.ExitError" || string(r.Payload) != want {
		t.Fatalf("got %q %q %s, want %s", r.FunctionError, r.ErrorType, r.Payload, want)
	}
	golden(t, "crash_logs", normalize(rec.linesOf(r.RequestID), r.RequestID))
	next := invoke(t, m, "crashy", `{}`)
	if next.FunctionError != "" || next.InstanceID == r.InstanceID || next.InitDurationMs == 0 {
		t.Errorf("after a crash: %s on %s; want a fresh instance", next.Payload, next.InstanceID)
	}
}

func TestInitFailure(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "broken", Env: map[string]string{"TESTFN_INIT": "exit"}})
	r := invoke(t, m, "broken", `{}`)
	want := fmt.Sprintf(`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: %s Error: Runtime exited with error: exit status 3"}`, r.RequestID)
	if r.ErrorType != "Runtime.ExitError" || string(r.Payload) != want {
		t.Fatalf("got %q %s, want %s", r.ErrorType, r.Payload, want)
	}
	golden(t, "init_exit_logs", normalize(rec.linesOf(r.RequestID), r.RequestID))
}

func TestConcurrencyStartsInstancesUpToTheLimit(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "par", Concurrency: 3, TimeoutS: 30})
	const n = 5
	var wg sync.WaitGroup
	results := make([]Result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = invoke(t, m, "par", `{"action":"sleep","ms":400}`)
		}()
	}
	wg.Wait()
	ids := map[string]int{}
	for _, r := range results {
		if r.FunctionError != "" {
			t.Fatalf("invoke failed: %s", r.Payload)
		}
		ids[r.InstanceID]++
	}
	if len(ids) != 3 {
		t.Errorf("%d parallel invokes ran on %d instances, want 3 (the concurrency): %v", n, len(ids), ids)
	}
}

func TestWaitingForAnInstanceIsBoundedByContext(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "one", Concurrency: 1, TimeoutS: 30})
	busy := make(chan Result)
	go func() { busy <- invoke(t, m, "one", `{"action":"sleep","ms":1500}`) }()
	// Wait until the first invoke holds the only instance.
	for {
		m.mu.Lock()
		live := m.fns["one"].live
		m.mu.Unlock()
		if live == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := m.Invoke(ctx, "one", []byte(`{}`))
	if providers.CodeOf(err) != providers.Throttled || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want Throttled wrapping context.DeadlineExceeded", err)
	}
	if r := <-busy; r.FunctionError != "" {
		t.Errorf("busy invoke: %s", r.Payload)
	}
	if r := invoke(t, m, "one", `{}`); r.FunctionError != "" {
		t.Errorf("invoke after: %s", r.Payload)
	}
}

func TestCallerOf(t *testing.T) {
	var m *Manager
	type caller struct{ fn, id string }
	got := make(chan caller, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, id, ok := m.CallerOf(r.Header.Get("X-Access-Key"))
		if !ok {
			http.Error(w, "unknown caller", http.StatusForbidden)
			return
		}
		got <- caller{fn, id}
	}))
	defer srv.Close()
	m, _ = newTestManager(t, Options{BaseEnv: map[string]string{"AWS_ENDPOINT_URL_EVENTBRIDGE": srv.URL}})
	deploy(t, m, FunctionSpec{Name: "publisher"})
	r := invoke(t, m, "publisher", fmt.Sprintf(`{"action":"call","url":%q}`, srv.URL))
	if string(r.Payload) != `"200 OK"` {
		t.Fatalf("payload = %s", r.Payload)
	}
	if c := <-got; c.fn != "publisher" || c.id != r.RequestID {
		t.Errorf("CallerOf = %+v, want publisher %s", c, r.RequestID)
	}
	if _, _, ok := m.CallerOf("AKIAIOSFODNN7EXAMPLE"); ok {
		t.Error("CallerOf(unknown key) = ok")
	}
}

func TestEnvironment(t *testing.T) {
	m, _ := newTestManager(t, Options{BaseEnv: map[string]string{"AWS_REGION": "eu-west-1", "BASE": "b", "OVERRIDE": "base"}})
	deploy(t, m, FunctionSpec{Name: "envfn", MemoryMB: 512, Handler: "ignored",
		Env: map[string]string{"OVERRIDE": "fn", "AWS_LAMBDA_FUNCTION_NAME": "spoofed", "AWS_SESSION_TOKEN": "x"}})
	r := invoke(t, m, "envfn", `{"action":"env"}`)
	var env map[string]string
	if err := json.Unmarshal(r.Payload, &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"_HANDLER":                        "ignored",
		"LAMBDA_TASK_ROOT":                goHandlerDir,
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"TZ":                              ":UTC",
		"BASE":                            "b",
		"OVERRIDE":                        "fn",
		"AWS_ACCESS_KEY_ID":               "EVCLI" + strings.ToUpper(r.InstanceID[:15]),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["AWS_SESSION_TOKEN"]; ok {
		t.Error("AWS_SESSION_TOKEN is set")
	}
	if !strings.HasSuffix(env["AWS_LAMBDA_LOG_STREAM_NAME"], "/[$LATEST]"+r.InstanceID) {
		t.Errorf("log stream = %q", env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if env["AWS_SECRET_ACCESS_KEY"] == "" || !strings.HasPrefix(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("secret %q, runtime api %q", env["AWS_SECRET_ACCESS_KEY"], env["AWS_LAMBDA_RUNTIME_API"])
	}

	var started []string
	ctxr, err := m.InvokeWithOptions(context.Background(), "envfn", []byte(`{"action":"context"}`),
		InvokeOptions{ClientContext: `{"custom":{"k":"v"}}`, TraceID: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			OnStart: func(id string) { started = append(started, id) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(started) != 1 || started[0] != ctxr.RequestID {
		t.Errorf("OnStart got %q, want [%s]", started, ctxr.RequestID)
	}
	c := jsonOf(t, ctxr.Payload)
	if c["requestId"] != ctxr.RequestID || c["arn"] != "arn:aws:lambda:eu-west-1:000000000000:function:envfn" ||
		c["traceId"] != "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" {
		t.Errorf("context = %v", c)
	}
	if rem, _ := c["remainingMs"].(float64); rem <= 0 || rem > 3000 {
		t.Errorf("remaining time %v ms, want within the 3 s timeout", c["remainingMs"])
	}
	if cc, _ := c["client"].(map[string]any); cc["k"] != "v" {
		t.Errorf("client context custom = %v", c["client"])
	}
}

func TestDeployReplacesInstances(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "v", CodeSha256: "aaa"})
	a := invoke(t, m, "v", `{}`)
	deploy(t, m, FunctionSpec{Name: "v", CodeSha256: "aaa"})
	b := invoke(t, m, "v", `{}`)
	deploy(t, m, FunctionSpec{Name: "v", CodeSha256: "aaa", Concurrency: 5})
	c := invoke(t, m, "v", `{}`)
	deploy(t, m, FunctionSpec{Name: "v", CodeSha256: "bbb"})
	d := invoke(t, m, "v", `{}`)
	if a.InstanceID != b.InstanceID || b.InstanceID != c.InstanceID {
		t.Errorf("same code redeployed: instances %s %s %s, want one warm instance", a.InstanceID, b.InstanceID, c.InstanceID)
	}
	if d.InstanceID == c.InstanceID || d.InitDurationMs == 0 {
		t.Errorf("new code ran on the old instance %s", d.InstanceID)
	}
	m.mu.Lock()
	n := len(m.all)
	m.mu.Unlock()
	if n != 1 {
		t.Errorf("%d instances alive, want 1 (the old one stopped)", n)
	}
}

func TestDeployReplacesBusyInstanceAfterItFinishes(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "v", CodeSha256: "aaa", TimeoutS: 30})
	done := make(chan Result)
	go func() { done <- invoke(t, m, "v", `{"action":"sleep","ms":800}`) }()
	for {
		m.mu.Lock()
		n := len(m.all)
		m.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	deploy(t, m, FunctionSpec{Name: "v", CodeSha256: "bbb", TimeoutS: 30})
	old := <-done
	if old.FunctionError != "" {
		t.Fatalf("busy invoke failed after redeploy: %s", old.Payload)
	}
	if r := invoke(t, m, "v", `{}`); r.InstanceID == old.InstanceID {
		t.Error("the replaced instance was reused")
	}
}

func TestInvokeErrors(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "orders"})
	tests := []struct {
		name, fn string
		payload  []byte
		code     providers.Code
		contains string
	}{
		{"unknown function", "order", []byte(`{}`), providers.NotFound, `did you mean "orders"?`},
		{"not json", "orders", []byte(`{"a":`), providers.InvalidArgument, "could not parse request body into json"},
		{"too large", "orders", []byte(`"` + strings.Repeat("x", MaxRequestPayload) + `"`), providers.InvalidArgument, "is too large for the RequestResponse invocation type (limit 6291456 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Invoke(context.Background(), tt.fn, tt.payload)
			if providers.CodeOf(err) != tt.code {
				t.Fatalf("err = %v (code %v), want code %v", err, providers.CodeOf(err), tt.code)
			}
			var pe *providers.Error
			errors.As(err, &pe)
			if !strings.Contains(err.Error()+" "+pe.Hint, tt.contains) {
				t.Errorf("err = %q hint %q, want it to contain %q", err, pe.Hint, tt.contains)
			}
		})
	}
	if err := m.Remove("orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Invoke(context.Background(), "orders", nil); providers.CodeOf(err) != providers.NotFound {
		t.Errorf("after Remove: %v, want NotFound", err)
	}
	m.Close()
	if _, err := m.Invoke(context.Background(), "orders", nil); providers.CodeOf(err) != providers.Unavailable {
		t.Errorf("after Close: %v, want Unavailable", err)
	}
}

func TestResponseTooLarge(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	deploy(t, m, FunctionSpec{Name: "big", MemoryMB: 512})
	r := invoke(t, m, "big", `{"action":"big","mb":7}`)
	want := `{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes)."}`
	if r.ErrorType != "Function.ResponseSizeTooLarge" || string(r.Payload) != want {
		t.Errorf("got %q %.200s, want %s", r.ErrorType, r.Payload, want)
	}
}

func TestDeployValidation(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	noBootstrap := t.TempDir()
	notExec := t.TempDir()
	os.WriteFile(filepath.Join(notExec, "bootstrap"), []byte("x"), 0o644)
	foreign := t.TempDir()
	machine := elf.EM_AARCH64
	if goruntime.GOARCH == "arm64" {
		machine = elf.EM_X86_64
	}
	if err := os.WriteFile(filepath.Join(foreign, "bootstrap"), elfHeader(machine), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		spec     FunctionSpec
		contains string
	}{
		{"no name", FunctionSpec{Runtime: ProvidedAL2023, CodeDir: goHandlerDir}, "name: is empty"},
		{"bad runtime", FunctionSpec{Name: "f", Runtime: "nodejs20", CodeDir: goHandlerDir}, `runtime: "nodejs20" is not supported; did you mean "nodejs20.x"?`},
		{"unknown runtime", FunctionSpec{Name: "f", Runtime: "java21", CodeDir: goHandlerDir}, "use one of provided.al2023"},
		{"memory", FunctionSpec{Name: "f", Runtime: ProvidedAL2023, CodeDir: goHandlerDir, MemoryMB: 64}, "memory: 64 MB is out of range; use 128 to 10240 MB"},
		{"timeout", FunctionSpec{Name: "f", Runtime: ProvidedAL2023, CodeDir: goHandlerDir, TimeoutS: 901}, "timeout: 901 s is out of range"},
		{"no dir", FunctionSpec{Name: "f", Runtime: ProvidedAL2023, CodeDir: "/nonexistent/x"}, "is not a directory"},
		{"no bootstrap", FunctionSpec{Name: "f", Runtime: ProvidedAL2023, CodeDir: noBootstrap}, "has no bootstrap executable"},
		{"not executable", FunctionSpec{Name: "f", Runtime: ProvidedAL2023, CodeDir: notExec}, "is not executable"},
		{"architecture", FunctionSpec{Name: "f", Runtime: ProvidedAL2023, CodeDir: goHandlerDir, Architecture: "arm"}, `architecture: "arm" is not one of x86_64, arm64`},
		{"foreign binary", FunctionSpec{Name: "f", Runtime: ProvidedAL2023, CodeDir: foreign}, "to run it locally"},
		{"bad handler", FunctionSpec{Name: "f", Runtime: NodeJS20, CodeDir: noBootstrap, Handler: "index"}, `handler: "index" is not FILE.EXPORT; write it like "index.handler"`},
		{"bad python handler", FunctionSpec{Name: "f", Runtime: Python312, CodeDir: noBootstrap, Handler: "app."}, `write it like "app.handler"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Deploy(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.contains) || providers.CodeOf(err) != providers.InvalidArgument {
				t.Errorf("Deploy() = %v, want InvalidArgument containing %q", err, tt.contains)
			}
		})
	}
}

func TestCloseStopsInstances(t *testing.T) {
	var startedPid int
	var startedFn string
	m, _ := newTestManager(t, Options{Started: func(fn string, pid int) { startedFn, startedPid = fn, pid }})
	deploy(t, m, FunctionSpec{Name: "a"})
	r := invoke(t, m, "a", `{}`)
	m.mu.Lock()
	var pid int
	for in := range m.all {
		pid = in.pid
	}
	m.mu.Unlock()
	if pid == 0 || r.FunctionError != "" {
		t.Fatal("no instance")
	}
	if startedFn != "a" || startedPid != pid {
		t.Errorf("Started hook got %q %d, want a %d", startedFn, startedPid, pid)
	}
	m.Close()
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if !strings.Contains(string(b), "zombie") {
			t.Errorf("process %d still runs after Close", pid)
		}
	}
}

// elfHeader returns a minimal 64-bit little-endian ELF executable header for
// machine: enough for debug/elf, not to run.
func elfHeader(machine elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(machine))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64) // header size
	binary.LittleEndian.PutUint16(h[54:], 56) // program header entry size
	binary.LittleEndian.PutUint16(h[58:], 64) // section header entry size
	return h
}

// rawRuntime deploys a function whose process does nothing, so that the
// test itself plays the runtime against the instance's Runtime API.
func rawRuntime(t *testing.T, m *Manager, name string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	deploy(t, m, FunctionSpec{Name: name, CodeDir: dir, TimeoutS: 30})
}

func apiAddr(t *testing.T, m *Manager, name string) string {
	t.Helper()
	for {
		m.mu.Lock()
		for in := range m.all {
			if in.spec.Name == name {
				m.mu.Unlock()
				return "http://" + in.ln.Addr().String() + "/2018-06-01/runtime"
			}
		}
		m.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

func call(t *testing.T, method, url, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRuntimeAPIProtocol(t *testing.T) {
	m, _ := newTestManager(t, Options{})
	rawRuntime(t, m, "raw")
	res := make(chan Result, 1)
	go func() {
		r, err := m.InvokeWithOptions(context.Background(), "raw", []byte(`{"x":1}`), InvokeOptions{
			ClientContext: `{"custom":{"a":"b"}}`, CognitoIdentity: `{"cognitoIdentityId":"id1"}`})
		if err != nil {
			t.Error(err)
		}
		res <- r
	}()
	api := apiAddr(t, m, "raw")

	// Before any invocation: a response is an invalid state transition.
	resp, body := call(t, "POST", api+"/invocation/nope/response", `{}`, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, `"errorType":"InvalidStateTransition"`) {
		t.Errorf("early response: %d %s, want 403 InvalidStateTransition", resp.StatusCode, body)
	}

	resp, body = call(t, "GET", api+"/invocation/next", "", nil)
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if resp.StatusCode != 200 || body != `{"x":1}` || !uuidRE.MatchString(id) {
		t.Fatalf("next: %d %q id %q", resp.StatusCode, body, id)
	}
	checks := map[string]string{
		"Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:raw",
		"Lambda-Runtime-Client-Context":       `{"custom":{"a":"b"}}`,
		"Lambda-Runtime-Cognito-Identity":     `{"cognitoIdentityId":"id1"}`,
		"Content-Type":                        "application/json",
	}
	for k, v := range checks {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(resp.Header.Get("Lambda-Runtime-Trace-Id"), "Root=1-") {
		t.Errorf("trace id = %q", resp.Header.Get("Lambda-Runtime-Trace-Id"))
	}
	var deadline int64
	fmt.Sscan(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), &deadline)
	if left := time.Until(time.UnixMilli(deadline)); left <= 0 || left > 30*time.Second {
		t.Errorf("deadline %d is %v away, want within the 30 s timeout", deadline, left)
	}

	// A second /next while invoking, a wrong id, a late init error.
	if resp, body := call(t, "GET", api+"/invocation/next", "", nil); resp.StatusCode != 403 {
		t.Errorf("next while invoking: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, body := call(t, "POST", api+"/invocation/other-id/response", `{}`, nil); resp.StatusCode != 400 || body != `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}` {
		t.Errorf("wrong id: %d %s, want 400 InvalidRequestID", resp.StatusCode, body)
	}
	if resp, _ := call(t, "POST", api+"/init/error", `{}`, nil); resp.StatusCode != 403 {
		t.Errorf("init error after init: %d, want 403", resp.StatusCode)
	}
	if resp, _ := call(t, "PUT", api+"/invocation/"+id+"/response", `{}`, nil); resp.StatusCode != 405 {
		t.Errorf("PUT response: %d, want 405", resp.StatusCode)
	}

	// An error whose body is not JSON: the header's type is used.
	resp, body = call(t, "POST", api+"/invocation/"+id+"/error", "plain failure", map[string]string{"Lambda-Runtime-Function-Error-Type": "Custom.Failure"})
	if resp.StatusCode != 202 || body != `{"status":"OK"}` {
		t.Errorf("error post: %d %s, want 202", resp.StatusCode, body)
	}
	r := <-res
	if r.ErrorType != "Custom.Failure" || string(r.Payload) != `{"errorType":"Custom.Failure","errorMessage":"plain failure"}` {
		t.Errorf("result %q %s", r.ErrorType, r.Payload)
	}
	// Answered already: a second response is an invalid state transition.
	if resp, _ := call(t, "POST", api+"/invocation/"+id+"/response", `{}`, nil); resp.StatusCode != 403 {
		t.Errorf("second response: %d, want 403", resp.StatusCode)
	}

	// 413 for an oversized response.
	go func() {
		r, _ := m.Invoke(context.Background(), "raw", nil)
		res <- r
	}()
	resp, _ = call(t, "GET", api+"/invocation/next", "", nil)
	id = resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	resp, body = call(t, "POST", api+"/invocation/"+id+"/response", strings.Repeat("x", MaxResponsePayload+1), nil)
	if resp.StatusCode != 413 || !strings.Contains(body, `"errorType":"RequestEntityTooLarge"`) {
		t.Errorf("big response: %d %s, want 413", resp.StatusCode, body)
	}
	if r := <-res; r.ErrorType != "Function.ResponseSizeTooLarge" {
		t.Errorf("big response result %q", r.ErrorType)
	}
}

func TestInitErrorEndpoint(t *testing.T) {
	m, rec := newTestManager(t, Options{})
	rawRuntime(t, m, "raw")
	res := make(chan Result, 1)
	go func() { r, _ := m.Invoke(context.Background(), "raw", nil); res <- r }()
	api := apiAddr(t, m, "raw")
	doc := `{"errorMessage":"Unable to import module 'app': No module named 'app'","errorType":"Runtime.ImportModuleError","requestId":"","stackTrace":[]}`
	resp, _ := call(t, "POST", api+"/init/error", doc, map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
	if resp.StatusCode != 202 {
		t.Fatalf("init error: %d", resp.StatusCode)
	}
	r := <-res
	if r.FunctionError != "Unhandled" || r.ErrorType != "Runtime.ImportModuleError" || string(r.Payload) != doc {
		t.Errorf("result %q %q %s", r.FunctionError, r.ErrorType, r.Payload)
	}
	golden(t, "init_error_logs", normalize(rec.linesOf(r.RequestID), r.RequestID))
}

func TestReportLineFormat(t *testing.T) {
	tests := []struct {
		r    report
		want string
	}{
		{report{RequestID: "r1", DurationMs: 12.34, BilledMs: 13, MemorySizeMB: 128, MaxMemoryMB: 23},
			"REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 23 MB"},
		{report{RequestID: "r2", DurationMs: 1.5, BilledMs: 47, MemorySizeMB: 256, MaxMemoryMB: 40, InitMs: 45.67},
			"REPORT RequestId: r2\tDuration: 1.50 ms\tBilled Duration: 47 ms\tMemory Size: 256 MB\tMax Memory Used: 40 MB\tInit Duration: 45.67 ms"},
		{report{RequestID: "r3", DurationMs: 3000.12, BilledMs: 3001, MemorySizeMB: 128, MaxMemoryMB: 20, Status: "timeout"},
			"REPORT RequestId: r3\tDuration: 3000.12 ms\tBilled Duration: 3001 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout"},
		{report{RequestID: "r4", DurationMs: 812.4, BilledMs: 813, MemorySizeMB: 256, MaxMemoryMB: 256, Status: "error", ErrorType: "Runtime.OutOfMemory"},
			"REPORT RequestId: r4\tDuration: 812.40 ms\tBilled Duration: 813 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\tStatus: error\tError Type: Runtime.OutOfMemory"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
	if got := formatStart("abc"); got != "START RequestId: abc Version: $LATEST" {
		t.Errorf("START = %q", got)
	}
	if got := formatEnd("abc"); got != "END RequestId: abc" {
		t.Errorf("END = %q", got)
	}
}

func TestRequestAndTraceIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := newRequestID()
		if !uuidRE.MatchString(id) || len(id) != 36 || seen[id] {
			t.Fatalf("bad or repeated request id %q", id)
		}
		seen[id] = true
	}
	tr := newTraceID(time.Unix(0x5759e988, 0))
	if !strings.HasPrefix(tr, "Root=1-5759e988-") || !strings.HasSuffix(tr, ";Sampled=0") || len(tr) != len("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0") {
		t.Errorf("trace id %q", tr)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"orders", "payments", "shipping"}
	for in, want := range map[string]string{"order": "orders", "paymnts": "payments", "zzz": "", "Shipping": "shipping"} {
		if got := suggestName(in, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if !slices.Contains(Runtimes, suggestName("python3.12x", Runtimes)) {
		t.Error("no runtime suggested for python3.12x")
	}
}
