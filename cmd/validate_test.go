package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/cmd/cmdutil"
)

const validateGood = `project: shop
functions:
  inventory:
    source: functions/inventory
    runtime: provided.al2023
    events:
      - pattern: {source: [shop.orders]}
      - pattern: {source: [shop.returns]}
  orders:
    source: functions/orders
    runtime: nodejs22.x
    handler: index.handler
    events:
      - pattern: '{"source": ["shop.web"]}'
`

const validateBad = `project: shop
functions:
  inventory:
    source: functions/inventory
    runtime: provided.al2023
    memroy: 256
  orders:
    source: functions/orders
    runtime: nodejs22.x
    memory: 20000
`

// validateDir writes evcli.yaml with content and the function sources, and
// returns the file's path.
func validateDir(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	for _, fn := range []string{"inventory", "orders"} {
		if err := os.MkdirAll(filepath.Join(dir, "functions", fn), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "evcli.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runValidateCmd(t *testing.T, path string, env []string, tty bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	io, _, out, errOut := cmdutil.Test()
	io.SetStdoutTTY(tty)
	io.SetStderrTTY(tty)
	f := &cmdutil.Factory{
		IO:      io,
		Globals: &cmdutil.Globals{File: path, Output: "text", Color: "auto"},
		Environ: func() []string { return env },
		Getenv:  func(string) string { return "" },
	}
	code = Run(context.Background(), f, append([]string{"validate"}, args...))
	return code, out.String(), errOut.String()
}

func TestValidateText(t *testing.T) {
	good := validateDir(t, validateGood)
	bad := validateDir(t, validateBad)
	tests := []struct {
		name       string
		path       string
		env        []string
		tty        bool
		args       []string
		wantCode   int
		wantOut    string
		wantErr    string // exact, with FILE for the path
		errContain string
	}{
		{name: "ok", path: good, wantCode: 0, wantOut: "FILE: ok (2 functions, 3 rules)\n"},
		{name: "ok on a terminal is green", path: good, tty: true, wantCode: 0, wantOut: "FILE: \x1b[32mok\x1b[0m (2 functions, 3 rules)\n"},
		{name: "ok with NO colour flag", path: good, tty: true, args: []string{"--color", "never"}, wantCode: 0, wantOut: "FILE: ok (2 functions, 3 rules)\n"},
		{name: "every problem once, on stderr, sorted", path: bad, wantCode: 2, wantErr: `FILE:6:5: functions.inventory.memroy: unknown key "memroy"
    did you mean "memory"? the keys in functions.inventory are source, runtime, handler, architecture, memory, timeout, concurrency, environment, secrets, correlation, role, events
FILE:7:3: functions.orders.handler: missing (required for nodejs22.x)
    a Node.js handler is file.export, e.g. handler: index.handler
FILE:10:13: functions.orders.memory: 20000 is out of range
    memory is in MB, from 128 to 10240
3 problems in FILE
`},
		{name: "flag is checked", path: good, args: []string{"--provider", "awz"}, wantCode: 2,
			wantErr: "--provider: unknown provider \"awz\"\n    did you mean \"aws\"? providers are \"local\", \"aws\", \"gcp\" or \"azure\"\n1 problem in --provider\n"},
		{name: "env is checked", path: good, env: []string{"EVCLI_REGION=EU West"}, wantCode: 2,
			errContain: "EVCLI_REGION: \"EU West\" is not a valid region"},
		{name: "env and file problems together", path: bad, env: []string{"EVCLI_PROVIDER=gpc"}, wantCode: 2,
			errContain: "EVCLI_PROVIDER: unknown provider \"gpc\"\n    did you mean \"gcp\"?"},
		{name: "missing file", path: filepath.Join(t.TempDir(), "evcli.yaml"), wantCode: 2,
			errContain: "evcli.yaml: no such file\n    run evcli in the project's directory"},
		{name: "no arguments", path: good, args: []string{"extra"}, wantCode: 2, errContain: "unknown command \"extra\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runValidateCmd(t, tt.path, tt.env, tt.tty, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if want := strings.ReplaceAll(tt.wantOut, "FILE", tt.path); out != want {
				t.Errorf("stdout = %q, want %q", out, want)
			}
			if tt.wantErr != "" {
				if want := strings.ReplaceAll(tt.wantErr, "FILE", tt.path); errOut != want {
					t.Errorf("stderr =\n%s\nwant\n%s", errOut, want)
				}
			}
			if tt.errContain != "" && !strings.Contains(errOut, tt.errContain) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tt.errContain)
			}
			if tt.wantCode == 0 && errOut != "" {
				t.Errorf("stderr = %q, want nothing", errOut)
			}
			usage := len(tt.args) > 0 && tt.args[0] == "extra"
			if !usage && strings.HasPrefix(errOut, "evcli: ") {
				t.Errorf("diagnostics got an \"evcli: \" prefix: %q", errOut)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	decode := func(t *testing.T, out string) []map[string]any {
		t.Helper()
		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not JSON: %q: %v", l, err)
			}
			lines = append(lines, m)
		}
		if len(lines) == 0 || lines[0]["type"] != "version" || lines[0]["command"] != "validate" {
			t.Fatalf("first line is not the version record: %v", lines)
		}
		return lines[1:]
	}

	t.Run("ok", func(t *testing.T) {
		path := validateDir(t, validateGood)
		code, out, errOut := runValidateCmd(t, path, nil, false, "-o", "json")
		if code != 0 || errOut != "" {
			t.Fatalf("code %d, stderr %q", code, errOut)
		}
		lines := decode(t, out)
		want := map[string]any{"type": "summary", "file": path, "valid": true, "problems": 0.0, "functions": 2.0, "rules": 3.0}
		if len(lines) != 1 || !equalJSON(lines[0], want) {
			t.Errorf("got %v, want [%v]", lines, want)
		}
	})

	t.Run("problems", func(t *testing.T) {
		path := validateDir(t, validateBad)
		code, out, errOut := runValidateCmd(t, path, nil, false, "-o", "json")
		if code != 2 {
			t.Errorf("code = %d, want 2", code)
		}
		if errOut != "" {
			t.Errorf("stderr = %q, want nothing (the problems are on stdout)", errOut)
		}
		lines := decode(t, out)
		want := []map[string]any{
			{"type": "diagnostic", "file": path, "line": 6.0, "col": 5.0, "path": "functions.inventory.memroy",
				"message": `unknown key "memroy"`, "hint": `did you mean "memory"? the keys in functions.inventory are source, runtime, handler, architecture, memory, timeout, concurrency, environment, secrets, correlation, role, events`},
			{"type": "diagnostic", "file": path, "line": 7.0, "col": 3.0, "path": "functions.orders.handler",
				"message": "missing (required for nodejs22.x)", "hint": "a Node.js handler is file.export, e.g. handler: index.handler"},
			{"type": "diagnostic", "file": path, "line": 10.0, "col": 13.0, "path": "functions.orders.memory",
				"message": "20000 is out of range", "hint": "memory is in MB, from 128 to 10240"},
			{"type": "summary", "file": path, "valid": false, "problems": 3.0, "functions": 0.0, "rules": 0.0},
		}
		if len(lines) != len(want) {
			t.Fatalf("got %d lines, want %d: %v", len(lines), len(want), lines)
		}
		for i := range want {
			if !equalJSON(lines[i], want[i]) {
				t.Errorf("line %d:\ngot  %v\nwant %v", i, lines[i], want[i])
			}
		}
	})
}

func equalJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
