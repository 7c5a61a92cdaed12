package cmd

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// -update rewrites the golden files under testdata/. It is defined in init
// with a guard because teatest, which some tests import, defines it too.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

// updating reports whether the tests run with -update.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// assertGolden compares got with the golden file at path, or rewrites it
// with -update.
func assertGolden(t *testing.T, path, got string) {
	t.Helper()
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Fatalf("%s differs (run with -update if intended)\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}
