package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLooksInParentDirectories(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "functions", "payment")
	os.MkdirAll(sub, 0o755)
	if got := Find(sub, DefaultFile); got != filepath.Join(sub, DefaultFile) {
		t.Errorf("no project anywhere: Find = %s, want the directory's own (for the error)", got)
	}
	os.WriteFile(filepath.Join(root, DefaultFile), []byte("project: shop\n"), 0o644)
	if got := Find(sub, DefaultFile); got != filepath.Join(root, DefaultFile) {
		t.Errorf("Find from a subdirectory = %s, want %s", got, filepath.Join(root, DefaultFile))
	}
	if got := Find(root, DefaultFile); got != filepath.Join(root, DefaultFile) {
		t.Errorf("Find in the project directory = %s", got)
	}
}

func TestSummaryNamesWhereTheProblemsAre(t *testing.T) {
	d := &Diagnostics{File: "evcli.yaml", List: []Diagnostic{{File: "--provider", Msg: "unknown provider"}}}
	if got := d.Summary(); got != "1 problem in --provider" {
		t.Errorf("flag only: %q", got)
	}
	d.List = append(d.List, Diagnostic{File: "evcli.yaml", Line: 3, Msg: "x"}, Diagnostic{File: "--region", Msg: "y"})
	if got := d.Summary(); !strings.HasPrefix(got, "3 problems: 1 in evcli.yaml, 2 in --provider and --region") {
		t.Errorf("mixed: %q", got)
	}
	d.List = d.List[1:2]
	if got := d.Summary(); got != "1 problem in evcli.yaml" {
		t.Errorf("file only: %q", got)
	}
}
