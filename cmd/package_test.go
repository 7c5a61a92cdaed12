package cmd

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evcli/evcli/templates"
)

type artifactLine struct {
	Type       string `json:"type"`
	Function   string `json:"function"`
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	CodeSha256 string `json:"codeSha256"`
	Changed    bool   `json:"changed"`
	Schema     string `json:"schema"`
}

// packageJSON runs evcli package -o json on the project file and returns
// the artifact lines.
func packageJSON(t *testing.T, file string, extra ...string) []artifactLine {
	t.Helper()
	f, out, errOut := scaffoldFactory(file)
	args := append([]string{"package", "-f", file, "-o", "json"}, extra...)
	if code := Run(context.Background(), f, args); code != 0 {
		t.Fatalf("evcli %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	var arts []artifactLine
	for i, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var a artifactLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		if i == 0 {
			if a.Type != "version" || a.Schema != "1" {
				t.Fatalf("first line %q is not the version record", l)
			}
			continue
		}
		if a.Type != "artifact" {
			t.Fatalf("line %d: type %q", i+1, a.Type)
		}
		arts = append(arts, a)
	}
	return arts
}

type zipEntry struct {
	name string
	mode fs.FileMode
	body []byte
}

func zipEntries(t *testing.T, path string) []zipEntry {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []zipEntry
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zipEntry{f.Name, f.Mode(), b})
	}
	return out
}

// TestPackageTemplates is the foundation issue's acceptance test: every
// template in every language is scaffolded by evcli init and packaged twice
// by evcli package; both builds give the same SHA-256, the first reports
// every function changed and the second none. Go zips hold one ELF
// executable named bootstrap, mode 0755; Node and Python zips hold the
// handler file and leave out what .evcliignore excludes.
func TestPackageTemplates(t *testing.T) {
	for _, tmpl := range templates.Names {
		for _, lang := range templates.Langs {
			t.Run(tmpl+"-"+lang, func(t *testing.T) {
				if lang == "go" && testing.Short() {
					t.Skip("compiles Go handlers; skipped with -short")
				}
				// Linking the SDK-using handlers of every Go template takes
				// minutes on a loaded 2-core machine; the Go path of the
				// packager is the same for each template, and every Go
				// template compiles in templates.TestGoTemplatesVet, so one
				// template is packaged by default and all with EVCLI_TEST_ALL=1.
				if lang == "go" && tmpl != "fan-out" && os.Getenv("EVCLI_TEST_ALL") == "" {
					t.Skip("packages one Go template (fan-out) unless EVCLI_TEST_ALL=1")
				}
				dir := filepath.Join(t.TempDir(), "shop")
				f, _, errOut := scaffoldFactory("evcli.yaml")
				if code := Run(context.Background(), f, []string{"init", dir, "--template", tmpl, "--lang", lang}); code != 0 {
					t.Fatalf("init: exit %d: %s", code, errOut)
				}
				// Files the zips must leave out (the scaffold's .evcliignore),
				// and a dependency directory they must keep.
				fns, _ := os.ReadDir(filepath.Join(dir, "functions"))
				for _, fn := range fns {
					d := filepath.Join(dir, "functions", fn.Name())
					switch lang {
					case "node":
						os.WriteFile(filepath.Join(d, "index.test.js"), []byte("test"), 0o644)
						os.MkdirAll(filepath.Join(d, "node_modules", "left-pad"), 0o755)
						os.WriteFile(filepath.Join(d, "node_modules", "left-pad", "index.js"), []byte("module.exports = 1"), 0o644)
					case "python":
						os.WriteFile(filepath.Join(d, "test_app.py"), []byte("test"), 0o644)
						os.MkdirAll(filepath.Join(d, "__pycache__"), 0o755)
						os.WriteFile(filepath.Join(d, "__pycache__", "app.cpython-312.pyc"), []byte("junk"), 0o644)
					}
				}
				file := filepath.Join(dir, "evcli.yaml")
				first := packageJSON(t, file)
				second := packageJSON(t, file)
				if len(first) != len(fns) || len(second) != len(fns) {
					t.Fatalf("%d and %d artifacts for %d functions", len(first), len(second), len(fns))
				}
				for i := range first {
					a, b := first[i], second[i]
					if a.Function != b.Function || a.SHA256 != b.SHA256 || a.CodeSha256 != b.CodeSha256 || a.Size != b.Size {
						t.Errorf("%s: builds differ: %+v vs %+v", a.Function, a, b)
					}
					if !a.Changed || b.Changed {
						t.Errorf("%s: changed %v then %v, want true then false", a.Function, a.Changed, b.Changed)
					}
					if want := filepath.Join(dir, ".evcli", "build", a.Function+".zip"); a.Path != want {
						t.Errorf("path %s, want %s", a.Path, want)
					}
					entries := zipEntries(t, a.Path)
					var names []string
					for _, e := range entries {
						names = append(names, e.name)
					}
					switch lang {
					case "go":
						if len(entries) != 1 || entries[0].name != "bootstrap" || entries[0].mode != 0o755 {
							t.Fatalf("%s: entries %v, want only bootstrap 0755", a.Function, names)
						}
						if !bytes.HasPrefix(entries[0].body, []byte("\x7fELF")) || entries[0].body[18] != 0x3e { // EM_X86_64
							t.Errorf("%s: bootstrap is not an x86-64 ELF executable", a.Function)
						}
					case "node":
						for _, want := range []string{"index.js", "node_modules/left-pad/index.js"} {
							if !slices.Contains(names, want) {
								t.Errorf("%s: zip lacks %s: %v", a.Function, want, names)
							}
						}
						if slices.Contains(names, "index.test.js") || slices.Contains(names, ".evcliignore") {
							t.Errorf("%s: ignored files zipped: %v", a.Function, names)
						}
					case "python":
						if !slices.Contains(names, "app.py") {
							t.Errorf("%s: zip lacks app.py: %v", a.Function, names)
						}
						for _, n := range names {
							if n == "test_app.py" || strings.Contains(n, "__pycache__") {
								t.Errorf("%s: ignored file %s zipped", a.Function, n)
							}
						}
					}
				}
			})
		}
	}
}

