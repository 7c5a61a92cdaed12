package asl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func golden(t *testing.T, path string, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fakeFunctions are the functions the test state machines call.
type fakeFunctions struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeFunctions) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[fn]++
	n := f.calls[fn]
	f.mu.Unlock()
	var in map[string]any
	_ = json.Unmarshal(payload, &in)
	lambdaErr := func(typ, msg string) error {
		b, _ := json.Marshal(map[string]any{"errorType": typ, "errorMessage": msg})
		if typ == "" {
			b, _ = json.Marshal(map[string]any{"errorMessage": msg})
		}
		return LambdaFailure(b)
	}
	switch fn {
	case "echo":
		return payload, nil
	case "add":
		a, _ := in["a"].(float64)
		b, _ := in["b"].(float64)
		return json.Marshal(map[string]any{"sum": a + b})
	case "fail":
		typ, _ := in["errorType"].(string)
		return nil, lambdaErr(typ, "failed on purpose")
	case "flaky":
		if k, _ := in["failures"].(float64); n <= int(k) {
			return nil, lambdaErr("Transient", fmt.Sprintf("attempt %d failed", n))
		}
		return json.Marshal(map[string]any{"attempts": n})
	case "payment":
		if in["failPayment"] == true {
			return nil, lambdaErr("PaymentError", "card declined")
		}
		return []byte(`{"paymentId":"p-1","status":"charged"}`), nil
	case "inventory":
		return []byte(`{"reservationId":"r-1"}`), nil
	case "shipment":
		if in["failShipment"] == true {
			return nil, lambdaErr("ShipmentError", "no carrier available")
		}
		return []byte(`{"trackingId":"t-1"}`), nil
	case "complete", "release", "refund":
		return []byte(`{"ok":true}`), nil
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("no function %q", fn)
}

// fakeClock advances only when slept on.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

type runCase struct {
	Input      any             `json:"input"`
	Definition json.RawMessage `json:"definition"`
}

func newExecutor(clock *fakeClock, events *[]Event) *Executor {
	return &Executor{
		Invoker: &fakeFunctions{},
		Now:     clock.Now,
		Sleep:   clock.Sleep,
		Rand:    rand.New(rand.NewPCG(1, 2)),
		Serial:  true,
		OnEvent: func(e Event) { *events = append(*events, e) },
	}
}

var testExecution = Execution{ID: "arn:aws:states:local:000000000000:execution:test:run-1", Name: "run-1",
	StateMachineID: "arn:aws:states:local:000000000000:stateMachine:test", StateMachineName: "test",
	StartTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}

