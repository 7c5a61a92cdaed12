package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/evcli/evcli/providers"
	lrt "github.com/evcli/evcli/providers/local/runtime"
	"github.com/evcli/evcli/providers/local/store"
)

// Tuner measures deployed functions at other memory sizes (tune memory
// --probe) and sets a function's memory (--apply).
type Tuner struct {
	dir    string
	region string
	// CgroupRoot overrides where CPU-limited groups are made (tests).
	CgroupRoot string
	// Notef reports what the probe could not do (say, limit CPU).
	Notef func(format string, args ...any)
}

// NewTuner returns a Tuner over the project's state in dir.
func NewTuner(o Options) *Tuner {
	return &Tuner{dir: o.Dir, region: o.Region, Notef: func(string, ...any) {}}
}

// Probe invokes a private copy of function fn at memoryMB, runs times, and
// returns one record per invocation (the first is a cold start). The live
// function is not touched: the copy runs in its own runtime, its events go
// to a sink that accepts and drops them, and where the machine allows it
// (a writable cgroup cpu controller) it gets CPU in Lambda's proportion,
// memoryMB/1769 of a core.
func (t *Tuner) Probe(ctx context.Context, fn string, memoryMB int, payload []byte, runs int) ([]providers.InvocationRecord, error) {
	db, err := store.Open(t.dir)
	if err != nil {
		return nil, err
	}
	rec, ok, err := db.Function(ctx, fn)
	var secrets secretRecord
	if err == nil && ok {
		secrets, err = readSecret(ctx, db, fn)
	}
	db.Close()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &providers.Error{Code: providers.NotFound, Resource: "function " + fn, Err: errors.New("not deployed"), Hint: "run evcli deploy first"}
	}
	if err := missingSecretError(fn, secrets); err != nil {
		return nil, err
	}
	sink, err := newEventSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	cg, cgErr := newCPUGroup(t.CgroupRoot, float64(memoryMB)/1769)
	if cgErr != nil {
		t.Notef("probe of %s at %d MB: CPU is not limited (%v); durations will not scale with memory", fn, memoryMB, cgErr)
	} else {
		defer cg.remove()
	}
	var mu sync.Mutex
	var out []providers.InvocationRecord
	rt, err := lrt.New(lrt.Options{
		Reports: func(r providers.InvocationRecord) {
			mu.Lock()
			out = append(out, r)
			mu.Unlock()
		},
		Started: func(_ string, pid int) {
			if cg != nil {
				if err := cg.add(pid); err != nil {
					t.Notef("probe of %s: %v", fn, err)
				}
			}
		},
		BaseEnv: map[string]string{
			"AWS_ENDPOINT_URL_EVENTBRIDGE": sink.URL(),
			"AWS_REGION":                   orDefault(t.region, lrt.DefaultRegion),
			"AWS_DEFAULT_REGION":           orDefault(t.region, lrt.DefaultRegion),
		},
		TempDir: filepath.Join(t.dir, "runtime"),
	})
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	env := map[string]string{}
	for k, v := range rec.Env {
		env[k] = v
	}
	for k, v := range secrets.Values {
		env[k] = v
	}
	spec := lrt.FunctionSpec{Name: fn, Runtime: rec.Runtime, Handler: rec.Handler, Architecture: rec.Architecture,
		CodeDir: rec.CodeDir, MemoryMB: memoryMB, TimeoutS: rec.TimeoutS, Concurrency: 1, Env: env, CodeSha256: rec.CodeSha256}
	if err := rt.Deploy(spec); err != nil {
		return nil, err
	}
	for i := 0; i < runs; i++ {
		if _, err := rt.Invoke(ctx, fn, payload); err != nil {
			return nil, err
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]providers.InvocationRecord(nil), out...), nil
}

// SetMemory sets a deployed function's memory and reloads it in a running
// server (tune memory --apply).
func (t *Tuner) SetMemory(ctx context.Context, fn string, memoryMB int) error {
	db, err := store.Open(t.dir)
	if err != nil {
		return err
	}
	defer db.Close()
	rec, ok, err := db.Function(ctx, fn)
	if err != nil {
		return err
	}
	if !ok {
		return &providers.Error{Code: providers.NotFound, Resource: "function " + fn, Err: errors.New("not deployed"), Hint: "run evcli deploy first"}
	}
	rec.MemoryMB = memoryMB
	if err := db.PutFunction(ctx, rec); err != nil {
		return err
	}
	return ReloadServer(t.dir)(ctx, fn)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// eventSink accepts PutEvents calls from probed handlers and drops them.
type eventSink struct {
	ln  net.Listener
	srv *http.Server
}

func newEventSink() (*eventSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &eventSink{ln: ln}
	var n int64
	var mu sync.Mutex
	s.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Entries []json.RawMessage }
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = json.Unmarshal(body, &req)
		entries := make([]map[string]string, len(req.Entries))
		mu.Lock()
		for i := range entries {
			n++
			entries[i] = map[string]string{"EventId": fmt.Sprintf("probe-%d", n)}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"FailedEntryCount": 0, "Entries": entries})
	})}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *eventSink) URL() string  { return "http://" + s.ln.Addr().String() }
func (s *eventSink) Close() error { return s.srv.Close() }

// cpuGroup is a cgroup that limits its processes to a share of CPU.
type cpuGroup struct {
	dir   string
	procs string // the file a pid is written to
}

// newCPUGroup makes a cgroup limited to cpus CPUs (capped at the machine's
// and Lambda's 6), in cgroup v2 (cpu.max) or v1 (cpu.cfs_quota_us).
func newCPUGroup(root string, cpus float64) (*cpuGroup, error) {
	cpus = min(cpus, 6, float64(runtime.NumCPU()))
	// A short period, so that an invocation of a few milliseconds already
	// gets its share: with the usual 100 ms, a 15 ms handler at 0.29 CPU
	// finishes inside one period's quota and is never slowed.
	const period = 20000
	quota := int(cpus * period)
	if quota < 1000 {
		quota = 1000 // the kernel's least quota: 0.05 CPU
	}
	name := fmt.Sprintf("evcli-probe-%d-%d", os.Getpid(), time.Now().UnixNano())
	bases := []string{"/sys/fs/cgroup", "/sys/fs/cgroup/cpu"} // v2, v1
	if root != "" {
		bases = []string{root}
	}
	var errs []error
	for _, base := range bases {
		dir := filepath.Join(base, name)
		v2 := fileExists(filepath.Join(base, "cgroup.controllers"))
		if v2 {
			ctrl, _ := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
			if !slices.Contains(strings.Fields(string(ctrl)), "cpu") {
				errs = append(errs, fmt.Errorf("%s: no cpu controller", base))
				continue
			}
		} else if !fileExists(filepath.Join(base, "cpu.cfs_period_us")) {
			errs = append(errs, fmt.Errorf("%s: not a cgroup cpu hierarchy", base))
			continue
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		var err error
		if v2 {
			err = os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(fmt.Sprintf("%d %d", quota, period)), 0o644)
		} else {
			err = os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0o644)
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o644)
			}
		}
		if err != nil {
			_ = os.Remove(dir)
			errs = append(errs, err)
			continue
		}
		return &cpuGroup{dir: dir, procs: filepath.Join(dir, "cgroup.procs")}, nil
	}
	return nil, errors.Join(errs...)
}

func (g *cpuGroup) add(pid int) error {
	return os.WriteFile(g.procs, []byte(strconv.Itoa(pid)), 0o644)
}

// remove deletes the group once its processes are gone.
func (g *cpuGroup) remove() {
	for i := 0; i < 50; i++ {
		if err := os.Remove(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
