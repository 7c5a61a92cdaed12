package runtime

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goHandlerDir is a code directory holding testfn built as "bootstrap"; it
// is built on first use (buildGoHandler), not for fuzzing workers.
var (
	goHandlerDir string
	tmpRoot      string
	buildOnce    sync.Once
	buildErr     error
)

func buildGoHandler(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		goHandlerDir = filepath.Join(tmpRoot, "go")
		// -trimpath and the tag as evcli's packaging (deploy.GoBuildArgs)
		// builds, so aws-lambda-go is compiled once for both.
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", filepath.Join(goHandlerDir, "bootstrap"), "./testdata/handlers/testfn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building the test handler: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return goHandlerDir
}

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	tmpRoot, err = os.MkdirTemp("", "evcli-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// recorder collects what a Manager reports.
type recorder struct {
	mu      sync.Mutex
	lines   []LogLine
	reports []providers.InvocationRecord
}

func (r *recorder) log(l LogLine) {
	r.mu.Lock()
	r.lines = append(r.lines, l)
	r.mu.Unlock()
}

func (r *recorder) report(rec providers.InvocationRecord) {
	r.mu.Lock()
	r.reports = append(r.reports, rec)
	r.mu.Unlock()
}

func (r *recorder) linesOf(requestID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if l.RequestID == requestID {
			out = append(out, l.Text)
		}
	}
	return out
}

func newTestManager(t *testing.T, o Options) (*Manager, *recorder) {
	t.Helper()
	buildGoHandler(t)
	rec := &recorder{}
	o.Logs = rec.log
	o.Reports = rec.report
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, rec
}

func deploy(t *testing.T, m *Manager, spec FunctionSpec) {
	t.Helper()
	if spec.Runtime == "" {
		spec.Runtime = ProvidedAL2023
	}
	if spec.CodeDir == "" {
		spec.CodeDir = goHandlerDir
	}
	if err := m.Deploy(spec); err != nil {
		t.Fatalf("Deploy(%s): %v", spec.Name, err)
	}
}

func invoke(t *testing.T, m *Manager, fn string, payload string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := m.Invoke(ctx, fn, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s, %s): %v", fn, payload, err)
	}
	return r
}

var (
	uuidRE    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
	numberRE  = regexp.MustCompile(`\d+(\.\d+)?`)
	isoTimeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`)
	goLogTime = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d `)
)

// normalize replaces what varies between runs (ids, numbers, times) in log
// lines so that they can be compared with golden files.
func normalize(lines []string, id string) string {
	var b strings.Builder
	for _, l := range lines {
		l = strings.ReplaceAll(l, id, "<id>")
		l = isoTimeRE.ReplaceAllString(l, "<time>")
		l = goLogTime.ReplaceAllString(l, "<gotime> ")
		if strings.HasPrefix(l, "REPORT ") || strings.HasPrefix(l, "INIT_REPORT ") {
			l = numberRE.ReplaceAllString(l, "N")
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
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
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got ---\n%s--- want ---\n%s", name, path, got, want)
	}
}

func jsonOf(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("payload %s: %v", b, err)
	}
	return v
}

func timeNowForTest() time.Time { return time.Unix(1700000000, 0) }
