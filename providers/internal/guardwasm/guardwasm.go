// Package guardwasm is evcli's pattern engine for the in-function guards:
// package filter built for WebAssembly (a WASI reactor, guard.wasm.gz, see
// generate.sh), which a cloud driver ships in the zip of a function whose
// patterns its cloud's filters cannot enforce whole, and which the
// generated entrypoint there (providers/gcp/guard's evcli_guard.js, the
// azure driver's evcli_entry.js) loads once per instance, through the
// Node.js module both share (evcli_guard_engine.js), and asks, for each
// event, whether a rule of the function matches it. It belongs to no
// driver, so that several can ship it without importing one another.
//
// The module exports alloc(n) (n bytes of linear memory for a pattern and
// an event, written back to back) and match(patternLen): 1 the pattern
// matches the event, 0 it does not, -1 the pattern does not parse, -2 the
// event is not JSON.
package guardwasm

//go:generate ./generate.sh

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed guard.wasm.gz
var wasmGz []byte

// WasmGz is package filter built for WebAssembly, gzip-compressed.
func WasmGz() []byte { return slices.Clone(wasmGz) }

// WasmFile is the module's file name in a guarded function's zip.
const WasmFile = "evcli_guard.wasm.gz"

//go:embed evcli_guard_engine.js
var engineJS []byte

// EngineJS is the Node.js module that loads the engine and asks it
// (matches(pattern, event)); the entrypoints require it from beside them.
func EngineJS() []byte { return slices.Clone(engineJS) }

// EngineFile is EngineJS's file name in a guarded function's zip.
const EngineFile = "evcli_guard_engine.js"

// Files are the guard's files a guarded Node.js function's zip carries:
// name -> content, with whether it is stored as is (already compressed).
func Files() []File {
	return []File{{EngineFile, EngineJS(), false}, {WasmFile, WasmGz(), true}}
}

// File is one of the guard's files.
type File struct {
	Name   string
	Body   []byte
	Stored bool // already compressed: zip.Store, not zip.Deflate
}

// sourceDirs are the module's directories guard.wasm.gz is built from.
var sourceDirs = []string{"filter", "filter/internal/rulerc", "internal/suggest", "providers/internal/guardwasm/wasm"}

// SourceHash is the SHA-256 of the non-test Go (and assembly) sources in
// sourceDirs under the module root root.
func SourceHash(root string) (string, error) {
	h := sha256.New()
	for _, d := range sourceDirs {
		entries, err := os.ReadDir(filepath.Join(root, d))
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			n := e.Name()
			if e.Type()&fs.ModeType != 0 || strings.HasSuffix(n, "_test.go") || !(strings.HasSuffix(n, ".go") || strings.HasSuffix(n, ".s")) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, d, n))
			if err != nil {
				return "", err
			}
			h.Write([]byte(d + "/" + n + "\x00"))
			h.Write(b)
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