// renderHistory prints one line per event, without times.
func renderHistory(events []Event) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%-18s", e.Type)
		if e.Scope != "" {
			fmt.Fprintf(&b, " [%s]", e.Scope)
		}
		if e.State != "" {
			fmt.Fprintf(&b, " %s", e.State)
		}
		if e.StateType != "" {
			fmt.Fprintf(&b, " (%s)", e.StateType)
		}
		if e.Function != "" {
			fmt.Fprintf(&b, " fn=%s#%d", e.Function, e.Attempt)
		} else if e.Attempt > 0 {
			fmt.Fprintf(&b, " attempt=%d", e.Attempt)
		}
		if e.DelayMs > 0 {
			fmt.Fprintf(&b, " delay=%gms", e.DelayMs)
		}
		if e.Error != "" {
			fmt.Fprintf(&b, " error=%s", e.Error)
		}
		if e.Next != "" {
			fmt.Fprintf(&b, " -> %s", e.Next)
		}
		if e.Type == StateExited || e.Type == ExecutionSucceeded {
			fmt.Fprintf(&b, " %s", e.Output)
		}
		if e.Type == ExecutionFailed {
			fmt.Fprintf(&b, " cause=%s", e.Cause)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestRun runs every testdata/run/*.json case serially with fake functions
// and a fake clock, and compares the history, output or failure, and the
// sleeps with testdata/run/*.golden.
func TestRun(t *testing.T) {
	files, _ := filepath.Glob("testdata/run/*.json")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c runCase
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			sm, err := ParseFile(file, c.Definition, Options{})
			if err != nil {
				t.Fatal(err)
			}
			clock := newClock()
			var events []Event
			e := newExecutor(clock, &events)
			e.Invoker.(*fakeFunctions).calls = nil
			out, err := e.Run(context.Background(), sm, testExecution, "", c.Input)
			var b strings.Builder
			b.WriteString(renderHistory(events))
			if err != nil {
				var f *Failure
				if !errors.As(err, &f) {
					t.Fatalf("error is not a Failure: %v", err)
				}
				fmt.Fprintf(&b, "\nFAILED %s: %s\n", f.Name, f.Cause)
			} else {
				o, _ := json.MarshalIndent(out, "", "  ")
				fmt.Fprintf(&b, "\nOUTPUT %s\n", o)
			}
			if len(clock.slept) > 0 {
				fmt.Fprintf(&b, "SLEPT %v\n", clock.slept)
			}
			golden(t, strings.TrimSuffix(file, ".json")+".golden", b.String())
		})
	}
}

// TestRunConcurrent runs the Parallel and Map cases concurrently: the same
// output as serially, whatever the interleaving (go test -race).
func TestRunConcurrent(t *testing.T) {
	for _, name := range []string{"parallel", "map", "map-legacy-iterator", "parallel-branch-fails"} {
		t.Run(name, func(t *testing.T) {
			data, _ := os.ReadFile("testdata/run/" + name + ".json")
			var c runCase
			_ = json.Unmarshal(data, &c)
			sm, err := ParseFile(name, c.Definition, Options{})
			if err != nil {
				t.Fatal(err)
			}
			results := map[bool]string{}
			for _, serial := range []bool{true, false} {
				var events []Event
				e := newExecutor(newClock(), &events)
				e.Serial = serial
				out, err := e.Run(context.Background(), sm, testExecution, "", c.Input)
				b, _ := json.Marshal(out)
				results[serial] = fmt.Sprint(string(b), err)
			}
			if results[true] != results[false] {
				t.Errorf("serial %s, concurrent %s", results[true], results[false])
			}
		})
	}
}

// TestMapMaxConcurrency: no more than MaxConcurrency items run at once.
func TestMapMaxConcurrency(t *testing.T) {
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,"ItemProcessor":{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"count","End":true}}},"End":true}}}`
	sm, err := ParseFile("m", []byte(def), Options{})
	if err != nil {
		t.Fatal(err)
	}
	inv := &countingInvoker{}
	e := &Executor{Invoker: inv}
	items := make([]any, 12)
	for i := range items {
		items[i] = float64(i)
	}
	out, err := e.Run(context.Background(), sm, testExecution, "", items)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(out.([]any)); got != 12 {
		t.Fatalf("%d results", got)
	}
	if inv.peak > 2 {
		t.Errorf("%d items ran at once, MaxConcurrency is 2", inv.peak)
	}
}

type countingInvoker struct {
	mu        sync.Mutex
	cur, peak int
}

func (c *countingInvoker) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	c.mu.Lock()
	c.cur++
	c.peak = max(c.peak, c.cur)
	c.mu.Unlock()
	for i := 0; i < 1000; i++ {
		// give the other goroutines a chance to overlap
		_ = ctx.Err()
	}
	c.mu.Lock()
	c.cur--
	c.mu.Unlock()
	return payload, nil
}

// TestBackoff: IntervalSeconds × BackoffRate^n, capped by MaxDelaySeconds;
// FULL jitter stays below the cap.
func TestBackoff(t *testing.T) {
	e := &Executor{Rand: rand.New(rand.NewPCG(3, 4))}
	r := Retrier{IntervalSeconds: 2, BackoffRate: 3, MaxDelaySeconds: 50, MaxAttempts: 5}
	var got []time.Duration
	for n := 0; n < 5; n++ {
		got = append(got, e.backoff(r, n))
	}
	want := []time.Duration{2 * time.Second, 6 * time.Second, 18 * time.Second, 50 * time.Second, 50 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	r.JitterFull = true
	for n := 0; n < 50; n++ {
		d := e.backoff(r, n%5)
		if d < 0 || d > want[n%5] {
			t.Fatalf("jittered delay %v outside [0, %v]", d, want[n%5])
		}
	}
}

// TestTaskTimeout: a task running past TimeoutSeconds fails with
// States.Timeout, which a States.TaskFailed retrier does not match.
func TestTaskTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits one second")
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"block","TimeoutSeconds":1,"End":true,
	  "Retry":[{"ErrorEquals":["States.TaskFailed"]}],"Catch":[{"ErrorEquals":["States.Timeout"],"Next":"C"}]},"C":{"Type":"Pass","End":true}}}`
	sm, err := ParseFile("t", []byte(def), Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &Executor{Invoker: &fakeFunctions{}}
	out, err := e.Run(context.Background(), sm, testExecution, "", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(map[string]any)["Error"]; got != "States.Timeout" {
		t.Errorf("caught %v, want States.Timeout", got)
	}
}

// TestResume: a checkpoint that stops the run (the process died) and a new
// Run from the checkpointed state finish the execution; the interrupted
// task is called again (at least once).
func TestResume(t *testing.T) {
	data, _ := os.ReadFile("testdata/run/saga-shipment-fails.json")
	var c runCase
	_ = json.Unmarshal(data, &c)
	sm, err := ParseFile("saga", c.Definition, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	e := newExecutor(newClock(), &events)
	type cp struct {
		state string
		input any
	}
	var last cp
	died := errors.New("killed")
	e.Checkpoint = func(state string, input any) error {
		last = cp{state, input}
		if state == "ReleaseInventory" {
			return died
		}
		return nil
	}
	if _, err := e.Run(context.Background(), sm, testExecution, "", c.Input); !errors.Is(err, died) {
		t.Fatalf("first run: %v", err)
	}
	var events2 []Event
	e2 := newExecutor(newClock(), &events2)
	_, err = e2.Run(context.Background(), sm, testExecution, last.state, last.input)
	var f *Failure
	if !errors.As(err, &f) || f.Name != "OrderFailed" {
		t.Fatalf("resumed run: %v", err)
	}
	var states []string
	for _, ev := range events2 {
		if ev.Type == StateEntered {
			states = append(states, ev.State)
		}
	}
	if got := strings.Join(states, ","); got != "ReleaseInventory,RefundPayment,FailOrderState" {
		t.Errorf("resumed states %s", got)
	}
	if events2[0].Type != ExecutionResumed {
		t.Errorf("first event %s", events2[0].Type)
	}
}

// TestInvalid parses every testdata/invalid/*.asl.json and compares the
// diagnostics (file:line:col) with the .golden next to it.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.asl.json")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, _ := os.ReadFile(file)
			_, err := ParseFile(filepath.Base(file), src, Options{Functions: []string{"payment", "inventory", "shipment"}})
			if err == nil {
				t.Fatal("no error")
			}
			golden(t, strings.TrimSuffix(file, ".asl.json")+".golden", err.Error()+"\n")
		})
	}
}

func TestPaths(t *testing.T) {
	input := map[string]any{"a": map[string]any{"b": []any{1.0, 2.0, 3.0}, "c d": "x"}, "n": nil}
	for _, c := range []struct {
		path, want string
	}{
		{"$", `{"a":{"b":[1,2,3],"c d":"x"},"n":null}`},
		{"$.a.b[1]", `2`},
		{"$.a.b[-1]", `3`},
		{"$['a']['c d']", `"x"`},
		{"$.n", `null`},
		{"$.a.b[*]", `[1,2,3]`},
		{"$.a.b[0:2]", `[1,2]`},
		{"$.a.b[?(@ >= 2)]", `[2,3]`},
		{"$.a.b[5]", `error`},
		{"$.x", `error`},
		{"$.a.b[7:]", `[]`},
		{"$..b", `[[1,2,3]]`},
	} {
		p, err := ParsePath(c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		v, err := p.Select(input, nil)
		got := "error"
		if err == nil {
			b, _ := MarshalJSON(v)
			got = string(b)
		}
		if got != c.want {
			t.Errorf("%s = %s, want %s", c.path, got, c.want)
		}
	}
	for _, bad := range []string{"", "a.b", "$.", "$[", "$[1", "$[?(@.a >)]", "$..", "$[::0]", "$[a]", "$.a[1,]"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestLambdaFailure(t *testing.T) {
	f := LambdaFailure([]byte(`{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 3.00 seconds"}`))
	if f.Name != "Sandbox.Timedout" || !strings.Contains(f.Cause, "timed out") {
		t.Errorf("%+v", f)
	}
	if f := LambdaFailure([]byte(`not json`)); f.Name != "Lambda.Unknown" {
		t.Errorf("%+v", f)
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		names []string
		err   string
		want  bool
	}{
		{[]string{"States.ALL"}, "Custom", true},
		{[]string{"States.ALL"}, "States.Runtime", false},
		{[]string{"States.TaskFailed"}, "Custom", true},
		{[]string{"States.TaskFailed"}, "States.Timeout", false},
		{[]string{"States.Timeout"}, "States.Timeout", true},
		{[]string{"A", "B"}, "B", true},
		{[]string{"A"}, "a", false},
	} {
		if got := matches(c.names, c.err); got != c.want {
			t.Errorf("matches(%v, %s) = %v", c.names, c.err, got)
		}
	}
}

var _ = sort.Strings

// TestExecutionTimeout: a machine's TimeoutSeconds ends the execution with
// States.Timeout, marked TimedOut (Step Functions' TIMED_OUT).
func TestExecutionTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits one second")
	}
	sm, err := ParseFile("t", []byte(`{"TimeoutSeconds":1,"StartAt":"T","States":{"T":{"Type":"Task","Resource":"block","End":true}}}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Executor{Invoker: &fakeFunctions{}}).Run(context.Background(), sm, testExecution, "", map[string]any{})
	var f *Failure
	if !errors.As(err, &f) || f.Name != "States.Timeout" || !f.TimedOut {
		t.Fatalf("got %v", err)
	}
}
