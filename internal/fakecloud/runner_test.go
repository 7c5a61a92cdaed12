package fakecloud

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLambdaRuntime(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"nodejs20", "nodejs20.x"},
		{"nodejs22", "nodejs22.x"},
		{"python312", "python3.12"},
		{"python3", "python3"},
		{"go122", "go122"},
	} {
		if got := lambdaRuntime(c.in); got != c.want {
			t.Errorf("lambdaRuntime(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMemoryMiB(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"128Mi", 128}, {"256M", 256}, {"1Gi", 1024}, {"2G", 2048}, {"", 256}, {"lots", 256},
	} {
		if got := memoryMiB(c.in); got != c.want {
			t.Errorf("memoryMiB(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUnpack: a zip is unpacked once per content, subdirectories kept; an
// entry that would leave the directory is refused.
func TestUnpack(t *testing.T) {
	r := &runner{dir: t.TempDir(), log: io.Discard}
	src := zipOf(t, map[string]string{"index.js": "exports.a = 1;\n", "lib/util.js": "module.exports = 2;\n"})
	dir, sum, err := r.unpack("shop-a", src)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "lib", "util.js")); err != nil || string(b) != "module.exports = 2;\n" {
		t.Errorf("lib/util.js: %q, %v", b, err)
	}
	dir2, sum2, err := r.unpack("shop-a", src)
	if err != nil || dir2 != dir || sum2 != sum {
		t.Errorf("the same zip again: %s %s %v; want %s %s", dir2, sum2, err, dir, sum)
	}
	_, _, err = r.unpack("shop-b", zipOf(t, map[string]string{"../evil.js": "x"}))
	if err == nil || !strings.Contains(err.Error(), "leaves the directory") {
		t.Errorf("a zip entry outside the directory: %v", err)
	}
}
