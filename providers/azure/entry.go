package azure

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/internal/guardwasm"
)

// evcli's generated entrypoint. Event subscriptions deliver to the
// function EventsFunction of each app and invoke calls InvokeRoute, so the
// zip deploy publishes is the function's own with, added by entryZip:
//
//   - Node.js (v4 model): evcli_entry.js, which package.json's main then
//     names; it captures the app.eventGrid registration of the function's
//     code and registers events and evcli-invoke in its place, and, with
//     the guard, evcli_guard.wasm.gz (package guardwasm), which it matches
//     every event with before the handler runs;
//   - Python (v2 model): evcli_entry.py, which the app setting
//     PYTHON_SCRIPT_FILE_NAME names; it finds the function the code
//     registers with event_grid_trigger and registers events and
//     evcli-invoke on its own FunctionApp (no guard: refused at plan time);
//   - a custom handler (Go): events/function.json (eventGridTrigger) and
//     evcli-invoke/function.json (httpTrigger, route evcli-invoke), which
//     the host forwards to the handler's /events and /evcli-invoke (no
//     guard: refused at plan time);
//
// and, for all, .evcli/entry.json: the entry's version, the function's own
// main and the functions the package registers with their triggers, which
// the test fake reads as the host's function list. The result is a
// function of the input zip and the runtime alone (same order, fixed
// times), so a no-change deploy publishes nothing and the code hash stays
// the input's.
const (
	EntryManifest = ".evcli/entry.json"
	EntryNode     = "evcli_entry.js"
	EntryPython   = "evcli_entry.py"
	// SettingPythonScript names the script the Python worker indexes.
	SettingPythonScript = "PYTHON_SCRIPT_FILE_NAME"
	// SettingEntry is the entrypoint the app's package was published with
	// (entryVersion, "+guard-" and the engine's version with the engine): a
	// package of an older evcli or engine, or without the engine the rules
	// now need, is published again.
	SettingEntry = "EVCLI_ENTRY"
	// InvokeFunction is the function behind InvokeRoute.
	InvokeFunction = "evcli-invoke"
)

//go:embed entrypoint/evcli_entry.js
var entryJS []byte

//go:embed entrypoint/evcli_entry.py
var entryPy []byte

// Function definitions of a custom handler's events and evcli-invoke.
const (
	eventsFunctionJSON = `{
  "bindings": [
    {
      "type": "eventGridTrigger",
      "direction": "in",
      "name": "event"
    }
  ]
}
`
	invokeFunctionJSON = `{
  "bindings": [
    {
      "type": "httpTrigger",
      "direction": "in",
      "name": "req",
      "authLevel": "function",
      "methods": ["post"],
      "route": "evcli-invoke"
    },
    {
      "type": "http",
      "direction": "out",
      "name": "res"
    }
  ]
}
`
)

