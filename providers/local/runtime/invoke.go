package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"time"

	"github.com/evcli/evcli/providers"
)

// memPoll is how often a busy instance's memory is sampled.
const memPoll = 5 * time.Millisecond

// fullScanEvery is how often (in samples) descendants are rediscovered.
const fullScanEvery = 20

// invocation is one request to one instance.
type invocation struct {
	id        string
	payload   []byte
	arn       string
	traceID   string
	opt       InvokeOptions
	start     time.Time // the request was offered to the runtime
	deadline  time.Time
	delivered time.Time // the runtime received it (guarded by instance.mu)
	done      chan outcome

	// guarded by the instance's logPipe.mu
	started bool // START was written
	collect bool
	logs    []string
	// Handler output kept (logBytes, at most MaxLogBytes) and dropped.
	logBytes               int
	droppedBytes, droppedN int64
}

func newInvocation(m *Manager, fn string, payload []byte, opt InvokeOptions) *invocation {
	inv := &invocation{
		id:      newRequestID(),
		payload: payload,
		arn:     m.arn(fn),
		opt:     opt,
		traceID: opt.TraceID,
		done:    make(chan outcome, 1),
	}
	if inv.traceID == "" {
		inv.traceID = newTraceID(m.o.Now())
	}
	return inv
}

// newRequestID returns a random (version 4) UUID, as Lambda's request ids.
func newRequestID() string {
	h := []byte(randomHex(16))
	h[12] = '4'
	h[16] = "89ab"[h[16]%4]
	s := string(h)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// newTraceID returns an X-Ray trace header with a new root.
func newTraceID(now time.Time) string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), randomHex(12), randomHex(8))
}

type failure int

const (
	failNone     failure = iota
	failFunction         // the runtime posted an error
	failTimeout
	failOOM
	failExit
	failInit     // /runtime/init/error
	failTooLarge // response over 6 MB
)

// errorDoc is Lambda's error document.
type errorDoc struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

var errRetry = errors.New("instance died before the invocation was delivered")

// run performs one invocation on in. It returns errRetry when a warm
// instance turned out to be dead before it received the request.
func (m *Manager) run(in *instance, inv *invocation, cold bool) (Result, error) {
	spec := in.spec
	timeout := time.Duration(spec.TimeoutS) * time.Second
	var initDur time.Duration
	if cold {
		initTimer := time.NewTimer(InitTimeout + timeout)
		var f failure
		select {
		case <-in.ready:
		case <-in.initFail:
			f = failInit
		case <-in.exitCh:
			f = failExit
		case <-initTimer.C:
			f = failTimeout
		}
		initTimer.Stop()
		if f != failNone {
			// Prefer what the runtime said over how it ended.
			select {
			case <-in.initFail:
				f = failInit
			default:
			}
			initDur = m.o.Now().Sub(in.started)
			inv.start = m.o.Now()
			return m.finish(in, inv, f, outcome{}, initDur, true), nil
		}
		initDur = in.readyAt.Sub(in.started)
		in.proc.cpuDelta() // the init phase's CPU time is not the invocation's
	}

	inv.start = m.o.Now()
	inv.deadline = inv.start.Add(timeout)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case in.nextCh <- inv:
	case <-in.exitCh:
		if !cold {
			m.release(in, false)
			return Result{}, errRetry
		}
		return m.finish(in, inv, failExit, outcome{}, initDur, cold), nil
	case <-timer.C:
		in.kill()
		return m.finish(in, inv, failTimeout, outcome{}, initDur, cold), nil
	}

	ticker := time.NewTicker(memPoll)
	defer ticker.Stop()
	limitKB := int64(spec.MemoryMB) * 1024
	samples := 0
	f := failNone
	var o outcome
wait:
	for {
		select {
		case o = <-inv.done:
			break wait
		case <-timer.C:
			in.kill()
			f = failTimeout
			break wait
		case <-in.exitCh:
			select {
			case o = <-inv.done: // answered, then exited
				break wait
			default:
			}
			if f != failOOM {
				f = failExit
			}
			break wait
		case <-ticker.C:
			samples++
			if in.proc.sample(samples%fullScanEvery == 0) > limitKB {
				f = failOOM
				in.kill()
			}
		}
	}
	if f == failNone {
		switch {
		case o.tooLarge:
			f = failTooLarge
		case o.isError:
			f = failFunction
		}
	}
	return m.finish(in, inv, f, o, initDur, cold), nil
}

