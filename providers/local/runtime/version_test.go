package runtime

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPythonMismatch: a python3.X runtime on another Python is one
// warning naming both versions; the matching version and other runtimes
// are none.
func TestPythonMismatch(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	if w := PythonMismatch("python3.1", py); !strings.Contains(w, "runtime python3.1 runs on Python 3.") {
		t.Errorf("mismatch warning = %q", w)
	}
	out, _ := exec.Command(py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if w := PythonMismatch("python"+strings.TrimSpace(string(out)), py); w != "" {
		t.Errorf("the matching version warned: %q", w)
	}
	if w := PythonMismatch("nodejs20.x", py); w != "" {
		t.Errorf("a Node runtime warned: %q", w)
	}
}
