package azure

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/azure/aztest"
)

// testZip is a deterministic zip of files (sorted by name).
func testZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[n]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeArtifact writes files as a zip under dir: its path and code hash.
func writeArtifact(t testing.TB, dir, name string, files map[string]string) (string, string) {
	t.Helper()
	b := testZip(t, files)
	sum := sha256.Sum256(b)
	path := filepath.Join(dir, name+"-"+hex.EncodeToString(sum[:4])+".zip")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, base64.StdEncoding.EncodeToString(sum[:])
}

// Handlers written as the templates write them (templates/files/_azure).
const (
	nodeHandlerJS = `'use strict';
const { app } = require('@azure/functions');
app.eventGrid('payment', {
  handler: async (event, context) => {
    console.log('HANDLED ' + event.id + ' ' + context.invocationId);
    if (event.data && event.data.fail) throw new TypeError('bad order ' + event.id);
    return { ok: event.id, type: event.type };
  },
});
`
	nodePackageJSON = `{
  "name": "payment-function",
  "version": "1.0.0",
  "main": "index.js",
  "dependencies": { "@azure/functions": "^4.16.5" }
}
`
	pythonHandlerPy = `import azure.functions as func

app = func.FunctionApp()


@app.event_grid_trigger(arg_name="grid_event")
def payment(grid_event: func.EventGridEvent):
    print("HANDLED %s %s" % (grid_event.id, grid_event.event_type), flush=True)
    data = grid_event.get_json() or {}
    if data.get("fail"):
        raise ValueError("bad order " + grid_event.id)
    return {"ok": grid_event.id, "type": grid_event.event_type}
`
	goFunctionJSON = `{"bindings": [{"type": "eventGridTrigger", "direction": "in", "name": "event"}]}`
	goHostJSON     = `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "bootstrap"}, "enableForwardingHttpRequest": false}}`
)

var nodeFiles = map[string]string{"index.js": nodeHandlerJS, "package.json": nodePackageJSON, "host.json": `{"version": "2.0"}`}

// TestEntryZip: the package deploy publishes for each runtime (the zip's
// listing and manifest, against testdata/entry/<case>.golden), the same
// bytes every time, and the refusals of code evcli cannot wire, each
// naming the file.
func TestEntryZip(t *testing.T) {
	cases := []struct {
		name, runtime, handler string
		files                  map[string]string
		guarded                bool
		wantErr                string
	}{
		{name: "node", runtime: "nodejs20.x", handler: "index.payment", files: nodeFiles},
		{name: "node-guarded", runtime: "nodejs20.x", handler: "index.payment", files: nodeFiles, guarded: true},
		{name: "node-no-package-json", runtime: "nodejs20.x", handler: "", files: map[string]string{"index.js": nodeHandlerJS}},
		{name: "node-plain-export", runtime: "nodejs20.x", handler: "app.handler", files: map[string]string{"app.js": "exports.handler = async (e) => e;\n"}},
		{name: "python", runtime: "python3.12", handler: "function_app.payment", files: map[string]string{"function_app.py": pythonHandlerPy, "host.json": `{"version": "2.0"}`, "requirements.txt": "azure-functions\n"}},
		{name: "python-plain", runtime: "python3.12", handler: "app.handler", files: map[string]string{"app.py": "def handler(event, context):\n    return event\n"}},
		{name: "go", runtime: "go", handler: "bootstrap", files: map[string]string{"bootstrap": "\x7fELF", "host.json": goHostJSON, "payment/function.json": goFunctionJSON}},

		{name: "node-two", runtime: "nodejs20.x", handler: "index.payment", files: map[string]string{"index.js": nodeHandlerJS + "app.eventGrid('refund', { handler: () => {} });\n"},
			wantErr: "index.js registers 2 Event Grid functions (payment, refund) with app.eventGrid"},
		{name: "node-none", runtime: "nodejs20.x", handler: "index.payment", files: map[string]string{"index.js": "exports.other = () => 1;\n"},
			wantErr: `index.js registers no Event Grid function (app.eventGrid) and has no handler "payment"`},
		{name: "node-missing-file", runtime: "nodejs20.x", handler: "src/app.payment", files: nodeFiles,
			wantErr: "the package has no src/app.js"},
		{name: "python-two", runtime: "python3.12", handler: "function_app.payment",
			files:   map[string]string{"function_app.py": pythonHandlerPy + "\n@app.event_grid_trigger(arg_name=\"e\")\ndef refund(e):\n    pass\n"},
			wantErr: "function_app.py registers 2 Event Grid functions with event_grid_trigger"},
		{name: "python-none", runtime: "python3.12", handler: "function_app.payment", files: map[string]string{"function_app.py": "x = 1\n"},
			wantErr: `function_app.py registers no Event Grid function (event_grid_trigger) and has no handler "payment"`},
		{name: "go-two", runtime: "go", handler: "bootstrap", files: map[string]string{"bootstrap": "", "a/function.json": goFunctionJSON, "b/function.json": goFunctionJSON},
			wantErr: "a/function.json and b/function.json both have an Event Grid trigger"},
		{name: "go-reserved", runtime: "go", handler: "bootstrap", files: map[string]string{"bootstrap": "", "events/function.json": goFunctionJSON},
			wantErr: "events/function.json: the function name events is evcli's own"},
		{name: "java", runtime: "java17", handler: "x", files: map[string]string{"a.jar": ""},
			wantErr: "generated for Node.js, Python and custom handlers, not runtime java17"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fd := providers.FunctionDeployment{Name: "payment", Runtime: c.runtime, Handler: c.handler}
			src := testZip(t, c.files)
			got, err := entryZip(fd, src, c.guarded)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("entryZip = %v, want an error with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			again, err := entryZip(fd, src, c.guarded)
			if err != nil || !bytes.Equal(got, again) {
				t.Fatalf("a second build differs (err %v): the package is not deterministic", err)
			}
			assertGolden(t, filepath.Join("testdata", "entry", c.name+".golden"), listing(t, got))
		})
	}
}