// finish writes the END and REPORT lines, the record, builds the result and
// gives the instance back (or discards it).
func (m *Manager) finish(in *instance, inv *invocation, f failure, o outcome, initDur time.Duration, cold bool) Result {
	spec := in.spec
	end := o.at
	if end.IsZero() {
		end = m.o.Now()
	}
	if f == failTimeout || f == failOOM || f == failExit || f == failInit {
		in.kill()
		select {
		case <-in.exitCh:
		case <-time.After(2 * time.Second):
		}
	}
	in.proc.sample(true)
	if f == failNone && in.proc.peakKB() > int64(spec.MemoryMB)*1024 {
		// It went over between two samples; on Lambda the kernel would
		// have stopped it there.
		f = failOOM
		in.kill()
	}
	cpu, wait := in.proc.cpuDelta()

	res := Result{RequestID: inv.id, InstanceID: in.id}
	var errLines []string
	switch f {
	case failNone:
		res.Payload = o.body
	case failFunction:
		res.Payload, res.ErrorType = functionErrorPayload(o.body, o.errorType)
	case failTooLarge:
		res.ErrorType = "Function.ResponseSizeTooLarge"
		res.Payload = mustJSON(errorDoc{ErrorType: res.ErrorType,
			ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload)})
	case failTimeout:
		res.ErrorType = "Sandbox.Timedout"
		msg := fmt.Sprintf("Task timed out after %.2f seconds", float64(spec.TimeoutS))
		res.Payload = mustJSON(errorDoc{ErrorType: res.ErrorType, ErrorMessage: fmt.Sprintf("RequestId: %s Error: %s", inv.id, msg)})
		errLines = []string{fmt.Sprintf("%s %s %s", end.UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, msg)}
	case failOOM:
		res.ErrorType = "Runtime.OutOfMemory"
		msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: signal: killed", inv.id)
		res.Payload = mustJSON(errorDoc{ErrorType: res.ErrorType, ErrorMessage: msg})
		errLines = []string{msg, res.ErrorType}
	case failExit:
		res.ErrorType = "Runtime.ExitError"
		msg := fmt.Sprintf("RequestId: %s Error: %s", inv.id, exitReason(in.exitErr))
		res.Payload = mustJSON(errorDoc{ErrorType: res.ErrorType, ErrorMessage: msg})
		errLines = []string{msg, res.ErrorType}
	case failInit:
		res.Payload, res.ErrorType = functionErrorPayload(in.initErr, in.initType)
	}
	if f != failNone {
		res.FunctionError = "Unhandled"
	}

	// Duration runs from the runtime receiving the event (as Lambda
	// measures it) to its answer, or to the failure.
	in.mu.Lock()
	from := inv.delivered
	in.mu.Unlock()
	if from.IsZero() || end.Before(from) {
		from = inv.start
	}
	dur := end.Sub(from)
	res.DurationMs = roundMs(dur)
	if cold {
		res.InitDurationMs = roundMs(initDur)
	}
	res.BilledDurationMs = int64(math.Ceil(res.DurationMs + res.InitDurationMs))
	if res.BilledDurationMs < 1 {
		res.BilledDurationMs = 1
	}
	res.MaxMemoryUsedMB = min(in.proc.peakMB(), spec.MemoryMB)
	if f == failOOM {
		res.MaxMemoryUsedMB = spec.MemoryMB
	}
	res.CPUTimeMs = float64(cpu.Microseconds()) / 1000
	res.CPUWaitMs = float64(wait.Microseconds()) / 1000

	rep := report{
		RequestID: inv.id, DurationMs: res.DurationMs, BilledMs: res.BilledDurationMs,
		MemorySizeMB: spec.MemoryMB, MaxMemoryMB: res.MaxMemoryUsedMB, InitMs: res.InitDurationMs,
	}
	outcomeName := "ok"
	switch f {
	case failFunction, failTooLarge:
		outcomeName = "error"
	case failTimeout:
		rep.Status, outcomeName = "timeout", "timeout"
	case failOOM:
		rep.Status, rep.ErrorType, outcomeName = "error", res.ErrorType, "oom"
	case failExit, failInit:
		rep.Status, rep.ErrorType, outcomeName = "error", res.ErrorType, "error"
	}
	var initReport string
	if f == failInit || (cold && !in.readySeenNow()) {
		initReport = formatInitReport(res.InitDurationMs, res.ErrorType)
	}
	res.Logs = in.logs.end(inv, initReport, errLines, rep.String())

	if m.o.Reports != nil {
		m.o.Reports(providers.InvocationRecord{
			Function: spec.Name, RequestID: inv.id, Time: inv.start,
			DurationMs: res.DurationMs, BilledDurationMs: res.BilledDurationMs,
			MemorySizeMB: spec.MemoryMB, MaxMemoryUsedMB: res.MaxMemoryUsedMB,
			InitDurationMs: res.InitDurationMs, CPUTimeMs: res.CPUTimeMs, CPUWaitMs: res.CPUWaitMs, Outcome: outcomeName,
		})
	}
	// A function's error leaves its instance in service, but not one whose
	// server stopped answering its host (host.go): that one is replaced.
	hostBroken := f == failFunction && res.ErrorType == hostErrorType
	m.release(in, (f == failNone || f == failFunction || f == failTooLarge) && !hostBroken)
	return res
}

func (in *instance) readySeenNow() bool {
	select {
	case <-in.ready:
		return true
	default:
		return false
	}
}

// functionErrorPayload returns the error document a runtime posted, or one
// built from its error type when the body is not a JSON object.
func functionErrorPayload(body []byte, headerType string) ([]byte, string) {
	var doc struct {
		ErrorType string `json:"errorType"`
	}
	if len(body) > 0 && json.Unmarshal(body, &doc) == nil {
		t := headerType
		if t == "" {
			t = doc.ErrorType
		}
		return body, t
	}
	if headerType == "" {
		headerType = "Runtime.Unknown"
	}
	msg := string(body)
	if msg == "" {
		msg = "Unknown application error occurred"
	}
	return mustJSON(errorDoc{ErrorType: headerType, ErrorMessage: msg}), headerType
}

// exitReason words a process end as Lambda does.
func exitReason(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "Runtime exited with error: " + ee.ProcessState.String()
	}
	if err != nil {
		return "Runtime exited with error: " + err.Error()
	}
	return "Runtime exited without providing a reason"
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func roundMs(d time.Duration) float64 {
	return math.Round(float64(d)/1e4) / 100
}
