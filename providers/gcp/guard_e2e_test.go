package gcp

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/gcptest"
	"github.com/evcli/evcli/providers/gcp/guard"
	"github.com/evcli/evcli/providers/internal/guardwasm"
)

// nodeZip writes a Node.js function's zip (index.js exporting handler,
// which prints HANDLED <event id>) and returns its path and CodeSha256.
func nodeZip(t *testing.T, dir string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"index.js":     `exports.handler = (req, res) => { console.log("HANDLED " + JSON.parse(req.rawBody).id); res.status(200).send("ok"); };` + "\n",
		"package.json": `{"name":"big","version":"1.0.0","main":"index.js"}` + "\n",
	} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		w.Write([]byte(body))
	}
	zw.Close()
	path := filepath.Join(dir, "big.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return path, base64.StdEncoding.EncodeToString(sum[:])
}

// runNode stands in for Cloud Functions' Node.js runtime: the uploaded
// zip's package.json main, its export named by the entry point, called
// with the Functions Framework's (req, res) for an HTTP function.
func runNode(fn *functionspb.Function, src []byte, h http.Header, body []byte) gcptest.Result {
	dir, err := os.MkdirTemp("", "evcli-node-")
	if err != nil {
		return gcptest.Result{Status: 500, Logs: []string{err.Error()}}
	}
	defer os.RemoveAll(dir)
	if err := unzipTo(src, dir); err != nil {
		return gcptest.Result{Status: 500, Logs: []string{err.Error()}}
	}
	const shim = `const dir = process.argv[1], target = process.argv[2];
let main = "index.js";
try { main = require(dir + "/package.json").main || main; } catch (e) {}
const m = require(dir + "/" + main);
const raw = require("fs").readFileSync(0);
const headers = JSON.parse(process.env.EVCLI_TEST_HEADERS || "{}");
const res = { code: 200, status(c) { this.code = c; return this; }, send(b) { console.log("EVCLI_RESULT " + JSON.stringify({ status: this.code, body: String(b) })); } };
Promise.resolve(m[target]({ rawBody: raw, body: raw, headers }, res)).catch((e) => console.log("EVCLI_RESULT " + JSON.stringify({ status: 500, body: String(e) })));`
	hdr := map[string]string{}
	for k := range h {
		hdr[strings.ToLower(k)] = h.Get(k)
	}
	hb, _ := json.Marshal(hdr)
	cmd := exec.Command("node", "--no-warnings", "-e", shim, dir, fn.GetBuildConfig().GetEntryPoint())
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "EVCLI_TEST_HEADERS=" + string(hb)}
	for k, v := range fn.GetServiceConfig().GetEnvironmentVariables() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	res := gcptest.Result{Status: 500}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if r, ok := strings.CutPrefix(line, "EVCLI_RESULT "); ok {
			var v struct {
				Status int    `json:"status"`
				Body   string `json:"body"`
			}
			json.Unmarshal([]byte(r), &v)
			res.Status, res.Body = v.Status, []byte(v.Body)
			continue
		}
		res.Logs = append(res.Logs, line)
	}
	if err != nil {
		res.Logs = append(res.Logs, "node: "+err.Error())
	}
	return res
}