// listing is a zip's entries (name, method, size, content hash) and the
// text of its manifest and package.json.
func listing(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var texts []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		body = bytes.ReplaceAll(body, []byte(entryVersion()), []byte("<version>"))
		sum := sha256.Sum256(body)
		size := fmt.Sprint(len(body))
		h := hex.EncodeToString(sum[:6])
		switch f.Name {
		case EntryNode, EntryPython, "evcli_guard.wasm.gz":
			size, h = "(evcli's)", "" // changes with evcli, not with the input
		case EntryManifest, "package.json", "events/function.json", "evcli-invoke/function.json":
			texts = append(texts, "--- "+f.Name+"\n"+string(body))
		}
		fmt.Fprintf(&out, "%-30s %-7s %9s %s %s\n", f.Name, map[uint16]string{zip.Store: "store", zip.Deflate: "deflate"}[f.Method], size, h, f.Modified.UTC().Format(time.RFC3339))
	}
	for _, s := range texts {
		out.WriteString(s)
	}
	return out.Bytes()
}

// TestPackageFunctionsReadsTheManifest: the fake's function list of a
// published package is what the generated entrypoint registers.
func TestPackageFunctionsReadsTheManifest(t *testing.T) {
	for _, c := range []struct {
		runtime, handler string
		files            map[string]string
		want             map[string]string
	}{
		{"nodejs20.x", "index.payment", nodeFiles, map[string]string{"events": "eventGridTrigger", "evcli-invoke": "httpTrigger"}},
		{"go", "bootstrap", map[string]string{"bootstrap": "", "payment/function.json": goFunctionJSON},
			map[string]string{"events": "eventGridTrigger", "evcli-invoke": "httpTrigger", "payment": "eventGridTrigger"}},
	} {
		pkg, err := entryZip(providers.FunctionDeployment{Name: "f", Runtime: c.runtime, Handler: c.handler}, testZip(t, c.files), false)
		if err != nil {
			t.Fatal(err)
		}
		got := aztest.PackageFunctions(pkg)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: functions %v, want %v", c.runtime, got, c.want)
		}
	}
	// Without a manifest (the store writer's package): its function.json dirs.
	if got := aztest.PackageFunctions(testZip(t, map[string]string{"w/function.json": goFunctionJSON, "w/index.js": ""})); fmt.Sprint(got) != "map[w:eventGridTrigger]" {
		t.Errorf("writer-style package: %v", got)
	}
}

// FuzzEntryZip: whatever the package and handler, entryZip does not
// panic, and what it builds is a zip whose manifest lists events and
// evcli-invoke, the same bytes on a second build.
func FuzzEntryZip(f *testing.F) {
	for _, c := range []struct {
		runtime, handler string
		files            map[string]string
	}{
		{"nodejs20.x", "index.payment", nodeFiles},
		{"python3.12", "function_app.payment", map[string]string{"function_app.py": pythonHandlerPy}},
		{"go", "bootstrap", map[string]string{"bootstrap": "", "payment/function.json": goFunctionJSON}},
		{"nodejs20.x", "", map[string]string{"package.json": `{"main": 7}`}},
	} {
		f.Add(c.runtime, c.handler, testZip(f, c.files))
	}
	f.Fuzz(func(t *testing.T, runtime, handler string, src []byte) {
		fd := providers.FunctionDeployment{Name: "f", Runtime: runtime, Handler: handler}
		got, err := entryZip(fd, src, len(src)%2 == 0)
		if err != nil {
			return
		}
		again, err := entryZip(fd, src, len(src)%2 == 0)
		if err != nil || !bytes.Equal(got, again) {
			t.Fatalf("a second build differs (err %v)", err)
		}
		m := aztest.PackageFunctions(got)
		if m[EventsFunction] != "eventGridTrigger" || m[InvokeFunction] != "httpTrigger" {
			t.Fatalf("the package registers %v", m)
		}
	})
}

// A new guard engine re-publishes only the guarded apps; a new entrypoint,
// an old "+guard" tag without the engine's version, or no tag re-publishes
// every app.
func TestStaleEntry(t *testing.T) {
	for _, tc := range []struct {
		tag   string
		stale bool
	}{
		{entryTag(false), false},
		{entryTag(true), false},
		{entryVersion() + "+guard", true},
		{entryVersion() + "+guard-000000000000", true},
		{"0000000000000000", true},
		{"0000000000000000+guard-" + guardVersion(), true},
		{"", true},
	} {
		if got := staleEntry(tc.tag); got != tc.stale {
			t.Errorf("staleEntry(%q) = %v, want %v", tc.tag, got, tc.stale)
		}
	}
}
