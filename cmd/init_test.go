package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/cmd/cmdutil"
)

// scaffoldFactory is a Factory for the init and package commands, with -f
// pointing at file.
func scaffoldFactory(file string) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	io, _, out, errOut := cmdutil.Test()
	return &cmdutil.Factory{
		IO:      io,
		Globals: &cmdutil.Globals{File: file, Output: "text", Color: "auto"},
		Now:     func() time.Time { return time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC) },
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Getenv:  func(string) string { return "" },
		Environ: func() []string { return nil },
	}, out, errOut
}

// scaffoldGolden compares got with cmd/testdata/<dir>/<name>.golden
// (rewritten with -update).
func scaffoldGolden(t *testing.T, dir, name, got string) {
	t.Helper()
	// Tests may chdir; the golden files live next to this package's sources.
	assertGolden(t, filepath.Join(cmdSourceDir, "testdata", dir, name+".golden"), got)
}

// cmdSourceDir is this package's directory, taken before any test chdirs.
var cmdSourceDir, _ = os.Getwd()

func TestInitText(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tt := range []struct{ name, tmpl, lang string }{
		{"fan-out-go", "fan-out", "go"},
		{"saga-node", "saga", "node"},
		{"event-sourcing-python", "event-sourcing", "python"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, out, errOut := scaffoldFactory("evcli.yaml")
			dir := "p-" + tt.name
			if code := Run(context.Background(), f, []string{"init", dir, "--template", tt.tmpl, "--lang", tt.lang}); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr: %s", errOut)
			}
			scaffoldGolden(t, "init", tt.name, out.String())
			if _, err := os.Stat(filepath.Join(dir, "evcli.yaml")); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestInitJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	f, out, errOut := scaffoldFactory("evcli.yaml")
	if code := Run(context.Background(), f, []string{"init", dir, "-t", "saga", "-l", "python", "-o", "json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[0] != `{"command":"init","schema":"1","type":"version"}` {
		t.Fatalf("output:\n%s", out)
	}
	var rec struct {
		Type, Name, Dir, Template, Lang string
		Files, NextSteps                []string
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Type != "project" || rec.Name != "shop" || rec.Dir != dir || rec.Template != "saga" || rec.Lang != "python" {
		t.Errorf("record %+v", rec)
	}
	if len(rec.Files) < 10 || rec.NextSteps[len(rec.NextSteps)-1] != "evcli tail --since 10m" {
		t.Errorf("files %v next %v", rec.Files, rec.NextSteps)
	}
	for _, p := range rec.Files {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
}

func TestInitErrors(t *testing.T) {
	busy := filepath.Join(t.TempDir(), "busy")
	os.Mkdir(busy, 0o755)
	os.WriteFile(filepath.Join(busy, "keep.txt"), []byte("x"), 0o644)
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"init", busy}, 2, "is not empty (it holds keep.txt): evcli init never overwrites files"},
		{[]string{"init", filepath.Join(t.TempDir(), "My_Shop")}, 2, `"My_Shop" is not a valid project name: use lower-case letters`},
		{[]string{"init", "x", "--template", "sagga"}, 2, `unknown template "sagga" (did you mean "saga"?)`},
		{[]string{"init", "x", "--lang", "rust"}, 2, `unknown language "rust": use go, node, python`},
		{[]string{"init"}, 2, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		f, _, errOut := scaffoldFactory("evcli.yaml")
		code := Run(context.Background(), f, tt.args)
		if code != tt.code || !strings.Contains(errOut.String(), tt.wantErr) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errOut, tt.code, tt.wantErr)
		}
	}
	if ents, _ := os.ReadDir(busy); len(ents) != 1 {
		t.Errorf("the non-empty directory was written to: %d entries", len(ents))
	}
}

func TestInitDot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ledger")
	os.Mkdir(dir, 0o755)
	t.Chdir(dir)
	f, out, errOut := scaffoldFactory("evcli.yaml")
	if code := Run(context.Background(), f, []string{"init", ".", "-t", "event-sourcing", "-l", "node"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out.String(), "Created ledger in . (event-sourcing template") || strings.Contains(out.String(), "cd .") {
		t.Errorf("output:\n%s", out)
	}
	data, err := os.ReadFile("evcli.yaml")
	if err != nil || !strings.Contains(string(data), "\nproject: ledger\n") {
		t.Errorf("evcli.yaml: %v\n%s", err, data)
	}
}
