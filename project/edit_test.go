package project

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetMemory(t *testing.T) {
	tests := []struct {
		name, fn string
		mb       int
		in, want string
	}{
		{
			name: "replace keeps comments and layout",
			fn:   "inventory", mb: 512,
			in:   "project: shop # the shop\nfunctions:\n  inventory:\n    source: functions/inventory\n    memory:   256    # tuned 2026-01-02\n    runtime: provided.al2023\n  orders:\n    memory: 256\n",
			want: "project: shop # the shop\nfunctions:\n  inventory:\n    source: functions/inventory\n    memory:   512    # tuned 2026-01-02\n    runtime: provided.al2023\n  orders:\n    memory: 256\n",
		},
		{
			name: "replace quoted value",
			fn:   "inventory", mb: 1024,
			in:   "functions:\n  inventory: {source: x, memory: \"256\"}\n",
			want: "functions:\n  inventory: {source: x, memory: 1024}\n",
		},
		{
			name: "replace in flow mapping",
			fn:   "a", mb: 2048,
			in:   "functions: {a: {memory: 128, runtime: nodejs22.x}, b: {memory: 128}}\n",
			want: "functions: {a: {memory: 2048, runtime: nodejs22.x}, b: {memory: 128}}\n",
		},
		{
			name: "add after runtime with the function's indentation",
			fn:   "orders", mb: 256,
			in:   "functions:\n   orders:\n      source: functions/orders   # src\n      runtime: nodejs22.x\n      handler: index.handler\n      events:\n        - pattern: {source: [a]}\n",
			want: "functions:\n   orders:\n      source: functions/orders   # src\n      runtime: nodejs22.x\n      memory: 256\n      handler: index.handler\n      events:\n        - pattern: {source: [a]}\n",
		},
		{
			name: "add at the end of a file without final newline",
			fn:   "orders", mb: 256,
			in:   "functions:\n  orders:\n    runtime: nodejs22.x",
			want: "functions:\n  orders:\n    runtime: nodejs22.x\n    memory: 256",
		},
		{
			name: "add keeps CRLF",
			fn:   "orders", mb: 256,
			in:   "functions:\r\n  orders:\r\n    runtime: nodejs22.x\r\n    handler: index.handler\r\n",
			want: "functions:\r\n  orders:\r\n    runtime: nodejs22.x\r\n    memory: 256\r\n    handler: index.handler\r\n",
		},
		{
			name: "add first when no one-line key",
			fn:   "orders", mb: 256,
			in:   "functions:\n  orders:\n    events:\n      - pattern: {a: [1]}\n",
			want: "functions:\n  orders:\n    memory: 256\n    events:\n      - pattern: {a: [1]}\n",
		},
		{
			name: "add to a flow mapping",
			fn:   "orders", mb: 256,
			in:   "functions:\n  orders: {source: x, runtime: nodejs22.x}  # note\n",
			want: "functions:\n  orders: {memory: 256, source: x, runtime: nodejs22.x}  # note\n",
		},
		{
			name: "non-ASCII before the value",
			fn:   "café", mb: 640,
			in:   "functions:\n  café: {sourcé: é, memory: 128}\n",
			want: "functions:\n  café: {sourcé: é, memory: 640}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "evcli.yaml")
			if err := os.WriteFile(path, []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := SetMemory(path, tt.fn, tt.mb); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600 kept", st.Mode().Perm())
			}
		})
	}
}

func TestSetMemoryErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "evcli.yaml")
	orig := "functions:\n  inventory:\n    memory: |\n      256\n"
	os.WriteFile(path, []byte(orig), 0o644)
	tests := []struct {
		fn   string
		mb   int
		want string
	}{
		{"inventory", 64, "out of range"},
		{"inventry", 256, `no such function`},
		{"inventry", 256, `did you mean "inventory"?`},
		{"inventory", 256, "set it by hand"},
	}
	for _, tt := range tests {
		err := SetMemory(path, tt.fn, tt.mb)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetMemory(%q, %d) = %v, want %q", tt.fn, tt.mb, err, tt.want)
		}
	}
	if got, _ := os.ReadFile(path); string(got) != orig {
		t.Errorf("file changed after errors:\n%s", got)
	}
	var ds *Diagnostics
	if err := SetMemory(filepath.Join(dir, "nope.yaml"), "a", 256); !errors.As(err, &ds) {
		t.Errorf("missing file: %v, want *Diagnostics", err)
	}
	os.WriteFile(path, []byte("functions: [\n"), 0o644)
	if err := SetMemory(path, "a", 256); !errors.As(err, &ds) || !strings.Contains(err.Error(), "invalid YAML") {
		t.Errorf("bad YAML: %v, want invalid YAML diagnostics", err)
	}
}

// TestSetMemoryThenLoad: the real project files keep loading, with the
// new value, and nothing else changes.
func TestSetMemoryThenLoad(t *testing.T) {
	for _, name := range []string{"full.yaml", "minimal.yaml"} {
		src := filepath.Join("testdata", "good", name)
		data, _ := os.ReadFile(src)
		dir := t.TempDir()
		for _, f := range []string{"inventory", "orders", "notify"} {
			os.MkdirAll(filepath.Join(dir, "functions", f), 0o755)
		}
		path := filepath.Join(dir, "evcli.yaml")
		os.WriteFile(path, data, 0o644)
		before, err := Load(path, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := SetMemory(path, "inventory", 3008); err != nil {
			t.Fatal(err)
		}
		after, err := Load(path, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := after.Function("inventory").MemoryMB; got != 3008 {
			t.Errorf("%s: memory = %d, want 3008", name, got)
		}
		before.Function("inventory").MemoryMB = 3008
		a, _ := Marshal(before)
		b, _ := Marshal(after)
		if string(a) != string(b) {
			t.Errorf("%s: more than memory changed:\n%s\n%s", name, a, b)
		}
	}
}
