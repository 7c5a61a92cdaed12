package main

// End-to-end tests: they build the evcli binary and drive it as a user
// would, against the local provider, in temporary project directories.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/cmd"
	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

var evcliBin string

// slowdown is how many times slower than on a quiet machine this one
// starts a process now (1 at least), measured in TestMain. End-to-end
// tests wait for things to happen, never assert how fast: each wait is a
// budget for the work to happen at all, and budget scales it by slowdown,
// so that a loaded machine gets proportionally longer instead of failing.
var slowdown = 1.0

// quietStart is how long `evcli version` takes on a quiet 2-core machine
// (a process start and Go runtime init; 10-20 ms measured).
// A -race build starts about three times slower (the race runtime maps its
// shadow memory), which says nothing about the machine.
const quietStart = 20 * time.Millisecond

const quietStartRace = 3 * quietStart

// budget is d scaled by slowdown.
func budget(d time.Duration) time.Duration { return time.Duration(float64(d) * slowdown) }

// measureSlowdown times `evcli version` five times and sets slowdown from
// the median (at most 10), saying so on stderr when the machine is
// noticeably slow.
func measureSlowdown() {
	var took []time.Duration
	for range 5 {
		start := time.Now()
		if err := exec.Command(evcliBin, "version").Run(); err != nil {
			return
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	median := took[len(took)/2]
	quiet := quietStart
	if raceBuild {
		quiet = quietStartRace
	}
	slowdown = min(max(float64(median)/float64(quiet), 1), 10)
	if slowdown >= 2 {
		fmt.Fprintf(os.Stderr, "e2e: starting a process takes %s here (%.1fx a quiet machine): waits are scaled by that\n",
			median.Round(time.Millisecond), slowdown)
	}
}

// raceBuild is set under go test -race (e2e_race_test.go): evcli, the
// test binary itself, then runs with the race detector as well.
var raceBuild bool

// asEvcli makes the test binary run as evcli (TestMain).
const asEvcli = "EVCLI_E2E_AS_EVCLI"

func TestMain(m *testing.M) {
	// The test binary is evcli as well: run as "evcli" (the name the tests
	// call it by) or with asEvcli set, it is the command, not the tests.
	if os.Getenv(asEvcli) == "1" || strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == "evcli" {
		os.Exit(cmd.Main())
	}
	if os.Getenv("EVCLI_E2E_SKIP") != "" {
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "evcli-e2e-")
	if err != nil {
		panic(err)
	}
	evcliBin = filepath.Join(dir, "evcli")
	if runtime.GOOS == "windows" {
		evcliBin += ".exe"
	}
	// evcli is this binary under another name, rather than a second go
	// build: the same code, compiled with the same flags (-race under
	// go test -race, so the tests look for data races in evcli itself),
	// without linking a second 150 MB race binary (about 25 CPU-seconds).
	self, err := os.Executable()
	if err == nil {
		err = os.Symlink(self, evcliBin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "making evcli of the test binary:", err)
		os.Exit(1)
	}
	_ = os.Setenv(asEvcli, "1") // for the processes the tests start
	if raceBuild {
		// The race runtime sleeps a second before every exit so that
		// reports from other goroutines can finish; evcli runs hundreds
		// of times here, and 66 stays the exit code of a reported race.
		_ = os.Setenv("GORACE", strings.TrimSpace("atexit_sleep_ms=0 "+os.Getenv("GORACE")))
	}
	measureSlowdown()
	// The tests mostly wait on the processes they start, so more of them
	// run at once than the default -parallel (GOMAXPROCS, 2 here) unless
	// the command line says otherwise.
	flag.Parse()
	if !flagSet("test.parallel") {
		_ = flag.Set("test.parallel", fmt.Sprint(max(4, runtime.GOMAXPROCS(0))))
	}
	code := testenv.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// flagSet reports whether the command line set the named flag.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs evcli in dir with args and returns its output and exit code.
func run(t *testing.T, dir string, stdin string, args ...string) result {
	t.Helper()
	return runWith(t, dir, stdin, nil, nil, args...)
}

// runWith is run with extra environment variables env; the variables named
// in unset are removed from evcli's environment first.
func runWith(t *testing.T, dir, stdin string, env, unset []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget(4*time.Minute))
	defer cancel()
	cmd := exec.CommandContext(ctx, evcliBin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(unset, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "NO_COLOR=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("evcli %v: %v", args, err)
	}
	noRace(t, args, errb.String())
	return result{out.String(), errb.String(), code}
}

// noRace fails the test when evcli's stderr holds a race detector report
// (only a -race build writes one).
func noRace(t *testing.T, args []string, stderr string) {
	t.Helper()
	if i := strings.Index(stderr, "WARNING: DATA RACE"); i >= 0 {
		t.Errorf("evcli %s: the race detector reported:\n%s", strings.Join(args, " "), stderr[i:])
	}
}

// must runs evcli and fails the test unless it exits 0.
func must(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := run(t, dir, "", args...)
	if r.code != 0 {
		t.Fatalf("evcli %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// records decodes -o json output into its records of the given type.
func records(t *testing.T, out, typ string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		if m["type"] == typ {
			recs = append(recs, m)
		}
	}
	return recs
}

// storedLogs reads every log line of the project's local store.
func storedLogs(t *testing.T, projectDir string) []providers.LogLine {
	t.Helper()
	db, err := store.Open(filepath.Join(projectDir, ".evcli"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ch, errc := db.Logs(context.Background(), providers.LogQuery{})
	var lines []providers.LogLine
	for l := range ch {
		lines = append(lines, l)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return lines
}

func needInterpreter(t *testing.T, lang string) {
	t.Helper()
	bin := map[string]string{"node": "node", "python": "python3"}[lang]
	if bin == "" {
		return
	}
	if _, err := exec.LookPath(bin); err != nil {
		testenv.Skip(t, bin, "install it to run the "+lang+" end-to-end tests")
	}
}

func TestFanOutEndToEnd(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"go", "node", "python"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			needInterpreter(t, lang)
			root := t.TempDir()
			must(t, root, "init", "shop", "--template", "fan-out", "--lang", lang)
			dir := filepath.Join(root, "shop")
			must(t, dir, "deploy")
			r := must(t, dir, "send", "events/order-created.json", "--wait", "-o", "json")
			dels := records(t, r.stdout, "delivery")
			got := map[string]int{}
			corr := map[string]bool{}
			for _, d := range dels {
				got[d["function"].(string)]++
				if d["status"] != "ok" {
					t.Errorf("delivery to %v: %v (%v)", d["function"], d["status"], d["error"])
				}
				corr[fmt.Sprint(d["correlationId"])] = true
			}
			for _, fn := range []string{"inventory", "payment", "notification", "analytics"} {
				if got[fn] != 1 {
					t.Errorf("%s ran %d times, want once; deliveries: %v", fn, got[fn], dels)
				}
			}
			if len(dels) != 4 {
				t.Errorf("got %d deliveries, want 4", len(dels))
			}
			if len(corr) != 1 || corr[""] || corr["<nil>"] {
				t.Errorf("correlation ids %v, want one shared id", corr)
			}
			// every target logged a REPORT line, and its JSON log lines carry the id
			reports := map[string]int{}
			for _, l := range storedLogs(t, dir) {
				if strings.HasPrefix(l.Message, "REPORT RequestId: ") {
					reports[l.Function]++
					for _, field := range []string{"Duration: ", "Billed Duration: ", "Memory Size: ", "Max Memory Used: "} {
						if !strings.Contains(l.Message, field) {
							t.Errorf("REPORT line lacks %q: %s", field, l.Message)
						}
					}
				}
			}
			// One REPORT per attempt. A cold start slower than the init
			// budget (a Python import on a loaded machine can take >10 s)
			// ends its attempt with a timeout REPORT and the delivery is
			// retried: that is the runtime working, not a failure, and how
			// long an init takes is not this test's business.
			for _, fn := range []string{"inventory", "payment", "notification", "analytics"} {
				switch {
				case reports[fn] == 0:
					t.Errorf("%s has no REPORT line", fn)
				case reports[fn] > 1:
					t.Logf("%s has %d REPORT lines: an attempt was retried (slow init on a loaded machine?)", fn, reports[fn])
				}
			}
			// an event no rule matches says so and how to find out why
			os.WriteFile(filepath.Join(dir, "stray.json"), []byte(`{"source":"nobody","detail-type":"Stray","detail":{}}`), 0o644)
			if r := must(t, dir, "send", "stray.json", "--wait"); !strings.Contains(r.stderr, "no rule matched: nothing ran. See why with: evcli filter test --rule ") {
				t.Errorf("send of an unmatched event:\n%s", r.stderr)
			}
			// a second deploy with nothing changed touches nothing
			r = must(t, dir, "deploy", "-o", "json")
			for _, p := range records(t, r.stdout, "plan") {
				if p["action"] != "unchanged" {
					t.Errorf("second deploy plans %v for %v", p["action"], p["function"])
				}
			}
		})
	}
}