// TestGuardedNodeFunctionEndToEnd: with the opt-in, a Node.js function
// whose pattern reads the detail is deployed with evcli's entrypoint and
// the filter engine in its zip; Pub/Sub's filter lets both events through
// (it can read only the source), and the guard runs the handler for the
// one the pattern matches only. A redeploy with nothing changed writes
// nothing; a Python function with such a pattern is refused even with the
// opt-in (no guard is generated for it).
func TestGuardedNodeFunctionEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Skip(t, "node", "install Node.js 20 or later: the guarded function runs under it")
	}
	ctx := context.Background()
	var mu sync.Mutex
	var handled []string
	h, err := newHarness(t.TempDir(), gcptest.WithInvoke(func(fn *functionspb.Function, src []byte, hd http.Header, body []byte) gcptest.Result {
		r := runNode(fn, src, hd, body)
		mu.Lock()
		defer mu.Unlock()
		for _, l := range r.Logs {
			if id, ok := strings.CutPrefix(l, "HANDLED "); ok {
				handled = append(handled, id)
			}
		}
		return r
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.envOver = map[string]string{EnvGuard: ""}
	env := h.env()
	p, err := Open(ctx, providers.OpenOptions{Project: "shop", Dir: h.dir, Region: testRegion, CloudProject: testCloudProject,
		Sleep: fastSleep, Getenv: func(k string) string { return env[k] }, InFunctionGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if ch, err := p.Shared.PlanShared(ctx, false); err != nil || p.Shared.ApplyShared(ctx, ch, nil) != nil {
		t.Fatal(err)
	}
	path, sha := nodeZip(t, h.dir)
	pattern := `{"source":["shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`
	fd := providers.FunctionDeployment{Name: "big", Runtime: "nodejs22.x", Handler: "handler", MemoryMB: 256, TimeoutS: 30,
		ArtifactPath: path, CodeSha256: sha, Rules: []providers.RuleSpec{{ID: "big-0", Pattern: json.RawMessage(pattern)}}}
	if err := p.Deployer.(providers.RuleChecker).CheckRules([]providers.FunctionDeployment{fd}); err != nil {
		t.Fatalf("CheckRules with the opt-in: %v", err)
	}
	if err := p.Deployer.ApplyFunction(ctx, fd, true, nil); err != nil {
		t.Fatal(err)
	}
	f, _ := h.fake.Function("projects/" + testCloudProject + "/locations/" + testRegion + "/functions/" + FunctionID("shop", "big"))
	src, _ := h.fake.Source(f.Name)
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
	}
	for _, want := range []string{"index.js", "package.json", guard.EntryFile, guardwasm.EngineFile, guard.WasmFile} {
		if !slices.Contains(names, want) {
			t.Errorf("the uploaded zip has %v, not %s", names, want)
		}
	}
	ev := f.GetServiceConfig().GetEnvironmentVariables()
	if ev[EnvGuardMain] != "index.js" || !strings.Contains(ev[EnvGuardPatterns], `"big-0":`) || f.Labels[LabelGuard] == "" {
		t.Errorf("guard environment %v, labels %v", ev, f.Labels)
	}
	before := len(h.MutatingCalls())
	if err := p.Deployer.ApplyFunction(ctx, fd, false, nil); err != nil {
		t.Fatal(err)
	}
	if got := h.MutatingCalls()[before:]; len(got) != 0 {
		t.Errorf("redeploy wrote %v", got)
	}

	res, err := p.Bus.Publish(ctx, "", []providers.Event{
		{ID: "e-big", Source: "shop", DetailType: "Order", Detail: json.RawMessage(`{"amount":500}`)},
		{ID: "e-small", Source: "shop", DetailType: "Order", Detail: json.RawMessage(`{"amount":5}`)},
		{ID: "e-other", Source: "elsewhere", DetailType: "Order", Detail: json.RawMessage(`{"amount":500}`)},
	})
	if err != nil || res[0].ErrorCode != "" {
		t.Fatal(err, res)
	}
	if n, err := gcptest.Push(ctx, h.pubsubC, testCloudProject); err != nil || n != 2 {
		t.Fatalf("push: %d acknowledged, %v (want 2: the filter drops e-other, the guard acknowledges e-small)", n, err)
	}
	if !slices.Equal(handled, []string{"e-big"}) {
		t.Errorf("the handler ran for %v, want [e-big]", handled)
	}

	py := fd
	py.Name, py.Runtime, py.Handler = "pybig", "python3.12", "main.handler"
	err = p.Deployer.(providers.RuleChecker).CheckRules([]providers.FunctionDeployment{py})
	if providers.CodeOf(err) != providers.Unsupported || !strings.Contains(err.Error(), "generated for Node.js functions only") {
		t.Errorf("a guarded Python function: %v", err)
	}
}