// nodeFixture is a small Node project for the output tests.
func nodeFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"evcli.yaml": `project: shop
functions:
  orders:
    source: functions/orders
    runtime: nodejs20.x
    handler: index.handler
  billing:
    source: functions/billing
    runtime: python3.12
    handler: app.handler
`,
		"functions/orders/index.js": "exports.handler = async () => 'ok';\n",
		"functions/billing/app.py":  "def handler(event, context):\n    return 'ok'\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPackageOutput(t *testing.T) {
	dir := nodeFixture(t)
	t.Chdir(dir)
	run := func(tty bool, args ...string) (string, string) {
		f, out, errOut := scaffoldFactory("evcli.yaml")
		f.IO.SetStdoutTTY(tty)
		f.IO.SetStderrTTY(tty)
		if code := Run(context.Background(), f, append([]string{"package"}, args...)); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		return out.String(), errOut.String()
	}
	out, errOut := run(false)
	scaffoldGolden(t, "package", "plain-first", out)
	if !strings.Contains(errOut, "building orders\n") || !strings.Contains(errOut, "packaged billing\n") ||
		!strings.Contains(errOut, "packaged 2 of 2 function(s), 2 changed, in ") {
		t.Errorf("progress on stderr:\n%s", errOut)
	}
	out, _ = run(true)
	scaffoldGolden(t, "package", "tty-second", out)
	// Editing one function changes only it.
	os.WriteFile(filepath.Join(dir, "functions/orders/index.js"), []byte("exports.handler = async () => 'changed';\n"), 0o644)
	out, _ = run(false, "--function", "orders")
	if !strings.HasPrefix(out, "orders\t.evcli/build/orders.zip\t") || !strings.HasSuffix(out, "\tchanged\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("after an edit:\n%s", out)
	}
}

func TestPackageErrors(t *testing.T) {
	dir := nodeFixture(t)
	file := filepath.Join(dir, "evcli.yaml")
	t.Run("unknown function", func(t *testing.T) {
		f, _, errOut := scaffoldFactory(file)
		code := Run(context.Background(), f, []string{"package", "--function", "order"})
		want := `evcli: --function: unknown function "order": did you mean "orders"? (functions: orders, billing)`
		if code != 2 || !strings.Contains(errOut.String(), want) {
			t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, want)
		}
	})
	t.Run("escaping symlink", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "secret.txt")
		os.WriteFile(outside, []byte("secret"), 0o644)
		link := filepath.Join(dir, "functions/orders/secret.txt")
		if err := os.Symlink(outside, link); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(link)
		f, out, errOut := scaffoldFactory(file)
		code := Run(context.Background(), f, []string{"package"})
		want := `function "orders": functions/orders/secret.txt is a symlink to ` + outside + `, outside the source directory functions/orders`
		if code != 1 || !strings.Contains(errOut.String(), want) {
			t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, want)
		}
		// The other function still packaged and is listed.
		if !strings.HasPrefix(out.String(), "billing\t") {
			t.Errorf("stdout %q, want the billing artifact", out)
		}
	})
	t.Run("bad project file", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "evcli.yaml")
		os.WriteFile(bad, []byte("project: shop\nfunctions:\n  x:\n    source: .\n    runtime: nodejs99.x\n    handler: index.handler\n"), 0o644)
		f, _, errOut := scaffoldFactory(bad)
		if code := Run(context.Background(), f, []string{"package"}); code != 2 || !strings.Contains(errOut.String(), "evcli.yaml:5:") {
			t.Errorf("exit %d, stderr %q; want 2 and a position", code, errOut)
		}
	})
}

func TestPackageGoBuildFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"evcli.yaml":    "project: shop\nfunctions:\n  hello:\n    source: hello\n    runtime: provided.al2023\n    handler: bootstrap\n",
		"go.mod":        "module shop\n\ngo 1.22\n",
		"hello/main.go": "package main\n\nfunc main() {\n\tundefinedHelper()\n}\n",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	f, _, errOut := scaffoldFactory(filepath.Join(dir, "evcli.yaml"))
	code := Run(context.Background(), f, []string{"package"})
	for _, want := range []string{`evcli: package: function "hello": go build in hello failed`, "main.go:4:2: undefined: undefinedHelper"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}
