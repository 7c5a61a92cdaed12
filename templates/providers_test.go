package templates

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evcli/evcli/project"
)

// eachProvider runs fn for every non-AWS provider, template it has and language.
func eachProvider(t *testing.T, fn func(t *testing.T, provider, tmpl, lang string)) {
	for _, p := range Providers[1:] {
		for _, tmpl := range Names {
			for _, lang := range providerTemplates[p][tmpl] {
				t.Run(p+"-"+tmpl+"-"+lang, func(t *testing.T) { fn(t, p, tmpl, lang) })
			}
		}
	}
}

// TestProviderFileTrees pins the file list of each gcp/azure scaffold in
// testdata/<provider>-<template>-<lang>.golden; refresh with -update.
func TestProviderFileTrees(t *testing.T) {
	eachProvider(t, func(t *testing.T, provider, tmpl, lang string) {
		files, err := FilesFor(tmpl, lang, provider, "shop")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, f := range files {
			sum := sha256.Sum256(f.Data)
			fmt.Fprintf(&b, "%-48s %v %6d %x\n", f.Path, f.Mode, len(f.Data), sum[:4])
		}
		golden := filepath.Join("testdata", provider+"-"+tmpl+"-"+lang+".golden")
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

// TestProviderProjectsLoad: every gcp/azure scaffold loads with the real
// loader, records its handlers kind, names each function's handler so
// that the file holding it exists and registers it under the function's
// name, and carries no AWS SDK or Lambda signature.
func TestProviderProjectsLoad(t *testing.T) {
	files := map[string]map[string]string{
		"gcp":   {"go": "main.go", "node": "index.js", "python": "main.py"},
		"azure": {"go": "main.go", "node": "index.js", "python": "function_app.py"},
	}
	registers := map[string]map[string]string{
		"gcp":   {"go": `functions.CloudEvent("%s", `, "node": `functions.cloudEvent('%s',`, "python": "@functions_framework.cloud_event\ndef %s(cloud_event):"},
		"azure": {"go": `evt.Serve("%s", handle)`, "node": `app.eventGrid('%s', {`, "python": "@app.event_grid_trigger(arg_name=\"grid_event\")\ndef %s(grid_event"},
	}
	eachProvider(t, func(t *testing.T, provider, tmpl, lang string) {
		dir := filepath.Join(t.TempDir(), "my-shop")
		rendered, err := RenderFor(tmpl, lang, provider, "my-shop", dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := project.Load(filepath.Join(dir, "evcli.yaml"), project.LoadOptions{})
		if err != nil {
			t.Fatalf("evcli.yaml does not load:\n%v", err)
		}
		if p.Handlers != provider || p.Provider != "local" {
			t.Errorf("handlers %q provider %q, want %s on local", p.Handlers, p.Provider, provider)
		}
		for _, fn := range p.Functions {
			want := "bootstrap"
			if lang != "go" {
				want = handlerModules[provider][lang] + "." + fn.Name
			}
			if fn.Runtime != runtimes[lang][0] || fn.Handler != want {
				t.Errorf("%s: runtime %s handler %s, want %s", fn.Name, fn.Runtime, fn.Handler, want)
			}
			src, err := os.ReadFile(filepath.Join(dir, fn.Source, files[provider][lang]))
			if err != nil {
				t.Fatalf("%s: %v", fn.Name, err)
			}
			if reg := fmt.Sprintf(registers[provider][lang], fn.Name); !strings.Contains(string(src), reg) {
				t.Errorf("%s: %s does not register it with %q", fn.Name, files[provider][lang], reg)
			}
			if len(fn.Environment) == 0 {
				t.Errorf("%s: no host variables in its environment", fn.Name)
			}
		}
		for _, f := range rendered {
			s := string(f.Data)
			if (strings.Contains(s, "{{") && !strings.HasSuffix(f.Path, ".go")) || strings.Contains(s, "<no value>") || strings.Contains(s, "{{.") {
				t.Errorf("%s: template leftovers", f.Path)
			}
			for _, aws := range []string{"aws-lambda-go", "aws-sdk", "boto3", "awsRequestId", "aws_request_id"} {
				if strings.Contains(s, aws) {
					t.Errorf("%s mentions %s", f.Path, aws)
				}
			}
		}
	})
}

// TestProviderGoVet vets the gcp and azure Go scaffolds as TestGoTemplatesVet
// does the AWS ones (the shipped go.sum covers the build, nothing is added).
func TestProviderGoVet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds functions-framework-go; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	for _, provider := range Providers[1:] {
		for _, tmpl := range Names {
			if !slices.Contains(providerTemplates[provider][tmpl], "go") {
				continue
			}
			t.Run(provider+"-"+tmpl, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "shop")
				if _, err := RenderFor(tmpl, "go", provider, "shop", dir); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(goBin, "vet", "-trimpath", "-tags", "lambda.norpc", "./...")
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("go vet: %v\n%s", err, out)
				}
			})
		}
	}
}

