// Package oracle runs evcli's pattern matcher side by side with event-ruler,
// the engine Amazon EventBridge runs, built from source by build.sh into
// build/ (never committed). It holds the oracle process client, a generator
// of (pattern, event) pairs, a minimiser and a classifier; the differential
// fuzzer is TestDiff. build.sh also builds ruler-bench, the event-ruler side
// of the speed comparison that bench.sh runs (TestVsRuler in package filter,
// java/evcli/oracle/RulerBench.java). Nothing here is linked into the evcli
// binary.
package oracle

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// Outcome is one engine's verdict on a (pattern, event) pair.
type Outcome string

const (
	Match      Outcome = "match"
	NoMatch    Outcome = "nomatch"
	PatternErr Outcome = "pattern-error"
	EventErr   Outcome = "event-error"
	Hang       Outcome = "hang" // the oracle did not answer in time
)

// Path returns the built oracle's launcher: $EVCLI_ORACLE, or build/oracle
// next to this file's directory. ok is false when it or java is absent.
func Path() (string, bool) {
	p := os.Getenv("EVCLI_ORACLE")
	if p == "" {
		_, file, _, _ := runtime.Caller(0)
		p = filepath.Join(filepath.Dir(file), "build", "oracle")
	}
	if _, err := os.Stat(p); err != nil {
		return p, false
	}
	if _, err := exec.LookPath("java"); err != nil {
		return p, false
	}
	return p, true
}

// Oracle is a running event-ruler driver process.
type Oracle struct {
	path string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	// Timeout bounds one answer; on expiry the process is restarted.
	Timeout time.Duration
}

// Start launches the oracle at path.
func Start(path string) (*Oracle, error) {
	o := &Oracle{path: path, Timeout: 20 * time.Second}
	return o, o.start()
}

func (o *Oracle) start() error {
	o.cmd = exec.Command(o.path)
	o.cmd.Stderr = os.Stderr
	in, err := o.cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := o.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	o.in, o.out = in, bufio.NewReaderSize(out, 1<<16)
	return o.cmd.Start()
}

// Close ends the process.
func (o *Oracle) Close() error {
	o.in.Close()
	return o.cmd.Wait()
}

type request struct {
	Pattern string `json:"pattern"`
	Event   string `json:"event"`
}

type answer struct {
	Match  *bool  `json:"match"`
	Error  string `json:"error"`
	Phase  string `json:"phase"`
	Legacy bool   `json:"legacy"`
	JSON   string `json:"jsonError"`
}

// Verdict is the oracle's outcome with its error text, if any.
type Verdict struct {
	Outcome Outcome
	Err     string
	// Legacy: event-ruler's JSON rule compiler rejected the pattern and
	// GenericMachine.addRule retried it with the legacy RuleCompiler.
	Legacy bool
	// JSONErr is the JSON rule compiler's message when Legacy.
	JSONErr string
}

// EvalAll evaluates pairs in order, streaming them to the process; a pair the
// process does not answer within Timeout is a Hang and the process restarts.
func (o *Oracle) EvalAll(pairs []Pair) []Verdict {
	res := make([]Verdict, 0, len(pairs))
	for len(res) < len(pairs) {
		rest := pairs[len(res):]
		done := make(chan struct{})
		go func() {
			w := bufio.NewWriterSize(o.in, 1<<16)
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for _, p := range rest {
				if enc.Encode(request{p.Pattern, p.Event}) != nil {
					break
				}
			}
			w.Flush()
			close(done)
		}()
		lines := make(chan []byte)
		errc := make(chan error, 1)
		go func() {
			for range rest {
				l, err := o.out.ReadBytes('\n')
				if err != nil {
					errc <- err
					return
				}
				lines <- l
			}
		}()
		restart := false
		for !restart && len(res) < len(pairs) {
			select {
			case l := <-lines:
				res = append(res, parseAnswer(l))
			case err := <-errc:
				res = append(res, Verdict{Outcome: Hang, Err: "oracle died: " + err.Error()})
				restart = true
			case <-time.After(o.Timeout):
				res = append(res, Verdict{Outcome: Hang, Err: fmt.Sprintf("no answer in %v", o.Timeout)})
				restart = true
			}
		}
		if restart {
			o.cmd.Process.Kill()
			o.in.Close()
			o.cmd.Wait()
			<-done
			if err := o.start(); err != nil {
				for len(res) < len(pairs) {
					res = append(res, Verdict{Outcome: Hang, Err: err.Error()})
				}
			}
			continue
		}
		<-done
	}
	return res
}

func parseAnswer(l []byte) Verdict {
	var a answer
	if err := json.Unmarshal(l, &a); err != nil {
		return Verdict{Outcome: Hang, Err: "bad answer: " + string(l)}
	}
	v := Verdict{Outcome: EventErr, Err: a.Error, Legacy: a.Legacy, JSONErr: a.JSON}
	switch {
	case a.Match != nil && *a.Match:
		v.Outcome = Match
	case a.Match != nil:
		v.Outcome = NoMatch
	case a.Phase == "pattern":
		v.Outcome = PatternErr
	}
	return v
}

// ErrAbsent says the oracle is not built.
var ErrAbsent = errors.New("event-ruler oracle not built: run EVENT_RULER_SRC=/path/to/event-ruler filter/oracle/build.sh (needs java 17)")
