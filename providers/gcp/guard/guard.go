// Package guard is evcli's in-function guard for Google Cloud functions:
// Pub/Sub subscription filters enforce only part of an EventBridge
// pattern, so, when a project opts in (gcp.guard: in-function), the
// function's zip gets a generated entrypoint (evcli_guard.js) that matches
// each event against the function's rules with package filter itself —
// built for WebAssembly (package guardwasm, shared with the azure
// driver's entrypoint) — before the handler runs, and acknowledges,
// without running it, an event no rule matches. The same engine decides
// as everywhere else in evcli.
package guard

import (
	_ "embed"
	"slices"

	"github.com/evcli/evcli/providers/internal/guardwasm"
)

//go:embed evcli_guard.js
var entryJS []byte

// WasmGz is package filter built for WebAssembly, gzip-compressed.
func WasmGz() []byte { return guardwasm.WasmGz() }

// EntryJS is the generated Node.js entrypoint.
func EntryJS() []byte { return slices.Clone(entryJS) }

// Files in a guarded function's zip.
const (
	EntryFile = "evcli_guard.js"
	WasmFile  = guardwasm.WasmFile
)