// TestProviderGoModulesAreEvclis: the gcp Go scaffold requires exactly the
// versions evcli's go.mod pins, so building it downloads nothing.
func TestProviderGoModulesAreEvclis(t *testing.T) {
	evcli := requires(t, filepath.Join("..", "go.mod"))
	scaffold := requires(t, filepath.Join("files", "_gcp", "_lang", "go", "go.mod.tmpl"))
	sum, err := os.ReadFile(filepath.Join("files", "_gcp", "_lang", "go", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if scaffold["github.com/GoogleCloudPlatform/functions-framework-go"] == "" {
		t.Fatal("the gcp Go scaffold does not require functions-framework-go")
	}
	for mod, v := range scaffold {
		if want, ok := evcli[mod]; !ok || v != want {
			t.Errorf("scaffold requires %s %s, evcli's go.mod has %q: use evcli's", mod, v, want)
		}
		if !strings.Contains(string(sum), mod+" "+v+"/go.mod ") {
			t.Errorf("scaffold go.sum lacks %s %s/go.mod", mod, v)
		}
	}
}

// TestProviderScriptSyntax compiles the gcp/azure Node and Python handlers.
func TestProviderScriptSyntax(t *testing.T) {
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
		for _, provider := range Providers[1:] {
			for tmpl, langs := range providerTemplates[provider] {
				if !slices.Contains(langs, lang) {
					continue
				}
				files, err := FilesFor(tmpl, lang, provider, "shop")
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					if !strings.HasSuffix(f.Path, ".js") && !strings.HasSuffix(f.Path, ".py") {
						continue
					}
					p := filepath.Join(dir, provider, tmpl, filepath.FromSlash(f.Path))
					os.MkdirAll(filepath.Dir(p), 0o755)
					if err := os.WriteFile(p, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					paths = append(paths, p)
				}
			}
		}
		cmd := exec.Command(bin, append(args[1:], paths...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s handlers do not compile: %v\n%s", lang, err, out)
		}
	}
}

// TestHandlersFor: --provider picks the handlers; unknown providers and
// templates a provider lacks are refused with what to use.
func TestHandlersFor(t *testing.T) {
	for _, tt := range []struct{ tmpl, lang, provider, want, err string }{
		{"saga", "go", "", "aws", ""},
		{"saga", "go", "local", "aws", ""},
		{"saga", "go", "aws", "aws", ""},
		{"fan-out", "go", "gcp", "gcp", ""},
		{"saga", "python", "gcp", "gcp", ""},
		{"fan-out", "node", "azure", "azure", ""},
		{"fan-out", "go", "gpc", "", `unknown provider "gpc" (did you mean "gcp"?): use local, aws, gcp, azure`},
		{"saga", "node", "azure", "", "the saga template has no Node.js azure handlers yet: use --template fan-out, or --provider aws"},
		{"event-sourcing", "node", "gcp", "gcp", ""},
		{"saga-orchestrated", "node", "gcp", "", "the saga-orchestrated template has no Node.js gcp handlers yet: use --template fan-out or event-sourcing or saga, or --provider aws"},
	} {
		got, err := HandlersFor(tt.tmpl, tt.lang, tt.provider)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("HandlersFor(%q, %q, %q) = %q, %v; want %q, %q", tt.tmpl, tt.lang, tt.provider, got, err, tt.want, tt.err)
		}
	}
}
