package templates

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// requires returns module -> version for every require line of a go.mod.
func requires(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "require" && f[1] == "(":
			in = true
		case in && len(f) == 1 && f[0] == ")":
			in = false
		case in && len(f) == 2:
			out[f[0]] = f[1]
		case len(f) == 3 && f[0] == "require":
			out[f[1]] = f[2]
		}
	}
	return out
}

// TestGoScaffoldUsesEvcliModuleVersions: the Go scaffold requires exactly the
// module versions evcli itself links, so `evcli deploy` of a new Go project
// finds every module in the cache `go install evcli` (or `go test ./...`)
// already filled and downloads nothing. When you bump a module in evcli's
// go.mod, bump it in templates/files/_lang/go/go.mod.tmpl and copy its go.sum
// lines too.
func TestGoScaffoldUsesEvcliModuleVersions(t *testing.T) {
	evcli := requires(t, filepath.Join("..", "go.mod"))
	scaffold := requires(t, filepath.Join("files", "_lang", "go", "go.mod.tmpl"))
	if len(scaffold) == 0 {
		t.Fatal("no require lines found in the Go scaffold's go.mod.tmpl")
	}
	sum, err := os.ReadFile(filepath.Join("files", "_lang", "go", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for mod, v := range scaffold {
		want, ok := evcli[mod]
		switch {
		case !ok:
			t.Errorf("scaffold requires %s %s, which evcli's go.mod does not: the build downloads it", mod, v)
		case v != want:
			t.Errorf("scaffold requires %s %s, evcli links %s: use %s", mod, v, want, want)
		}
		if !strings.Contains(string(sum), mod+" "+v+" ") || !strings.Contains(string(sum), mod+" "+v+"/go.mod ") {
			t.Errorf("scaffold go.sum lacks the lines for %s %s (copy them from evcli's go.sum)", mod, v)
		}
	}
}
