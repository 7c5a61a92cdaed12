package templates

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evcli/evcli/project"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func each(t *testing.T, fn func(t *testing.T, tmpl, lang string)) {
	for _, tmpl := range Names {
		for _, lang := range Langs {
			t.Run(tmpl+"-"+lang, func(t *testing.T) { fn(t, tmpl, lang) })
		}
	}
}

// TestFileTrees pins each scaffold's file list (path, size, short hash) in
// testdata/<template>-<lang>.golden; refresh with -update.
func TestFileTrees(t *testing.T) {
	each(t, func(t *testing.T, tmpl, lang string) {
		files, err := Files(tmpl, lang, "shop")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, f := range files {
			sum := sha256.Sum256(f.Data)
			fmt.Fprintf(&b, "%-48s %v %6d %x\n", f.Path, f.Mode, len(f.Data), sum[:4])
		}
		golden := filepath.Join("testdata", tmpl+"-"+lang+".golden")
		if *update {
			if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./templates -update)", err)
		}
		if b.String() != string(want) {
			t.Errorf("file tree differs from %s (run with -update if intended)\n--- got ---\n%s--- want ---\n%s", golden, b.String(), want)
		}
	})
}

// TestProjectsLoad renders every scaffold and loads its evcli.yaml with the
// real loader: valid, every function's source holds its handler, and every
// text file is free of template leftovers and of the placeholder name.
func TestProjectsLoad(t *testing.T) {
	wantFns := map[string][]string{
		"fan-out":        {"inventory", "payment", "notification", "analytics"},
		"event-sourcing": {"orders", "projection"},
		"saga":           {"payment", "inventory", "shipment"},
	}
	handlerFile := map[string]string{"go": "main.go", "node": "index.js", "python": "app.py"}
	each(t, func(t *testing.T, tmpl, lang string) {
		dir := filepath.Join(t.TempDir(), "my-shop")
		files, err := Render(tmpl, lang, "my-shop", dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := project.Load(filepath.Join(dir, "evcli.yaml"), project.LoadOptions{})
		if err != nil {
			t.Fatalf("evcli.yaml does not load:\n%v", err)
		}
		if p.Name != "my-shop" || p.Provider != "local" || p.Bus != "my-shop-bus" || p.Store.Type != "local" {
			t.Errorf("project %q provider %q bus %q store %q", p.Name, p.Provider, p.Bus, p.Store.Type)
		}
		var names []string
		for _, fn := range p.Functions {
			names = append(names, fn.Name)
			if fn.Runtime != runtimes[lang][0] || fn.Handler != runtimes[lang][1] {
				t.Errorf("%s: runtime %s handler %s", fn.Name, fn.Runtime, fn.Handler)
			}
			if _, err := os.Stat(filepath.Join(dir, fn.Source, handlerFile[lang])); err != nil {
				t.Errorf("%s: %v", fn.Name, err)
			}
			if len(fn.Events) == 0 {
				t.Errorf("%s has no trigger", fn.Name)
			}
			if env := fn.Environment; env != nil && env["EVENT_BUS_NAME"] != p.Bus {
				t.Errorf("%s: EVENT_BUS_NAME = %q, want the project bus %q", fn.Name, env["EVENT_BUS_NAME"], p.Bus)
			}
		}
		if !slices.Equal(names, wantFns[tmpl]) {
			t.Errorf("functions %v, want %v", names, wantFns[tmpl])
		}
		for _, f := range files {
			s := string(f.Data)
			if strings.Contains(s, "{{") && !strings.HasSuffix(f.Path, ".sum") {
				t.Errorf("%s: template markers left in the output", f.Path)
			}
			if strings.Contains(s, "<no value>") {
				t.Errorf("%s: a template field rendered empty", f.Path)
			}
		}
		if lang == "go" {
			mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
			if !strings.HasPrefix(string(mod), "module my-shop\n") {
				t.Errorf("go.mod starts %q", strings.SplitN(string(mod), "\n", 2)[0])
			}
		}
	})
}

// TestSampleEventsTrigger checks that every sample event is an EventBridge
// envelope carrying a correlationId, and that its source and detail-type
// reach the functions they are meant for.
func TestSampleEventsTrigger(t *testing.T) {
	wantTargets := map[string][]string{
		"fan-out/order-created.json":               {"inventory", "payment", "notification", "analytics"},
		"event-sourcing/order-placed.json":         {"orders", "projection"},
		"event-sourcing/order-placed-invalid.json": {"orders", "projection"},
		"saga/order-created.json":                  {"payment"},
		"saga/order-created-shipment-fails.json":   {"payment"},
	}
	each(t, func(t *testing.T, tmpl, lang string) {
		dir := filepath.Join(t.TempDir(), "shop")
		files, err := Render(tmpl, lang, "shop", dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := project.Load(filepath.Join(dir, "evcli.yaml"), project.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		evs := Events(files)
		if len(evs) == 0 {
			t.Fatal("no sample events")
		}
		for _, path := range evs {
			var ev struct {
				Source     string         `json:"source"`
				DetailType string         `json:"detail-type"`
				Detail     map[string]any `json:"detail"`
			}
			data, _ := os.ReadFile(filepath.Join(dir, path))
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if ev.Source == "" || ev.DetailType == "" || ev.Detail["correlationId"] == nil || ev.Detail["orderId"] == nil {
				t.Errorf("%s: not an envelope with detail.correlationId and detail.orderId: %s", path, data)
			}
			var got []string
			for _, fn := range p.Functions {
				if triggers(t, fn, ev.Source, ev.DetailType) {
					got = append(got, fn.Name)
				}
			}
			key := tmpl + "/" + strings.TrimPrefix(path, "events/")
			if want, ok := wantTargets[key]; !ok {
				t.Errorf("%s: no expectation for this sample event", key)
			} else if !slices.Equal(got, want) {
				t.Errorf("%s reaches %v, want %v", key, got, want)
			}
		}
	})
}

// triggers evaluates the source/detail-type subset of EventBridge patterns
// the templates use.
func triggers(t *testing.T, fn project.Function, source, detailType string) bool {
	for _, es := range fn.Events {
		var pat map[string][]string
		if err := json.Unmarshal(es.Pattern, &pat); err != nil {
			t.Fatalf("%s: pattern %s: %v", fn.Name, es.Pattern, err)
		}
		if slices.Contains(pat["source"], source) && slices.Contains(pat["detail-type"], detailType) {
			return true
		}
	}
	return false
}

func TestRenderRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Render("fan-out", "go", "shop", dir)
	var ne *NotEmptyError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "holds notes.txt") {
		t.Fatalf("err = %v, want NotEmptyError naming notes.txt", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(got) != "mine" {
		t.Error("existing file touched")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("dir holds %d entries, want the one it had", len(ents))
	}
	// An existing empty directory is fine.
	empty := t.TempDir()
	if _, err := Render("saga", "python", "shop", empty); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNameAndCheck(t *testing.T) {
	for name, ok := range map[string]bool{
		"shop": true, "my-shop2": true, "a": true, strings.Repeat("a", 63): true,
		"": false, "Shop": false, "2shop": false, "my_shop": false, "my.shop": false, strings.Repeat("a", 64): false,
	} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
	for _, tt := range []struct{ tmpl, lang, want string }{
		{"fan-out", "go", ""},
		{"fanout", "go", `unknown template "fanout" (did you mean "fan-out"?): use fan-out, event-sourcing, saga`},
		{"sagas", "go", `(did you mean "saga"?)`},
		{"cqrs", "go", `unknown template "cqrs": use fan-out, event-sourcing, saga`},
		{"saga", "js", `unknown language "js": use go, node, python`},
		{"saga", "py", `unknown language "py" (did you mean "python"?)`},
		{"saga", "nodejs", `(did you mean "node"?)`},
	} {
		err := Check(tt.tmpl, tt.lang)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Check(%s, %s) = %v", tt.tmpl, tt.lang, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%s, %s) = %v, want %q", tt.tmpl, tt.lang, err, tt.want)
		}
	}
}

// TestGoTemplatesVet runs go vet on each rendered Go project for
// GOOS=linux with -mod=readonly: the code compiles and the shipped go.sum
// covers every module the build needs.
func TestGoTemplatesVet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the AWS SDK; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	for _, tmpl := range Names {
		t.Run(tmpl, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "shop")
			if _, err := Render(tmpl, "go", "shop", dir); err != nil {
				t.Fatal(err)
			}
			// -trimpath and the tag as evcli's packaging builds: vet's
			// compiles of the dependencies are then shared with deploy's.
			cmd := exec.Command(goBin, "vet", "-trimpath", "-tags", "lambda.norpc", "./...")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go vet: %v\n%s", err, out)
			}
		})
	}
}

// TestScriptSyntax checks that the Node and Python handlers compile (one
// interpreter per language, compiling every file without running it).
func TestScriptSyntax(t *testing.T) {
	checkers := map[string][]string{
		"node":   {"node", "-e", `const vm = require('vm'), fs = require('fs'); for (const f of process.argv.slice(1)) vm.compileFunction(fs.readFileSync(f, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {filename: f});`},
		"python": {"python3", "-c", "import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)"},
	}
	for _, lang := range []string{"node", "python"} {
		args := checkers[lang]
		bin, err := exec.LookPath(args[0])
		if err != nil {
			t.Logf("%s not on PATH: skipping %s handlers", args[0], lang)
			continue
		}
		dir := t.TempDir()
		var paths []string
		for _, tmpl := range Names {
			files, err := Files(tmpl, lang, "shop")
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if !strings.HasSuffix(f.Path, ".js") && !strings.HasSuffix(f.Path, ".py") {
					continue
				}
				p := filepath.Join(dir, tmpl, filepath.FromSlash(f.Path))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 {
			t.Fatalf("no %s handlers", lang)
		}
		cmd := exec.Command(bin, append(args[1:], paths...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s handlers do not compile: %v\n%s", lang, err, out)
		}
	}
}
