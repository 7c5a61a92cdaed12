package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/project"
)

// writeTree creates files under dir; a name ending in "*" is made executable.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask-proof
			t.Fatal(err)
		}
	}
}

func nodeProject(t *testing.T, files map[string]string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	return &project.Project{
		Path: filepath.Join(dir, "evcli.yaml"),
		Dir:  dir,
		Name: "shop",
		Functions: []project.Function{
			{Name: "orders", Source: "functions/orders", Runtime: "nodejs20.x", Handler: "index.handler"},
		},
	}
}

type zipInfo struct {
	Name string
	Mode fs.FileMode
	Body string
}

func readZip(t *testing.T, path string) []zipInfo {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []zipInfo
	want1980 := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range r.File {
		if len(f.Extra) != 0 {
			t.Errorf("%s: entry %s has extra fields % x", path, f.Name, f.Extra)
		}
		if f.Method != zip.Deflate {
			t.Errorf("%s: entry %s method %d, want Deflate", path, f.Name, f.Method)
		}
		if !f.Modified.Equal(want1980) {
			t.Errorf("%s: entry %s modified %v, want %v", path, f.Name, f.Modified, want1980)
		}
		if f.Comment != "" {
			t.Errorf("%s: entry %s has a comment", path, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zipInfo{Name: f.Name, Mode: f.Mode(), Body: string(body)})
	}
	return out
}

func TestPackageNodeDeterministicAndIgnore(t *testing.T) {
	p := nodeProject(t, map[string]string{
		"functions/orders/index.js":                     "exports.handler = async () => 1;\n",
		"functions/orders/lib/util.js":                  "module.exports = {};\n",
		"functions/orders/node_modules/dep/index.js":    "module.exports = 2;\n",
		"functions/orders/node_modules/dep/README.md":   "dep\n",
		"functions/orders/bin/run*":                     "#!/bin/sh\n",
		"functions/orders/test/index.test.js":           "test\n",
		"functions/orders/notes.md":                     "notes\n",
		"functions/orders/KEEP.md":                      "keep\n",
		"functions/orders/.git/HEAD":                    "ref\n",
		"functions/orders/__pycache__/x.pyc":            "pyc\n",
		"functions/orders/a.txt":                        "sorted before a/ in byte order\n",
		"functions/orders/a/b.txt":                      "b\n",
		"functions/orders/.evcliignore":                 "# test files\ntest/\n/*.md\n!KEEP.md\n",
		"functions/orders/node_modules/dep/test/x.js":   "kept: test/ matches at any depth, so excluded\n",
		"functions/orders/node_modules/dep/sub/note.md": "kept: /*.md is anchored\n",
	})
	var events []ArtifactEvent
	a1, err := Package(context.Background(), p, PackageOptions{Progress: func(e ArtifactEvent) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(a1) != 1 || !a1[0].Changed {
		t.Fatalf("first build: %+v, want one changed artifact", a1)
	}
	wantPath := filepath.Join(p.Dir, ".evcli", "build", "orders.zip")
	if a1[0].Path != wantPath {
		t.Errorf("Path = %s, want %s", a1[0].Path, wantPath)
	}
	last := events[len(events)-1]
	if got := []ArtifactPhase{events[0].Phase, last.Phase}; !slices.Equal(got, []ArtifactPhase{PhaseBuilding, PhaseDone}) || last.Artifact.SHA256 != a1[0].SHA256 || events[1].Step != StepCollecting {
		t.Errorf("progress events = %+v", events)
	}

	// The hashes describe the file.
	data, err := os.ReadFile(a1[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if a1[0].SHA256 != hex.EncodeToString(sum[:]) || a1[0].CodeSha256 != base64.StdEncoding.EncodeToString(sum[:]) || a1[0].Size != int64(len(data)) {
		t.Errorf("artifact %+v does not describe the zip (sha256 %x, %d bytes)", a1[0], sum, len(data))
	}

	got := readZip(t, a1[0].Path)
	var names []string
	for _, e := range got {
		names = append(names, e.Name)
		wantMode := fs.FileMode(0o644)
		if e.Name == "bin/run" {
			wantMode = 0o755
		}
		if e.Mode != wantMode {
			t.Errorf("%s: mode %v, want %v", e.Name, e.Mode, wantMode)
		}
	}
	want := []string{"KEEP.md", "a.txt", "a/b.txt", "bin/run", "index.js", "lib/util.js", "node_modules/dep/README.md", "node_modules/dep/index.js", "node_modules/dep/sub/note.md"}
	if !slices.Equal(names, want) {
		t.Errorf("zip entries:\n got %q\nwant %q", names, want)
	}

	// Touching every file (new mtimes), loosening modes and building again
	// gives the same bytes, and "unchanged".
	later := time.Now().Add(time.Hour)
	filepath.WalkDir(p.Dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chtimes(path, later, later)
		}
		return nil
	})
	os.Chmod(filepath.Join(p.Dir, "functions/orders/index.js"), 0o600)
	os.Chmod(filepath.Join(p.Dir, "functions/orders/bin/run"), 0o700)
	a2, err := Package(context.Background(), p, PackageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a2[0].SHA256 != a1[0].SHA256 || a2[0].Changed {
		t.Errorf("second build: %+v, want sha %s unchanged", a2[0], a1[0].SHA256)
	}

	// A changed source changes the hash and is reported as changed; an
	// ignored file does not.
	writeTree(t, p.Dir, map[string]string{"functions/orders/test/more.test.js": "x\n"})
	a3, _ := Package(context.Background(), p, PackageOptions{})
	if a3[0].Changed {
		t.Error("adding an ignored file changed the artifact")
	}
	writeTree(t, p.Dir, map[string]string{"functions/orders/index.js": "exports.handler = async () => 2;\n"})
	a4, _ := Package(context.Background(), p, PackageOptions{})
	if !a4[0].Changed || a4[0].SHA256 == a1[0].SHA256 {
		t.Errorf("after editing index.js: %+v, want changed", a4[0])
	}
	if prev := PreviousSHA256(filepath.Dir(a4[0].Path), "orders"); prev != a4[0].SHA256 {
		t.Errorf("manifest holds %s, want %s", prev, a4[0].SHA256)
	}
}

func TestPackageSymlinks(t *testing.T) {
	tests := []struct {
		name    string
		link    string // inside functions/orders
		target  string
		ignore  string
		wantErr string // "" = packages
		entry   string // expected entry when it packages
	}{
		{name: "file inside is followed", link: "alias.js", target: "index.js", entry: "alias.js"},
		{name: "dir inside is followed", link: "shared", target: "lib", entry: "shared/util.js"},
		{name: "file outside is refused", link: "secret", target: "../../outside.txt", wantErr: `functions/orders/secret is a symlink to `},
		{name: "absolute outside is refused", link: "etc", target: "/etc", wantErr: `functions/orders/etc is a symlink to /etc, outside the source directory functions/orders`},
		{name: "dir outside via dotdot is refused", link: "lib/up", target: "../..", wantErr: `functions/orders/lib/up is a symlink to `},
		{name: "ignored escaping link is skipped", link: "secret", target: "../../outside.txt", ignore: "secret\n"},
		{name: "loop is refused", link: "lib/loop", target: "..", wantErr: "functions/orders/lib/loop is a symlink to one of its own parent directories"},
		{name: "dangling is refused", link: "gone", target: "nothing-here", wantErr: "functions/orders/gone is a symlink that cannot be followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{
				"functions/orders/index.js":    "exports.handler = async () => 1;\n",
				"functions/orders/lib/util.js": "module.exports = {};\n",
				"outside.txt":                  "secret\n",
			}
			if tt.ignore != "" {
				files["functions/orders/.evcliignore"] = tt.ignore
			}
			p := nodeProject(t, files)
			if err := os.Symlink(tt.target, filepath.Join(p.Dir, "functions/orders", tt.link)); err != nil {
				t.Fatal(err)
			}
			a, err := PackageFunction(context.Background(), p, &p.Functions[0], filepath.Join(p.Dir, "out"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `function "orders"`) {
					t.Fatalf("err = %v, want it to contain %q and name the function", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.entry != "" && !slices.ContainsFunc(readZip(t, a.Path), func(z zipInfo) bool { return z.Name == tt.entry }) {
				t.Errorf("zip lacks %s", tt.entry)
			}
		})
	}
}

func TestPackageErrors(t *testing.T) {
	tests := []struct {
		name    string
		fn      project.Function
		files   map[string]string
		wantErr string
	}{
		{"missing node handler file", project.Function{Runtime: "nodejs20.x", Handler: "index.handler"},
			map[string]string{"main.js": "x"}, `handler "index.handler" needs index.js, index.mjs or index.cjs in functions/f`},
		{"handler excluded by ignore", project.Function{Runtime: "nodejs20.x", Handler: "index.handler"},
			map[string]string{"index.js": "x", ".evcliignore": "*.js\n"}, `(and not excluded by .evcliignore)`},
		{"handler without function", project.Function{Runtime: "python3.12", Handler: "app"},
			map[string]string{"app.py": "x"}, `handler "app" is not FILE.FUNCTION: write e.g. "app.handler"`},
		{"missing python module", project.Function{Runtime: "python3.12", Handler: "pkg.mod.handler"},
			map[string]string{"app.py": "x"}, `needs pkg/mod.py or pkg/mod/__init__.py`},
		{"unknown runtime", project.Function{Runtime: "java21", Handler: "x"},
			map[string]string{"x": "x"}, `cannot package runtime "java21"`},
		{"prebuilt without bootstrap", project.Function{Runtime: "provided.al2023", Handler: "bootstrap"},
			map[string]string{"README": "x"}, `has no .go files and no executable bootstrap`},
		{"bad ignore file", project.Function{Runtime: "nodejs20.x", Handler: "index.handler"},
			map[string]string{"index.js": "x", ".evcliignore": "ok\n[oops\n"}, `functions/f/.evcliignore:2:1: unterminated "["`},
		{"source missing", project.Function{Runtime: "nodejs20.x", Handler: "index.handler", Source: "nowhere"},
			nil, `function "f": source nowhere: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for k, v := range tt.files {
				files["functions/f/"+k] = v
			}
			writeTree(t, dir, files)
			fn := tt.fn
			fn.Name = "f"
			if fn.Source == "" {
				fn.Source = "functions/f"
			}
			p := &project.Project{Dir: dir, Functions: []project.Function{fn}}
			_, err := PackageFunction(context.Background(), p, &p.Functions[0], filepath.Join(dir, "out"))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestPackagePythonAndPrebuilt(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"functions/py/pkg/__init__.py":   "def handler(e, c): pass\n",
		"functions/py/vendor/lib.py":     "x = 1\n",
		"functions/py/__pycache__/a.pyc": "junk",
		"functions/rs/bootstrap*":        "\x7fELF-prebuilt",
	})
	p := &project.Project{Dir: dir, Functions: []project.Function{
		{Name: "py", Source: "functions/py", Runtime: "python3.12", Handler: "pkg.handler"},
		{Name: "rs", Source: "functions/rs", Runtime: "provided.al2023", Handler: "bootstrap"},
	}}
	arts, err := Package(context.Background(), p, PackageOptions{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].Function != "py" || arts[1].Function != "rs" {
		t.Fatalf("artifacts %+v, want py then rs", arts)
	}
	if got := readZip(t, arts[0].Path); len(got) != 2 || got[0].Name != "pkg/__init__.py" || got[1].Name != "vendor/lib.py" {
		t.Errorf("python zip = %+v", got)
	}
	if got := readZip(t, arts[1].Path); len(got) != 1 || got[0].Name != "bootstrap" || got[0].Mode != 0o755 {
		t.Errorf("prebuilt zip = %+v", got)
	}
}

func TestPackageSelectFunctions(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a/index.js": "x", "b/index.js": "y"})
	p := &project.Project{Dir: dir, Functions: []project.Function{
		{Name: "inventory", Source: "a", Runtime: "nodejs20.x", Handler: "index.handler"},
		{Name: "payment", Source: "b", Runtime: "nodejs20.x", Handler: "index.handler"},
	}}
	arts, err := Package(context.Background(), p, PackageOptions{Functions: []string{"payment", "inventory", "payment"}})
	if err != nil || len(arts) != 2 || arts[0].Function != "inventory" {
		t.Fatalf("Package = %+v, %v; want both, in project order", arts, err)
	}
	_, err = Package(context.Background(), p, PackageOptions{Functions: []string{"inventroy"}})
	var ue *UnknownFunctionError
	if !errors.As(err, &ue) || ue.Suggestion != "inventory" {
		t.Fatalf("err = %v, want unknown function with suggestion", err)
	}
	if want := `unknown function "inventroy": did you mean "inventory"? (functions: inventory, payment)`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	// Packaging only one leaves the other's manifest entry alone.
	before := PreviousSHA256(filepath.Join(dir, BuildDir), "inventory")
	if _, err := Package(context.Background(), p, PackageOptions{Functions: []string{"payment"}}); err != nil {
		t.Fatal(err)
	}
	if after := PreviousSHA256(filepath.Join(dir, BuildDir), "inventory"); after != before || before == "" {
		t.Errorf("inventory manifest entry %q -> %q", before, after)
	}
}

func TestPackageReportsEveryFailure(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"ok/index.js": "x", "bad1/x.js": "x", "bad2/y.js": "y"})
	p := &project.Project{Dir: dir, Functions: []project.Function{
		{Name: "bad1", Source: "bad1", Runtime: "nodejs20.x", Handler: "index.handler"},
		{Name: "ok", Source: "ok", Runtime: "nodejs20.x", Handler: "index.handler"},
		{Name: "bad2", Source: "bad2", Runtime: "nodejs20.x", Handler: "index.handler"},
	}}
	arts, err := Package(context.Background(), p, PackageOptions{Concurrency: 1})
	if len(arts) != 1 || arts[0].Function != "ok" {
		t.Errorf("artifacts = %+v, want only ok", arts)
	}
	if err == nil || !strings.Contains(err.Error(), `function "bad1"`) || !strings.Contains(err.Error(), `function "bad2"`) {
		t.Errorf("err = %v, want both failures", err)
	}
}

func TestWriteZipRefusesEscapingNames(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, []byte("x"), 0o644)
	for _, name := range []string{"../x", "/abs", "a/../../x", `a\b`, "a/./b", ""} {
		err := WriteZip(io.Discard, []zipEntry{{Name: name, Path: f, Mode: 0o644}})
		if err == nil || !strings.Contains(err.Error(), "not a safe path") {
			t.Errorf("WriteZip(%q) err = %v, want refusal", name, err)
		}
	}
	err := WriteZip(io.Discard, []zipEntry{{Name: "a", Path: f}, {Name: "a", Path: f}})
	if err == nil {
		t.Error("duplicate names accepted")
	}
}

// TestWriteZipBytes pins the layout of the headers: a change here changes
// every artifact hash users have deployed.
func TestWriteZipBytes(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"b.txt": "bbb", "a.sh*": "#!/bin/sh\n"})
	entries := []zipEntry{
		{Name: "b.txt", Path: filepath.Join(dir, "b.txt"), Mode: 0o600},
		{Name: "a.sh", Path: filepath.Join(dir, "a.sh"), Mode: 0o700},
	}
	var b1, b2 bytes.Buffer
	if err := WriteZip(&b1, entries); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(entries)
	if err := WriteZip(&b2, entries); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Fatal("input order changed the zip")
	}
	zr, err := zip.NewReader(bytes.NewReader(b1.Bytes()), int64(b1.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		name string
		ext  uint32
	}{{"a.sh", 0o100755 << 16}, {"b.txt", 0o100644 << 16}} {
		f := zr.File[i]
		if f.Name != want.name || f.ExternalAttrs != want.ext || f.CreatorVersion>>8 != 3 || f.ModifiedDate != zipDate || f.ModifiedTime != zipTime {
			t.Errorf("entry %d: name %s attrs %o creator %d date %d time %d", i, f.Name, f.ExternalAttrs, f.CreatorVersion>>8, f.ModifiedDate, f.ModifiedTime)
		}
	}
	// The local headers carry no extra fields either (the reader only shows
	// the central directory's).
	if n := bytes.Count(b1.Bytes(), []byte{0x55, 0x54, 0x09, 0x00}); n != 0 {
		t.Errorf("found %d extended-timestamp extra fields", n)
	}
}

// goProject is a one-function Go project for arm64. Its programs import
// nothing (println is a builtin): a cold cache then compiles only the
// runtime for arm64, not fmt and what fmt needs.
func goProject(t *testing.T, mainGo string) *project.Project {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	if os.Getenv("EVCLI_CACHE_DIR") == "" {
		t.Setenv("EVCLI_CACHE_DIR", t.TempDir()) // keep tests out of the user's cache
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":                  "module example.com/hello\n\ngo 1.22\n",
		"functions/hello/main.go": mainGo,
	})
	return &project.Project{Dir: dir, Functions: []project.Function{
		{Name: "hello", Source: "functions/hello", Runtime: "provided.al2023", Handler: "bootstrap", Architecture: "arm64"},
	}}
}

func TestPackageGo(t *testing.T) {
	p := goProject(t, "package main\n\nfunc main() { println(\"hi\") }\n")
	outA := filepath.Join(t.TempDir(), "a")
	a1, err := PackageFunction(context.Background(), p, &p.Functions[0], outA)
	if err != nil {
		t.Fatal(err)
	}
	got := readZip(t, a1.Path)
	if len(got) != 1 || got[0].Name != "bootstrap" || got[0].Mode != 0o755 {
		t.Fatalf("zip = %v, want one executable bootstrap", got)
	}
	body := []byte(got[0].Body)
	if !bytes.HasPrefix(body, []byte("\x7fELF")) {
		t.Fatalf("bootstrap is not ELF: % x", body[:min(8, len(body))])
	}
	// ELF e_machine at offset 18: 0xB7 is AArch64 (architecture arm64).
	if len(body) < 20 || body[18] != 0xB7 {
		t.Errorf("bootstrap e_machine = %#x, want 0xb7 (arm64)", body[18])
	}
	// A second build elsewhere, from a copy at another path, is byte-identical
	// (-trimpath, no build id).
	dir2 := t.TempDir()
	if err := os.CopyFS(dir2, os.DirFS(p.Dir)); err != nil {
		t.Fatal(err)
	}
	p2 := *p
	p2.Dir = dir2
	a2, err := PackageFunction(context.Background(), &p2, &p2.Functions[0], filepath.Join(t.TempDir(), "b"))
	if err != nil {
		t.Fatal(err)
	}
	if a1.SHA256 != a2.SHA256 {
		t.Errorf("two builds differ: %s vs %s", a1.SHA256, a2.SHA256)
	}
}

func TestPackageGoBuildError(t *testing.T) {
	p := goProject(t, "package main\n\nfunc main() { undefinedThing() }\n")
	_, err := Package(context.Background(), p, PackageOptions{})
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want *BuildError", err)
	}
	msg := err.Error()
	for _, want := range []string{`function "hello": go build in functions/hello failed`, "undefined: undefinedThing", "functions/hello/main.go:3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

// TestIgnoreAgreesWithGit walks a tree with collectSource and compares the
// files it keeps with the ones git leaves untracked-but-not-ignored for the
// same rules as a .gitignore.
func TestIgnoreAgreesWithGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not on PATH")
	}
	rules := "*.log\n!keep.log\n/build\ntmp/\n**/cache/**\n!**/cache/ok.txt\ndocs/*.md\na/**/z\n[Bb]in/\n\\#lit\n"
	files := []string{
		"x.log", "keep.log", "sub/y.log", "sub/keep.log", "build/out", "src/build/out",
		"tmp/a", "deep/tmp/b", "tmpfile", "cache/x", "p/cache/y", "p/cache/ok.txt",
		"docs/a.md", "docs/sub/b.md", "a/z", "a/q/r/z", "a/q/zz", "bin/x", "Bin/y", "bins/z",
		"#lit", "index.js",
	}
	dir := t.TempDir()
	tree := map[string]string{".gitignore": rules, ".evcliignore": rules}
	for _, f := range files {
		tree[f] = f
	}
	writeTree(t, dir, tree)
	cmd := exec.Command(git, "init", "-q", ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("git init: %v %s", err, out)
	}
	cmd = exec.Command(git, "ls-files", "-o", "--exclude-standard")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != ".gitignore" && l != ".evcliignore" {
			want = append(want, l)
		}
	}
	slices.Sort(want)
	entries, err := collectSource(&project.Function{Name: "f", Source: "."}, dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.Name != ".gitignore" {
			got = append(got, e.Name)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kept files differ from git's\n ours %q\n git  %q", got, want)
	}
}

func TestPackageGoWithoutModule(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"hello/main.go": "package main\n\nfunc main() {}\n"})
	p := &project.Project{Dir: dir, Functions: []project.Function{{Name: "hello", Source: "hello", Runtime: "provided.al2023", Handler: "bootstrap"}}}
	_, err := PackageFunction(context.Background(), p, &p.Functions[0], filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), `run "go mod init" at the project root`) {
		t.Fatalf("err = %v, want the go.mod hint", err)
	}
}

// goShim puts a go command on PATH that logs its subcommand to the
// returned file and runs the real one.
func goShim(t *testing.T) (logFile string) {
	t.Helper()
	real, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	dir := t.TempDir()
	logFile = filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$1\" >> '" + logFile + "'\nexec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return logFile
}

func TestPackageGoReusesLinkedBootstrap(t *testing.T) {
	t.Setenv("EVCLI_CACHE_DIR", t.TempDir())
	calls := goShim(t)
	p := goProject(t, "package main\n\nfunc main() { println(\"one\") }\n")
	builds := func() int {
		b, _ := os.ReadFile(calls)
		return strings.Count(string(b), "build\n")
	}
	pkg := func() Artifact {
		t.Helper()
		a, err := PackageFunction(context.Background(), p, &p.Functions[0], filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := pkg()
	if n := builds(); n != 1 {
		t.Fatalf("first package ran go build %d times, want 1", n)
	}
	again := pkg()
	if n := builds(); n != 1 {
		t.Errorf("unchanged source linked again: %d go builds, want 1", n)
	}
	if again.SHA256 != first.SHA256 {
		t.Errorf("cached bootstrap gives another zip: %s vs %s", again.SHA256, first.SHA256)
	}
	// A changed source is built again and gives another zip.
	main := filepath.Join(p.Dir, "functions/hello/main.go")
	if err := os.WriteFile(main, []byte("package main\n\nfunc main() { println(\"two\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := pkg()
	if n := builds(); n != 2 {
		t.Errorf("changed source: %d go builds, want 2", n)
	}
	if changed.SHA256 == first.SHA256 {
		t.Error("changed source packaged the old bootstrap")
	}
	// Another target architecture is another entry.
	p.Functions[0].Architecture = "x86_64"
	if pkg(); builds() != 3 {
		t.Errorf("another architecture reused a bootstrap: %d go builds, want 3", builds())
	}
	// Going back to the first source reuses its bootstrap.
	p.Functions[0].Architecture = "arm64"
	if err := os.WriteFile(main, []byte("package main\n\nfunc main() { println(\"one\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if back := pkg(); back.SHA256 != first.SHA256 || builds() != 3 {
		t.Errorf("back to the first source: sha %s (want %s), %d go builds (want 3)", back.SHA256, first.SHA256, builds())
	}
}

func TestPackageGoCompileErrorStillReported(t *testing.T) {
	t.Setenv("EVCLI_CACHE_DIR", t.TempDir())
	p := goProject(t, "package main\n\nfunc main() { undefinedThing() }\n")
	_, err := Package(context.Background(), p, PackageOptions{})
	if err == nil || !strings.Contains(err.Error(), "undefined: undefinedThing") {
		t.Fatalf("err = %v, want the compiler's message", err)
	}
	ents, _ := os.ReadDir(filepath.Join(os.Getenv("EVCLI_CACHE_DIR"), "go-bootstrap"))
	if len(ents) != 0 {
		t.Errorf("a failed build left %d cache entries", len(ents))
	}
}
