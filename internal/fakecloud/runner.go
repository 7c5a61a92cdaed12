package fakecloud

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"

	"github.com/evcli/evcli/providers/gcp/gcptest"
	"github.com/evcli/evcli/providers/local/runtime"
)

// runner stands in for the cloud's runtime: it runs a deployed zip's own
// code. Event handlers run in evcli's local runtime, which plays the
// cloud's host for handlers written for it (providers/local/runtime,
// host.cjs and host.py); the gcp store writer, an HTTP function with no
// dependencies, runs under node against the Firestore emulator.
type runner struct {
	dir       string
	ownDir    bool
	log       io.Writer
	firestore string
	rt        *runtime.Manager

	mu       sync.Mutex
	deployed map[string]string // function -> source hash in rt
}

func newRunner(dir string, log io.Writer, firestoreAddr string) (*runner, error) {
	own := dir == ""
	if own {
		d, err := os.MkdirTemp("", "evcli-fakecloud-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	rt, err := runtime.New(runtime.Options{TempDir: dir, IdleTimeout: time.Minute,
		Warnf: func(format string, args ...any) { fmt.Fprintf(log, "fakecloud: "+format+"\n", args...) }})
	if err != nil {
		if own {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	return &runner{dir: dir, ownDir: own, log: log, firestore: firestoreAddr, rt: rt, deployed: map[string]string{}}, nil
}

func (r *runner) close() {
	r.rt.Close()
	if r.ownDir {
		os.RemoveAll(r.dir)
	}
}

// storeWriter is the gcp and azure drivers' writer function (its
// EVCLI_FUNCTION).
const storeWriter = "evcli-store-writer"

// invokeGCP runs a Cloud Function's code for one request to its URL.
func (r *runner) invokeGCP(fn *functionspb.Function, src []byte, h http.Header, body []byte) gcptest.Result {
	env := fn.GetServiceConfig().GetEnvironmentVariables()
	name := fn.Name[strings.LastIndex(fn.Name, "/")+1:]
	dir, sum, err := r.unpack(name, src)
	if err != nil {
		return failed(err)
	}
	if env["EVCLI_FUNCTION"] == storeWriter {
		return r.runHTTPNode(dir, fn.GetBuildConfig().GetEntryPoint(), env, body)
	}
	spec := runtime.FunctionSpec{
		Name:       name,
		Runtime:    lambdaRuntime(fn.GetBuildConfig().GetRuntime()),
		Handler:    fn.GetBuildConfig().GetEntryPoint(),
		CodeDir:    dir,
		MemoryMB:   memoryMiB(fn.GetServiceConfig().GetAvailableMemory()),
		TimeoutS:   int(fn.GetServiceConfig().GetTimeoutSeconds()),
		Env:        env,
		CodeSha256: sum,
	}
	res, err := r.invokeLocal(spec, body)
	if err != nil {
		return failed(err)
	}
	return gcptest.Result{Status: res.Status, Body: res.Body, Logs: res.Logs, MemoryMB: res.MemoryMB}
}

// localResult is one run of a function by the local runtime, as a cloud's
// host answers it.
type localResult struct {
	Status   int
	Body     []byte
	Logs     []string // the code's own lines (not the runtime's START/END/REPORT)
	MemoryMB int
}

// invokeLocal runs spec's code for payload (the EventBridge envelope) in
// the local runtime, which plays the cloud's host for handlers written for
// it (spec.Env says which), deploying it first when its code changed.
func (r *runner) invokeLocal(spec runtime.FunctionSpec, payload []byte) (localResult, error) {
	r.mu.Lock()
	if r.deployed[spec.Name] != spec.CodeSha256 {
		if err := r.rt.Deploy(spec); err != nil {
			r.mu.Unlock()
			return localResult{}, err
		}
		r.deployed[spec.Name] = spec.CodeSha256
	}
	r.mu.Unlock()
	timeout := time.Duration(max(spec.TimeoutS, 60)) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := r.rt.Invoke(ctx, spec.Name, payload)
	if err != nil {
		return localResult{}, err
	}
	out := localResult{Status: http.StatusOK, Body: res.Payload, MemoryMB: res.MaxMemoryUsedMB}
	if res.FunctionError != "" {
		out.Status = http.StatusInternalServerError
	}
	for _, l := range res.Logs {
		// The local runtime's START/END/REPORT lines are Lambda's; the
		// clouds write their own request records.
		if strings.HasPrefix(l, "START RequestId:") || strings.HasPrefix(l, "END RequestId:") ||
			strings.HasPrefix(l, "REPORT RequestId:") || strings.HasPrefix(l, "INIT_REPORT") {
			continue
		}
		out.Logs = append(out.Logs, strings.TrimRight(l, "\n"))
	}
	return out, nil
}

// runHTTPNode runs a Node.js HTTP function (exports[entry](req, res)) for
// one request, as the Functions Framework calls it.
func (r *runner) runHTTPNode(dir, entry string, env map[string]string, body []byte) gcptest.Result {
	if entry == "" {
		entry = "handler"
	}
	const shim = `const dir = process.argv[1], target = process.argv[2];
let main = "index.js";
try { main = require(dir + "/package.json").main || main; } catch (e) {}
const m = require(dir + "/" + main);
const raw = require("fs").readFileSync(0);
const res = { code: 200, status(c) { this.code = c; return this; }, send(b) { console.log("EVCLI_RESULT " + JSON.stringify({ status: this.code, body: String(b) })); } };
Promise.resolve(m[target]({ rawBody: raw, body: raw, headers: {} }, res)).catch((e) => console.log("EVCLI_RESULT " + JSON.stringify({ status: 500, body: String(e) })));`
	cmd := exec.Command("node", "--no-warnings", "-e", shim, dir, entry)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "FIRESTORE_EMULATOR_HOST=" + r.firestore}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	res := gcptest.Result{Status: http.StatusInternalServerError}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if v, ok := strings.CutPrefix(line, "EVCLI_RESULT "); ok {
			var a struct {
				Status int    `json:"status"`
				Body   string `json:"body"`
			}
			if json.Unmarshal([]byte(v), &a) == nil {
				res.Status, res.Body = a.Status, []byte(a.Body)
			}
			continue
		}
		if line != "" {
			res.Logs = append(res.Logs, line)
		}
	}
	if err != nil {
		res.Logs = append(res.Logs, "node: "+err.Error())
		fmt.Fprintf(r.log, "fakecloud: %s: node: %v\n", dir, err)
	}
	return res
}

