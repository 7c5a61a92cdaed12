package deploy

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// packageAll packages p and returns its artifacts by function and how many
// zips were compressed meanwhile. Not parallel: zipsWritten is global.
func packageAll(t *testing.T, run func() ([]Artifact, error)) (map[string]Artifact, int64) {
	t.Helper()
	before := zipsWritten.Load()
	arts, err := run()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Artifact{}
	for _, a := range arts {
		out[a.Function] = a
	}
	return out, zipsWritten.Load() - before
}

func TestPackageReusesTheZipOfUnchangedInputs(t *testing.T) {
	p := nodeProject(t, map[string]string{
		"functions/orders/index.js":     "exports.handler = async () => 1;\n",
		"functions/orders/lib/util.js":  "module.exports = 2;\n",
		"functions/orders/bin/tool.sh*": "#!/bin/sh\n",
	})
	pkg := func() (map[string]Artifact, int64) {
		return packageAll(t, func() ([]Artifact, error) {
			return Package(context.Background(), p, PackageOptions{})
		})
	}
	zipPath := filepath.Join(p.Dir, ".evcli", "build", "orders.zip")
	first, n := pkg()
	if n != 1 || !first["orders"].Changed {
		t.Fatalf("first build: %d zips written, changed %v; want 1, true", n, first["orders"].Changed)
	}
	st1, _ := os.Stat(zipPath)

	again, n := pkg()
	st2, _ := os.Stat(zipPath)
	if n != 0 || !os.SameFile(st1, st2) {
		t.Errorf("unchanged inputs: %d zips written, file replaced %v; want the old zip kept", n, !os.SameFile(st1, st2))
	}
	if again["orders"].SHA256 != first["orders"].SHA256 || again["orders"].Size != first["orders"].Size || again["orders"].Changed {
		t.Errorf("kept zip reported as %+v, first was %+v", again["orders"], first["orders"])
	}

	// Every kind of input change builds again, and gives what a fresh
	// build of the same files gives.
	fresh := func() string {
		t.Helper()
		q := *p
		q.Dir = t.TempDir()
		if err := os.CopyFS(q.Dir, os.DirFS(filepath.Join(p.Dir))); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(filepath.Join(q.Dir, ".evcli"))
		arts, err := Package(context.Background(), &q, PackageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return arts[0].SHA256
	}
	changes := []struct {
		name string
		do   func() error
	}{
		{"content", func() error {
			return os.WriteFile(filepath.Join(p.Dir, "functions/orders/lib/util.js"), []byte("module.exports = 3;\n"), 0o644)
		}},
		{"mode", func() error { return os.Chmod(filepath.Join(p.Dir, "functions/orders/lib/util.js"), 0o755) }},
		{"new file", func() error {
			return os.WriteFile(filepath.Join(p.Dir, "functions/orders/lib/more.js"), []byte("x"), 0o644)
		}},
		{"rename", func() error {
			return os.Rename(filepath.Join(p.Dir, "functions/orders/lib/more.js"), filepath.Join(p.Dir, "functions/orders/lib/other.js"))
		}},
		{"removed file", func() error { return os.Remove(filepath.Join(p.Dir, "functions/orders/lib/other.js")) }},
	}
	last := first["orders"].SHA256
	for _, c := range changes {
		if err := c.do(); err != nil {
			t.Fatal(err)
		}
		got, n := pkg()
		if n != 1 || !got["orders"].Changed || got["orders"].SHA256 == last {
			t.Errorf("%s changed: %d zips written, changed %v, same hash %v; want a new zip", c.name, n, got["orders"].Changed, got["orders"].SHA256 == last)
		}
		if want := fresh(); got["orders"].SHA256 != want {
			t.Errorf("%s changed: zip %s, a fresh build gives %s", c.name, got["orders"].SHA256, want)
		}
		last = got["orders"].SHA256
	}

	// A zip altered after the build is never passed on as the build.
	if err := os.WriteFile(zipPath, []byte("not the zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, n := pkg()
	if n != 1 || got["orders"].SHA256 != last {
		t.Errorf("altered zip: %d zips written, hash %s; want it rebuilt as %s", n, got["orders"].SHA256, last)
	}
	if _, sum, _ := fileSHA256(zipPath); got["orders"].SHA256 != hexString(sum) {
		t.Errorf("the file on disk does not hash to the reported %s", got["orders"].SHA256)
	}
}

func TestGoZipKeptBesideTheBootstrap(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("EVCLI_CACHE_DIR", cache)
	src := "package main\n\nfunc main() { println(\"kept\") }\n"
	pkgNew := func() (map[string]Artifact, int64) {
		p := goProject(t, src) // a new project directory every time
		return packageAll(t, func() ([]Artifact, error) {
			return Package(context.Background(), p, PackageOptions{})
		})
	}
	first, n := pkgNew()
	if n != 1 {
		t.Fatalf("first build wrote %d zips, want 1", n)
	}
	zips, _ := filepath.Glob(filepath.Join(cache, "go-bootstrap", "*.zip"))
	if len(zips) != 1 {
		t.Fatalf("cache holds %d zips, want 1: %v", len(zips), zips)
	}
	second, n := pkgNew()
	if n != 0 || second["hello"].SHA256 != first["hello"].SHA256 {
		t.Errorf("same handler in another project: %d zips written, hash %s (first %s); want the cached zip", n, second["hello"].SHA256, first["hello"].SHA256)
	}
	// A damaged cache entry is dropped and the zip built again.
	if err := os.WriteFile(zips[0], []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	third, n := pkgNew()
	if n != 1 || third["hello"].SHA256 != first["hello"].SHA256 {
		t.Errorf("damaged cache entry: %d zips written, hash %s; want it rebuilt as %s", n, third["hello"].SHA256, first["hello"].SHA256)
	}
	if b, _ := os.ReadFile(zips[0]); string(b) == "damaged" {
		t.Error("the damaged cache entry is still there")
	}
}

func hexString(b []byte) string { return hex.EncodeToString(b) }
