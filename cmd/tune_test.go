package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tune"
)

var tuneT0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const tuneProject = `project: shop
region: us-east-1
functions:
  # IO-bound: waits on DynamoDB
  orders:
    source: functions/orders
    runtime: nodejs22.x
    handler: index.handler
    memory: 1024 # set by hand
  thumbnails:
    source: functions/thumbnails
    runtime: provided.al2023
    architecture: arm64
    memory: 1024
`

// tuneMetrics is a fixed MetricsSource.
type tuneMetrics map[string][]providers.InvocationRecord

func (m tuneMetrics) Invocations(ctx context.Context, fn string, since, until time.Time) iter.Seq2[providers.InvocationRecord, error] {
	return func(yield func(providers.InvocationRecord, error) bool) {
		for _, r := range m[fn] {
			if r.Time.Before(since) || r.Time.After(until) {
				continue
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

func tuneRecords(fn string, n, mem int, d, cpu float64, used int) []providers.InvocationRecord {
	var out []providers.InvocationRecord
	for i := range n {
		r := providers.InvocationRecord{Function: fn, RequestID: fmt.Sprintf("%s-%d", fn, i), Time: tuneT0.Add(-time.Duration(i) * 30 * time.Second),
			MemorySizeMB: mem, DurationMs: d, BilledDurationMs: int64(tune.BilledMs(d)), MaxMemoryUsedMB: used, CPUTimeMs: cpu, Outcome: "ok"}
		if i == n-1 {
			r.InitDurationMs = 200
		}
		out = append(out, r)
	}
	return out
}

func defaultTuneMetrics() tuneMetrics {
	return tuneMetrics{
		"orders":     tuneRecords("orders", 2000, 1024, 100, 4, 70),        // IO-bound
		"thumbnails": tuneRecords("thumbnails", 2000, 1024, 900, 880, 200), // CPU-bound
	}
}

// tuneFakes are the prober and applier tuneFactory's provider has (tests
// setting them are not parallel).
var tuneFakes struct {
	prober  providers.Prober
	applier providers.MemorySetter
}

type tuneFactoryResult struct {
	f           *cmdutil.Factory
	out, errOut *syncBuf
	dir         string
}

func tuneFactory(t *testing.T, m providers.MetricsSource) tuneFactoryResult {
	t.Helper()
	io, _, _, _ := cmdutil.Test()
	out, errOut := &syncBuf{}, &syncBuf{}
	io.Out, io.ErrOut = out, errOut
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte(tuneProject), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"orders", "thumbnails"} {
		if err := os.MkdirAll(filepath.Join(dir, "functions", fn), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := &cmdutil.Factory{
		IO:      io,
		Globals: &cmdutil.Globals{File: filepath.Join(dir, "evcli.yaml"), Output: "text", Color: "auto"},
		Now:     func() time.Time { return tuneT0 },
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Getenv:  func(string) string { return "" },
		Environ: func() []string { return nil },
	}
	// The local provider as tests see it: these metrics, and the prober and
	// applier a test sets in tuneFakes (absent when nil).
	tuneFakes.prober, tuneFakes.applier = nil, nil
	f.OpenProvider = func(ctx context.Context, name string, o providers.OpenOptions) (*providers.Provider, error) {
		p := &providers.Provider{Name: name, Metrics: m, Missing: map[providers.Ability]string{
			providers.AbilityProbe: "no prober in this test", providers.AbilityMemory: "no applier in this test"}}
		if tuneFakes.prober != nil {
			p.Prober = tuneFakes.prober
		}
		if tuneFakes.applier != nil {
			p.Memory = tuneFakes.applier
		}
		return p, nil
	}
	return tuneFactoryResult{f: f, out: out, errOut: errOut, dir: dir}
}

func tuneGolden(t *testing.T, name, got string) {
	t.Helper()
	wd, _ := os.Getwd()
	assertGolden(t, filepath.Join(wd, "testdata", "tune", name+".golden"), got)
}

func TestTuneMemoryText(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	if code := Run(context.Background(), r.f, []string{"tune", "memory", "--since", "1d"}); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	tuneGolden(t, "text", r.out.String())
	if strings.Contains(r.out.String(), "\x1b[") {
		t.Fatal("colour in non-terminal output")
	}
}

func TestTuneMemoryTextTTY(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	r.f.IO.SetStdoutTTY(true)
	if code := Run(context.Background(), r.f, []string{"tune", "memory", "--function", "thumbnails", "--strategy", "speed"}); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	if !strings.Contains(r.out.String(), "\x1b[") {
		t.Fatal("no colour on a terminal")
	}
	tuneGolden(t, "tty", r.out.String())

	r = tuneFactory(t, defaultTuneMetrics())
	r.f.IO.SetStdoutTTY(true)
	r.f.IO.SetNoColorEnv(true)
	if code := Run(context.Background(), r.f, []string{"tune", "memory", "--function", "thumbnails"}); code != 0 || strings.Contains(r.out.String(), "\x1b[") {
		t.Fatalf("NO_COLOR not honoured (exit %d)", code)
	}
}

func TestTuneMemoryJSON(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	if code := Run(context.Background(), r.f, []string{"tune", "memory", "-o", "json", "--strategy", "balanced", "--weight", "0.3"}); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	tuneGolden(t, "json", r.out.String())
	lines := strings.Split(strings.TrimSpace(r.out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"type":"version"`) {
		t.Fatalf("want the version line then one line per function:\n%s", r.out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range rec {
		keys = append(keys, k)
	}
	want := "confidence currentMemoryMB estimates function monthlySavingUSD reason recommendedMemoryMB strategy type"
	if got := strings.Join(sortedStrings(keys), " "); got != want {
		t.Fatalf("keys %s, want %s", got, want)
	}
}

func sortedStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestTuneMemoryUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--strategy", "cheap"}, `invalid strategy "cheap": use cost, speed or balanced`},
		{[]string{"--since", "7x"}, `invalid --since "7x"`},
		{[]string{"--weight", "2"}, `invalid --weight 2`},
		{[]string{"--sizes", "64,128"}, `--sizes item 1: memory size "64" is out of range`},
		{[]string{"--function", "order"}, `no function "order" in evcli.yaml; did you mean "orders"?`},
		{[]string{"--probe"}, `--probe needs --payload`},
		{[]string{"--payload", "{}"}, `--payload is only used with --probe`},
		{[]string{"--max-increase", "half"}, `invalid --max-increase "half"`},
		{[]string{"--min-saving", "lots"}, `invalid --min-saving "lots"`},
	}
	for _, tt := range tests {
		r := tuneFactory(t, defaultTuneMetrics())
		t.Chdir(r.dir)
		r.f.Globals.File = "evcli.yaml"
		if code := Run(context.Background(), r.f, append([]string{"tune", "memory"}, tt.args...)); code != 2 {
			t.Errorf("%v: exit %d, want 2", tt.args, code)
		}
		if !strings.Contains(r.errOut.String(), tt.want) {
			t.Errorf("%v: stderr %q, want %q", tt.args, r.errOut, tt.want)
		}
	}
}

func TestTuneMemoryPayloadErrorNamesPosition(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	ev := filepath.Join(r.dir, "event.json")
	os.WriteFile(ev, []byte("{\n  \"id\": 1,\n  oops\n}"), 0o644)
	if code := Run(context.Background(), r.f, []string{"tune", "memory", "--probe", "--payload", "@" + ev}); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(r.errOut.String(), ev+":3:3: not valid JSON") {
		t.Fatalf("stderr %q", r.errOut)
	}
}

// fakeTuneProber measures a function whose duration is 100 ms at 1,024 MB
// and scales fully with CPU up to one vCPU.
type fakeTuneProber struct{ sizes []int }

func (p *fakeTuneProber) Probe(ctx context.Context, fn string, mem int, payload []byte, runs int) ([]providers.InvocationRecord, error) {
	p.sizes = append(p.sizes, mem)
	if string(payload) != `{"id":1}` {
		return nil, fmt.Errorf("payload %q", payload)
	}
	d := 100 * 1024 / float64(min(mem, 1769))
	var out []providers.InvocationRecord
	for i := range runs {
		r := providers.InvocationRecord{Function: fn, MemorySizeMB: mem, DurationMs: d, BilledDurationMs: int64(tune.BilledMs(d)), MaxMemoryUsedMB: 90, Outcome: "ok"}
		if i == 0 {
			r.InitDurationMs = 300
		}
		if mem == 128 {
			r.Outcome, r.MaxMemoryUsedMB = "oom", 128
		}
		out = append(out, r)
	}
	return out, nil
}

func TestTuneMemoryProbe(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	p := &fakeTuneProber{}
	tuneFakes.prober = p
	ev := filepath.Join(r.dir, "event.json")
	os.WriteFile(ev, []byte(`{"id":1}`), 0o644)
	code := Run(context.Background(), r.f, []string{"tune", "memory", "--function", "thumbnails", "--probe", "--payload", "@" + ev,
		"--sizes", "128,512,1769,3008", "--runs", "5", "--strategy", "speed", "-o", "json"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	// 128 MB is under the floor from the observed Max Memory Used (200 MB + 20%).
	if fmt.Sprint(p.sizes) != "[512 1024 1769 3008]" {
		t.Fatalf("probed %v (the current size must be included)", p.sizes)
	}
	tuneGolden(t, "probe", r.out.String())
	if !strings.Contains(r.errOut.String(), "probing thumbnails at 1024 MB (2/4, 5 runs)") {
		t.Fatalf("progress: %s", r.errOut)
	}
}

func TestTuneMemoryProbeUnavailable(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	code := Run(context.Background(), r.f, []string{"tune", "memory", "--probe", "--payload", "{}"})
	if code != 2 || !strings.Contains(r.errOut.String(), "tune memory --probe is not available on local: no prober in this test") {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
}

type fakeApplier struct {
	set map[string]int
	err error
}

func (a *fakeApplier) SetMemory(ctx context.Context, fn string, mb int) error {
	if a.err != nil {
		return a.err
	}
	a.set[fn] = mb
	return nil
}

func withApplier(t *testing.T, a providers.MemorySetter) {
	tuneFakes.applier = a
	t.Cleanup(func() { tuneFakes.applier = nil })
}

func TestTuneMemoryApply(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	a := &fakeApplier{set: map[string]int{}}
	withApplier(t, a)
	code := Run(context.Background(), r.f, []string{"tune", "memory", "--apply", "--yes", "--min-saving", "10%", "-o", "json"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	// orders (IO-bound) drops to 128 MB. thumbnails (98% CPU-bound) would be
	// 1.6% cheaper at 256 MB (only its IO part shrinks in GB-seconds) but
	// four times slower: under the 10% a slowdown must save
	// (--min-saving-for-slowdown), so it is not even recommended.
	if fmt.Sprint(a.set) != "map[orders:128]" {
		t.Fatalf("applied %v", a.set)
	}
	data, _ := os.ReadFile(filepath.Join(r.dir, "evcli.yaml"))
	if !strings.Contains(string(data), "    memory: 128 # set by hand\n") || !strings.Contains(string(data), "  # IO-bound: waits on DynamoDB\n") {
		t.Fatalf("evcli.yaml not updated in place:\n%s", data)
	}
	if !strings.Contains(r.out.String(), `{"type":"apply","function":"orders","fromMemoryMB":1024,"toMemoryMB":128,"applied":true}`) ||
		!strings.Contains(r.out.String(), `{"type":"apply","function":"thumbnails","fromMemoryMB":1024,"toMemoryMB":1024,"applied":false,"reason":"already at the recommended 1024 MB"}`) {
		t.Fatalf("apply records:\n%s", r.out)
	}
	if !strings.Contains(r.errOut.String(), "~ orders: memory 1024 MB -> 128 MB") {
		t.Fatalf("stderr: %s", r.errOut)
	}
}

func TestTuneMemoryApplyBounds(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	a := &fakeApplier{set: map[string]int{}}
	withApplier(t, a)
	// speed: thumbnails would go to 1,769 MB, more than +512 MB.
	code := Run(context.Background(), r.f, []string{"tune", "memory", "--function", "thumbnails", "--strategy", "speed", "--apply", "--yes", "--max-increase", "512"})
	if code != 0 || len(a.set) != 0 || !strings.Contains(r.errOut.String(), "thumbnails: not applied: 1769 MB is more than 512 MB above the current 1024 MB (--max-increase)") {
		t.Fatalf("exit %d applied %v: %s", code, a.set, r.errOut)
	}
}

func TestTuneMemoryApplyNeedsConfirmation(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	a := &fakeApplier{set: map[string]int{}}
	withApplier(t, a)
	code := Run(context.Background(), r.f, []string{"tune", "memory", "--apply"})
	if code != 2 || len(a.set) != 0 || !strings.Contains(r.errOut.String(), "use --yes to confirm when not running interactively") {
		t.Fatalf("exit %d applied %v: %s", code, a.set, r.errOut)
	}
}

func TestTuneMemoryApplyFailureKeepsFile(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	withApplier(t, &fakeApplier{err: errors.New("update failed: capacity")})
	code := Run(context.Background(), r.f, []string{"tune", "memory", "--apply", "--yes"})
	data, _ := os.ReadFile(filepath.Join(r.dir, "evcli.yaml"))
	if code != 1 || string(data) != tuneProject || !strings.Contains(r.errOut.String(), "! orders: update failed: capacity") {
		t.Fatalf("exit %d: %s\n%s", code, r.errOut, data)
	}
}

func TestTuneMemoryTooLittleData(t *testing.T) {
	r := tuneFactory(t, tuneMetrics{"orders": tuneRecords("orders", 4, 1024, 100, 4, 70)})
	if code := Run(context.Background(), r.f, []string{"tune", "memory", "--function", "orders", "--function", "thumbnails", "-o", "json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	tuneGolden(t, "too-little", r.out.String())
}

// TestTuneMemoryAWS runs the command against a local server speaking Logs
// Insights (JSON 1.1), CloudWatch GetMetricData (RPC v2 CBOR, answered with
// no data points: the counts then come from the records) and Lambda's
// REST-JSON configuration calls, found through AWS_ENDPOINT_URL.
func TestTuneMemoryAWS(t *testing.T) {
	var mu sync.Mutex
	reportMem, memory, updates := 1024, 1024, 0
	published, livever := 0, 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch target := r.Header.Get("X-Amz-Target"); {
		case target == "Logs_20140328.StartQuery":
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			fmt.Fprint(w, `{"queryId":"q"}`)
		case target == "Logs_20140328.GetQueryResults":
			var rows [][]map[string]string
			for i := range 150 {
				rows = append(rows, []map[string]string{
					{"field": "@timestamp", "value": tuneT0.Add(-time.Duration(i) * time.Minute).Format("2006-01-02 15:04:05.000")},
					{"field": "@message", "value": fmt.Sprintf("REPORT RequestId: r%d\tDuration: 250.00 ms\tBilled Duration: 250 ms\tMemory Size: %d MB\tMax Memory Used: 80 MB\t", i, reportMem)},
				})
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			json.NewEncoder(w).Encode(map[string]any{"status": "Complete", "results": rows})
		case strings.HasSuffix(r.URL.Path, "/operation/GetMetricData"):
			w.Header().Set("Content-Type", "application/cbor")
			w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
			// {"MetricDataResults": []}
			w.Write(append([]byte{0xa1, 0x71}, append([]byte("MetricDataResults"), 0x80)...))
		case r.URL.Path == "/2015-03-31/functions/shop-orders/configuration" && r.Method == http.MethodPut:
			var in struct{ MemorySize int }
			json.NewDecoder(r.Body).Decode(&in)
			memory, updates = in.MemorySize, updates+1
			fmt.Fprintf(w, `{"FunctionName":"orders","MemorySize":%d,"State":"Active","LastUpdateStatus":"InProgress"}`, memory)
		case r.URL.Path == "/2015-03-31/functions/shop-orders/versions" && r.Method == http.MethodPost:
			published++
			fmt.Fprintf(w, `{"FunctionName":"shop-orders","Version":"%d","MemorySize":%d}`, published+1, memory)
		case r.URL.Path == "/2015-03-31/functions/shop-orders/aliases/live" && r.Method == http.MethodGet:
			fmt.Fprintf(w, `{"Name":"live","FunctionVersion":"%d"}`, livever)
		case r.URL.Path == "/2015-03-31/functions/shop-orders/aliases/live" && r.Method == http.MethodPut:
			var in struct{ FunctionVersion string }
			json.NewDecoder(r.Body).Decode(&in)
			fmt.Sscan(in.FunctionVersion, &livever)
			fmt.Fprintf(w, `{"Name":"live","FunctionVersion":%q}`, in.FunctionVersion)
		case r.URL.Path == "/2015-03-31/functions/shop-orders/configuration":
			fmt.Fprintf(w, `{"FunctionName":"orders","MemorySize":%d,"State":"Active","LastUpdateStatus":"Successful"}`, memory)
		default:
			t.Errorf("unexpected %s %s %s", r.Method, r.URL.Path, target)
			w.WriteHeader(400)
		}
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	awsProject := func(r tuneFactoryResult, mem int) {
		proj := strings.Replace(tuneProject, "region: us-east-1\n", "provider: aws\nregion: eu-west-1\n", 1)
		proj = strings.Replace(proj, "memory: 1024 # set by hand", fmt.Sprintf("memory: %d # set by hand", mem), 1)
		os.WriteFile(filepath.Join(r.dir, "evcli.yaml"), []byte(proj), 0o644)
		r.f.OpenProvider = openRegistered
	}

	// 150 invocations at 1,024 MB, CPU share unknown: larger sizes are
	// assumed no faster, so the cost strategy keeps 1,024 MB.
	r := tuneFactory(t, nil)
	awsProject(r, 1024)
	code := Run(context.Background(), r.f, []string{"tune", "memory", "--function", "orders", "-o", "json", "--sizes", "1769,3008", "--apply", "--yes"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	if !strings.Contains(r.out.String(), `"function":"orders","strategy":"cost","currentMemoryMB":1024,"recommendedMemoryMB":1024`) ||
		!strings.Contains(r.out.String(), `"confidence":"medium"`) || updates != 0 {
		t.Fatalf("updates %d, output:\n%s", updates, r.out)
	}

	// At 3,008 MB: 1,769 MB is as fast for a single-threaded handler and
	// cheaper; --apply updates the function, waits, and edits evcli.yaml.
	mu.Lock()
	reportMem, memory = 3008, 3008
	mu.Unlock()
	r = tuneFactory(t, nil)
	awsProject(r, 3008)
	code = Run(context.Background(), r.f, []string{"tune", "memory", "--function", "orders", "--apply", "--yes", "--sizes", "1769"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	data, _ := os.ReadFile(filepath.Join(r.dir, "evcli.yaml"))
	if updates != 1 || memory != 1769 || !strings.Contains(string(data), "memory: 1769 # set by hand") {
		t.Fatalf("updates %d memory %d\n%s\n%s", updates, memory, r.errOut, data)
	}
	// The new memory is live: a version was published and live moved.
	if published != 1 || livever != 2 || !strings.Contains(r.errOut.String(), "published version 2, live 1 -> 2") {
		t.Fatalf("published %d live %d\n%s", published, livever, r.errOut)
	}
}

type cancellingProber struct{ cancel context.CancelFunc }

func (p cancellingProber) Probe(ctx context.Context, fn string, mem int, payload []byte, runs int) ([]providers.InvocationRecord, error) {
	p.cancel()
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestTuneMemoryProbeInterruptedExits130(t *testing.T) {
	r := tuneFactory(t, defaultTuneMetrics())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tuneFakes.prober = cancellingProber{cancel}
	if code := Run(ctx, r.f, []string{"tune", "memory", "--probe", "--payload", "{}"}); code != cmdutil.ExitInterrupted {
		t.Fatalf("exit %d: %s", code, r.errOut)
	}
	if r.out.String() != "" {
		t.Fatalf("printed a report after the interruption:\n%s", r.out)
	}
}
