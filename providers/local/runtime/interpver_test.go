package runtime

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

func TestWantVersion(t *testing.T) {
	for rt, want := range map[string]string{"python3.12": "3.12", "python3.13": "3.13", "nodejs20.x": "20", "nodejs22.x": "22", "provided.al2023": ""} {
		if got := wantVersion(rt); got != want {
			t.Errorf("wantVersion(%q) = %q, want %q", rt, got, want)
		}
	}
}

// TestOtherInterpreterVersionWarnsOncePerFunction: a python3.X function on
// an installed Python of another version gets one warning per function
// per process, however many instances start.
func TestOtherInterpreterVersionWarnsOncePerFunction(t *testing.T) {
	needInterpreter(t, "python3")
	var mu sync.Mutex
	var warnings []string
	m, _ := newTestManager(t, Options{Warnf: func(f string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, fmt.Sprintf(f, args...))
	}})
	have := m.interpreterVersion("python", m.o.Python)
	if have == "" {
		t.Skip("cannot tell the installed Python's version")
	}
	other := Python312
	if have == "3.12" {
		other = Python313
	}
	dir := writeFiles(t, map[string]string{"app.py": "def handler(event, context):\n    return {}\n"})
	versionWarned.Delete("verA")
	versionWarned.Delete("verB")
	for _, name := range []string{"verA", "verB"} {
		deploy(t, m, FunctionSpec{Name: name, Runtime: other, CodeDir: dir, Handler: "app.handler", Concurrency: 1})
	}
	invoke(t, m, "verA", `{}`)
	// A new spec retires the instance: the next invocation starts another.
	deploy(t, m, FunctionSpec{Name: "verA", Runtime: other, CodeDir: dir, Handler: "app.handler", Concurrency: 1, MemoryMB: 256})
	invoke(t, m, "verA", `{}`)
	invoke(t, m, "verB", `{}`)
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 2 {
		t.Fatalf("%d warnings, want one per function: %q", len(warnings), warnings)
	}
	for i, name := range []string{"verA", "verB"} {
		want := fmt.Sprintf("function %s is %s but runs on the installed Python %s", name, other, have)
		if !strings.Contains(warnings[i], want) || !strings.Contains(warnings[i], "install Python "+wantVersion(other)) {
			t.Errorf("warning %q, want %q and what to install", warnings[i], want)
		}
	}
}

// TestBootstrapIsVerifiedBeforeEveryUse: a cached bootstrap that changed
// after an instance started (a handler runs as this user and can write it)
// is replaced before the next instance runs it.
func TestBootstrapIsVerifiedBeforeEveryUse(t *testing.T) {
	needInterpreter(t, "python3")
	m, _ := newTestManager(t, Options{})
	dir := writeFiles(t, map[string]string{"app.py": "def handler(event, context):\n    return {'ok': True}\n"})
	deploy(t, m, FunctionSpec{Name: "boot", Runtime: Python312, CodeDir: dir, Handler: "app.handler", Concurrency: 1})
	invoke(t, m, "boot", `{}`)
	p, err := m.bootstrapScript("python")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("import sys\nprint('tampered')\nsys.exit(3)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Another spec retires the warm instance: the next one starts afresh.
	deploy(t, m, FunctionSpec{Name: "boot", Runtime: Python312, CodeDir: dir, Handler: "app.handler", Concurrency: 1, MemoryMB: 256})
	r := invoke(t, m, "boot", `{}`)
	if r.FunctionError != "" || string(r.Payload) != `{"ok": true}` {
		t.Fatalf("after the bootstrap was changed: %q %s", r.FunctionError, r.Payload)
	}
	if b, _ := os.ReadFile(p); string(b) != string(pythonBootstrap) {
		t.Fatal("the changed bootstrap was not replaced")
	}
}
