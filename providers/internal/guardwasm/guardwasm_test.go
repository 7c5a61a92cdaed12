package guardwasm

import (
	"os"
	"strings"
	"testing"
)

// TestGuardWasmIsFresh: guard.wasm.gz was built from the filter sources
// in this tree (run go generate ./providers/internal/guardwasm after
// changing them).
func TestGuardWasmIsFresh(t *testing.T) {
	want, err := os.ReadFile("guard.wasm.sources")
	if err != nil {
		t.Fatal(err)
	}
	got, err := SourceHash("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Fatalf("guard.wasm.gz is stale: filter's sources hash to %s, it was built from %s; run go generate ./providers/internal/guardwasm", got, want)
	}
}
