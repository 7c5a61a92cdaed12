package cmd

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCommandsNeverAskWhichProvider holds the line of the provider front
// door: outside registry.go, no command file imports a driver or a cloud
// SDK, and none compares a string with a provider's name.
func TestCommandsNeverAskWhichProvider(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := filepath.Glob("cmdutil/*.go")
	files = append(files, sub...)
	names := map[string]bool{`"local"`: true, `"aws"`: true, `"gcp"`: true, `"azure"`: true}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case strings.HasPrefix(path, "github.com/aws/"), strings.HasPrefix(path, "cloud.google.com/"),
				strings.HasPrefix(path, "github.com/Azure/"):
				t.Errorf("%s imports the cloud SDK %s: drivers own their SDKs", name, path)
			case strings.HasPrefix(path, "github.com/evcli/evcli/providers/") && name != "registry.go":
				t.Errorf("%s imports the driver package %s: only registry.go knows the drivers", name, path)
			case strings.Count(strings.TrimPrefix(path, "github.com/evcli/evcli/providers/"), "/") > 0 &&
				strings.HasPrefix(path, "github.com/evcli/evcli/providers/"):
				t.Errorf("%s imports a driver's inner package %s", name, path)
			}
		}
		if name == "registry.go" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var lits []*ast.BasicLit
			switch x := n.(type) {
			case *ast.BinaryExpr:
				if x.Op == token.EQL || x.Op == token.NEQ {
					for _, side := range []ast.Expr{x.X, x.Y} {
						if l, ok := side.(*ast.BasicLit); ok {
							lits = append(lits, l)
						}
					}
				}
			case *ast.CaseClause:
				for _, e := range x.List {
					if l, ok := e.(*ast.BasicLit); ok {
						lits = append(lits, l)
					}
				}
			}
			for _, l := range lits {
				if names[l.Value] {
					t.Errorf("%s: compares with the provider name %s: use an ability of providers.Provider", fset.Position(l.Pos()), l.Value)
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked only %d files", checked)
	}
}

// TestTestSupportIsNotLinked: the AWS wire-protocol fake and the
// conformance suite are test support, never part of the evcli binary.
func TestTestSupportIsNotLinked(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/evcli/evcli").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list found only %d packages", len(deps))
	}
	for _, d := range deps {
		if strings.HasSuffix(d, "/awstest") || strings.Contains(d, "/providertest") || strings.HasSuffix(d, "/awsfake") ||
			strings.HasSuffix(d, "/awsproject") || strings.HasSuffix(d, "/gcptest") || strings.HasSuffix(d, "/pstest") ||
			strings.HasSuffix(d, "/aztest") {
			t.Errorf("the evcli binary links the test package %s", d)
		}
	}
}
