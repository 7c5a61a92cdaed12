package runtime

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// A python3.12 or nodejs20.x function runs on whatever python3 or node is
// installed. When that is another version, Options.Warnf is told once per
// function per process: behaviour may differ from Lambda's.

// versionWarned holds the functions already warned about, in this process.
var versionWarned sync.Map

// wantVersion is the interpreter version a runtime asks for: "3.12" for
// python3.12, "20" for nodejs20.x; "" when it names none.
func wantVersion(rt string) string {
	switch family(rt) {
	case "python":
		return strings.TrimPrefix(rt, "python")
	case "node":
		v := strings.TrimPrefix(rt, "nodejs")
		v, _, _ = strings.Cut(v, ".")
		return v
	}
	return ""
}

// interpreterVersion returns the installed interpreter's version in the
// form wantVersion uses, asking it once per Manager.
func (m *Manager) interpreterVersion(fam, bin string) string {
	m.scriptMu.Lock()
	defer m.scriptMu.Unlock()
	key := fam + "\x00" + bin
	if v, ok := m.versions[key]; ok {
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var args []string
	switch fam {
	case "python":
		args = []string{"-c", "import sys; print('%d.%d' % sys.version_info[:2])"}
	case "node":
		args = []string{"-p", "process.versions.node.split('.')[0]"}
	default:
		return ""
	}
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	v := ""
	if err == nil {
		v = strings.TrimSpace(string(out))
	}
	if m.versions == nil {
		m.versions = map[string]string{}
	}
	m.versions[key] = v
	return v
}

// checkInterpreter warns, once per function per process, when spec's
// runtime asks for another version than bin is.
func (m *Manager) checkInterpreter(spec FunctionSpec, fam, bin string) {
	if m.o.Warnf == nil {
		return
	}
	want := wantVersion(spec.Runtime)
	if want == "" {
		return
	}
	if _, done := versionWarned.Load(spec.Name); done {
		return
	}
	have := m.interpreterVersion(fam, bin)
	if have == "" || have == want {
		return
	}
	if _, loaded := versionWarned.LoadOrStore(spec.Name, true); loaded {
		return
	}
	lang, wantName := "Python", "Python "+want
	if fam == "node" {
		lang, wantName = "Node.js", "Node.js "+want
	}
	cloud := map[string]string{"": "Lambda", hostGCP: "Cloud Functions", hostAzure: "Azure Functions"}[hostOf(spec)]
	m.o.Warnf("function %s is %s but runs on the installed %s %s (%s): it may behave differently on %s; install %s or change its runtime in evcli.yaml",
		spec.Name, spec.Runtime, lang, have, bin, cloud, wantName)
}