// unpack writes a source zip under the runner's directory (once per
// content) and returns the directory and the content's hash.
func (r *runner) unpack(name string, src []byte) (string, string, error) {
	s := sha256.Sum256(src)
	sum := hex.EncodeToString(s[:])
	dir := filepath.Join(r.dir, "src", name+"-"+sum[:16])
	if _, err := os.Stat(dir); err == nil {
		return dir, sum, nil
	}
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return "", "", fmt.Errorf("function %s: its source is not a zip: %v", name, err)
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	for _, f := range zr.File {
		p := filepath.Join(tmp, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(p, tmp+string(filepath.Separator)) {
			return "", "", fmt.Errorf("function %s: zip entry %q leaves the directory", name, f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return "", "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", "", err
		}
		rc, err := f.Open()
		if err != nil {
			return "", "", err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return "", "", err
		}
		if err := os.WriteFile(p, b, f.Mode().Perm()|0o600); err != nil {
			return "", "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", "", err
	}
	return dir, sum, nil
}

// lambdaRuntime is a Cloud Functions runtime (nodejs20, python312) as the
// local runtime names it (nodejs20.x, python3.12).
func lambdaRuntime(rt string) string {
	switch {
	case strings.HasPrefix(rt, "python3") && len(rt) > len("python3"):
		return "python3." + strings.TrimPrefix(rt, "python3")
	case strings.HasPrefix(rt, "nodejs"):
		return rt + ".x"
	}
	return rt
}

// memoryMiB reads Cloud Functions' available_memory ("256M", "512Mi",
// "1Gi") in MiB; 256 when unreadable.
func memoryMiB(s string) int {
	s = strings.TrimSuffix(s, "i")
	mul := 1
	switch {
	case strings.HasSuffix(s, "G"):
		mul, s = 1024, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		s = strings.TrimSuffix(s, "M")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 256
	}
	return n * mul
}

func failed(err error) gcptest.Result {
	return gcptest.Result{Status: http.StatusInternalServerError, Body: []byte(err.Error()), Logs: []string{"fakecloud: " + err.Error()}}
}
