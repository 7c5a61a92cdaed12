// Package guard is evcli's in-function guard for Google Cloud functions:
// Pub/Sub subscription filters enforce only part of an EventBridge
// pattern, so, when a project opts in (gcp.guard: in-function), the
// function's zip gets a generated entrypoint (evcli_guard.js) that matches
// each event against the function's rules with package filter itself —
// built for WebAssembly (guard.wasm.gz, see generate.sh) — before the
// handler runs, and acknowledges, without running it, an event no rule
// matches. The same engine decides as everywhere else in evcli.
package guard

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

//go:embed evcli_guard.js
var entryJS []byte

// WasmGz is package filter built for WebAssembly, gzip-compressed.
func WasmGz() []byte { return slices.Clone(wasmGz) }

// EntryJS is the generated Node.js entrypoint.
func EntryJS() []byte { return slices.Clone(entryJS) }

// Files in a guarded function's zip.
const (
	EntryFile = "evcli_guard.js"
	WasmFile  = "evcli_guard.wasm.gz"
)

// sourceDirs are the module's directories guard.wasm.gz is built from.
var sourceDirs = []string{"filter", "filter/internal/rulerc", "internal/suggest", "providers/gcp/guard/wasm"}

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