// entryVersion is a short hash of the entrypoint's files: a new evcli with
// a different entrypoint publishes the apps again. The guard's engine is
// not part of it: a new matcher re-publishes only the guarded apps, which
// carry the engine (entryTag), not every app of every project.
var entryVersion = sync.OnceValue(func() string {
	h := sha256.New()
	for _, b := range [][]byte{entryJS, entryPy, []byte(eventsFunctionJSON), []byte(invokeFunctionJSON)} {
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// guardVersion is a short hash of the guard's engine.
var guardVersion = sync.OnceValue(func() string {
	h := sha256.New()
	for _, f := range guardwasm.Files() {
		h.Write(f.Body)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
})

// entryTag is SettingEntry's value for a package with (guarded) or
// without the guard's engine.
func entryTag(guarded bool) string {
	if guarded {
		return entryVersion() + "+guard-" + guardVersion()
	}
	return entryVersion()
}

// staleEntry reports whether a package published with SettingEntry tag
// came from another entrypoint or carries another guard engine.
func staleEntry(tag string) bool {
	base, engine, guarded := strings.Cut(tag, "+guard")
	if base != entryVersion() {
		return true
	}
	return guarded && engine != "-"+guardVersion()
}

// entryManifest is .evcli/entry.json.
type entryManifest struct {
	Version string `json:"version"`
	Runtime string `json:"runtime"`
	// Entry is the generated entrypoint's file ("" for a custom handler).
	Entry string `json:"entry,omitempty"`
	// Main is the function's own main module (Node.js).
	Main string `json:"main,omitempty"`
	// Guard: the package holds the guard's engine.
	Guard bool `json:"guard,omitempty"`
	// Functions are the functions the package registers, by name, with
	// their trigger's binding type.
	Functions map[string]string `json:"functions"`
}

var (
	nodeEventGrid   = regexp.MustCompile(`\.eventGrid\s*\(\s*['"` + "`" + `]([^'"` + "`" + `]*)`)
	pythonEventGrid = regexp.MustCompile(`@\s*[\w.]+\.event_grid_trigger\s*\(`)
)

// entryZip is the package to publish for fd: the zip src with evcli's
// entrypoint for fd's runtime added (guarded: with the guard's engine). A
// function whose code registers more than one Event Grid function, or none
// and has no handler of the name fd.Handler gives, is refused, naming the
// file.
func entryZip(fd providers.FunctionDeployment, src []byte, guarded bool) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return nil, fmt.Errorf("the package is not a zip: %w", err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	read := func(name string) ([]byte, error) {
		f := files[name]
		if f == nil {
			return nil, errNoFile
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	rt, _, err := runtimeOf(fd.Runtime)
	if err != nil {
		return nil, err
	}
	m := entryManifest{Version: entryVersion(), Functions: map[string]string{EventsFunction: "eventGridTrigger", InvokeFunction: "httpTrigger"}}
	var add []zipEntry
	skip := map[string]bool{EntryManifest: true}
	switch rt {
	case armappservice.RuntimeNameNode:
		m.Runtime, m.Entry = "node", EntryNode
		var pkg map[string]any
		if b, err := read("package.json"); err == nil {
			if err := json.Unmarshal(b, &pkg); err != nil {
				return nil, fmt.Errorf("package.json: %v", err)
			}
		} else if !errors.Is(err, errNoFile) {
			return nil, err
		}
		if pkg == nil {
			pkg = map[string]any{"name": "evcli-function", "version": "1.0.0"}
		}
		m.Main = "index.js"
		if s, _ := pkg["main"].(string); s != "" && s != EntryNode {
			m.Main = s
		}
		file, name := handlerParts(fd.Handler)
		if file == "" {
			file = strings.TrimSuffix(m.Main, path.Ext(m.Main))
		}
		code, where, err := readFirst(read, file+".js", file+".cjs", file+"/index.js", file)
		if err != nil {
			return nil, err
		}
		if err := checkRegistrations(where, nodeEventGrid.FindAllSubmatch(code, -1), name, code,
			"app.eventGrid", `exports\.`+regexp.QuoteMeta(name)+`\b|\b`+regexp.QuoteMeta(name)+`\b`); err != nil {
			return nil, err
		}
		pkg["main"] = EntryNode
		pj, err := json.MarshalIndent(pkg, "", "  ") // keys sorted: deterministic
		if err != nil {
			return nil, err
		}
		skip["package.json"], skip[EntryNode], skip[guardwasm.EngineFile], skip[guardwasm.WasmFile] = true, true, true, true
		add = append(add, zipEntry{"package.json", append(pj, '\n'), zip.Deflate}, zipEntry{EntryNode, entryJS, zip.Deflate})
		if guarded {
			m.Guard = true
			for _, f := range guardwasm.Files() {
				method := zip.Deflate
				if f.Stored {
					method = zip.Store
				}
				add = append(add, zipEntry{f.Name, f.Body, method})
			}
		}
	case armappservice.RuntimeNamePython:
		m.Runtime, m.Entry = "python", EntryPython
		module, name := handlerParts(fd.Handler)
		if module == "" {
			module = "function_app"
		}
		code, where, err := readFirst(read, module+".py", module+"/__init__.py")
		if err != nil {
			return nil, err
		}
		var regs [][][]byte
		for _, loc := range pythonEventGrid.FindAllIndex(code, -1) {
			regs = append(regs, [][]byte{code[loc[0]:loc[1]], nil})
		}
		if err := checkRegistrations(where, regs, name, code, "event_grid_trigger", `(?m)^\s*(async\s+)?def\s+`+regexp.QuoteMeta(name)+`\s*\(`); err != nil {
			return nil, err
		}
		skip[EntryPython] = true
		add = append(add, zipEntry{EntryPython, entryPy, zip.Deflate})
	case armappservice.RuntimeNameCustom:
		m.Runtime = "custom"
		var grid []string
		for _, f := range zr.File {
			dir, base := path.Split(f.Name)
			if base != "function.json" || strings.Count(f.Name, "/") != 1 {
				continue
			}
			dir = strings.TrimSuffix(dir, "/")
			if dir == EventsFunction || dir == InvokeFunction {
				return nil, fmt.Errorf("%s: the function name %s is evcli's own (its entrypoint registers it): rename the directory", f.Name, dir)
			}
			b, err := read(f.Name)
			if err != nil {
				return nil, err
			}
			var def struct {
				Bindings []struct{ Type, Direction string } `json:"bindings"`
			}
			if err := json.Unmarshal(b, &def); err != nil {
				return nil, fmt.Errorf("%s: %v", f.Name, err)
			}
			trigger := ""
			for _, bd := range def.Bindings {
				if strings.HasSuffix(strings.ToLower(bd.Type), "trigger") {
					trigger = bd.Type
				}
			}
			m.Functions[dir] = trigger
			if strings.EqualFold(trigger, "eventGridTrigger") {
				grid = append(grid, dir)
			}
		}
		if len(grid) > 1 {
			slices.Sort(grid)
			return nil, fmt.Errorf("%s/function.json and %s/function.json both have an Event Grid trigger (%d in all); evcli delivers a function's events to one (its custom handler's /%s): keep one",
				grid[0], grid[1], len(grid), EventsFunction)
		}
		for _, f := range []string{EventsFunction + "/function.json", InvokeFunction + "/function.json"} {
			skip[f] = true
		}
		add = append(add, zipEntry{EventsFunction + "/function.json", []byte(eventsFunctionJSON), zip.Deflate},
			zipEntry{InvokeFunction + "/function.json", []byte(invokeFunctionJSON), zip.Deflate})
	default:
		return nil, &providers.Error{Code: providers.Unsupported, Err: fmt.Errorf("evcli's entrypoint (the events function and the invoke route) is generated for Node.js, Python and custom handlers, not runtime %s", fd.Runtime),
			Hint: "use nodejsNN.x, python3.x or go"}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	add = append(add, zipEntry{EntryManifest, append(mb, '\n'), zip.Deflate})

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if skip[f.Name] {
			continue
		}
		if err := zw.Copy(f); err != nil {
			return nil, err
		}
	}
	modified := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range add {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method, Modified: modified})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type zipEntry struct {
	name   string
	body   []byte
	method uint16
}

var errNoFile = errors.New("no such file in the package")

// handlerParts splits a handler "file.name" (a module path and the
// function's name).
func handlerParts(h string) (file, name string) {
	i := strings.LastIndex(h, ".")
	if i <= 0 {
		return "", h
	}
	return strings.TrimPrefix(h[:i], "./"), h[i+1:]
}

// readFirst is the first of names the package has, and its name.
func readFirst(read func(string) ([]byte, error), names ...string) ([]byte, string, error) {
	for _, n := range names {
		b, err := read(n)
		if err == nil {
			return b, n, nil
		}
		if !errors.Is(err, errNoFile) {
			return nil, n, err
		}
	}
	return nil, "", fmt.Errorf("the package has no %s (the handler's file)", names[0])
}

// checkRegistrations refuses code (the file where) that registers more
// than one Event Grid function (regs: each registration, its name when
// known), or none and has nothing matching plain (a handler called name).
func checkRegistrations(where string, regs [][][]byte, name string, code []byte, how, plain string) error {
	switch {
	case len(regs) > 1:
		var names []string
		for _, r := range regs {
			if len(r) > 1 && r[1] != nil {
				names = append(names, string(r[1]))
			}
		}
		list := ""
		if len(names) == len(regs) {
			list = " (" + strings.Join(names, ", ") + ")"
		}
		return fmt.Errorf("%s registers %d Event Grid functions%s with %s; evcli delivers a function's events to one: keep one Event Grid function per function (evcli.yaml entry)", where, len(regs), list, how)
	case len(regs) == 0:
		if name == "" || !regexp.MustCompile(plain).Match(code) {
			return fmt.Errorf("%s registers no Event Grid function (%s) and has no handler %q: register the function's handler with %s", where, how, name, how)
		}
	}
	return nil
}
