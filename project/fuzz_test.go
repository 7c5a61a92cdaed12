package project

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad: the loader never panics; an invalid file always gets at least
// one diagnostic with a position inside the file; a file that loads
// marshals to a file that loads to the same project, and marshals again
// to the same bytes.
func FuzzLoad(f *testing.F) {
	for _, glob := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	dir := f.TempDir()
	for _, fn := range []string{"functions/inventory", "functions/orders", "functions/notify", "src"} {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	path := filepath.Join(dir, "evcli.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			t.Skip("project files this big are refused or slow to search for syntax errors")
		}
		p, err := load(path, data, LoadOptions{})
		if err != nil {
			var ds *Diagnostics
			if !errors.As(err, &ds) || len(ds.List) == 0 {
				t.Fatalf("error is not diagnostics: %T %v", err, err)
			}
			lines := yamlLines(data)
			for _, d := range ds.List {
				if d.Line > lines || d.Line < 0 || d.Col < 0 || d.Msg == "" {
					t.Fatalf("diagnostic outside the file (%d lines): %+v", lines, d)
				}
			}
			return
		}
		out, err := Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		q, err := load(path, out, LoadOptions{})
		if err != nil {
			t.Fatalf("the marshalled file does not load: %v\n%s", err, out)
		}
		for _, x := range []*Project{p, q} {
			for i := range x.Functions {
				for j := range x.Functions[i].Events {
					x.Functions[i].Events[j].Pos = Pos{}
					x.Functions[i].Events[j].Members = nil
				}
			}
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("reload differs:\n%+v\n%+v\n%s", p, q, out)
		}
		again, _ := Marshal(q)
		if string(again) != string(out) {
			t.Fatalf("marshal is not stable:\n%s\n%s", out, again)
		}
	})
}

// yamlLines counts lines as YAML does: \n, \r\n, a lone \r, NEL, LS and PS
// each end one.
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	n := 1
	for _, r := range s {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}
