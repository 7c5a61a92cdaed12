package deploy

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/project"
)

// BenchmarkCollectAndZip packages a Node-like source tree: 500 files of
// 4 KiB in 50 directories, with a .evcliignore of a few rules.
func BenchmarkCollectAndZip(b *testing.B) {
	dir := b.TempDir()
	files := map[string]string{"index.js": "exports.handler = async () => 1;\n", ".evcliignore": "*.test.js\n/coverage/\n!keep.test.js\n"}
	body := strings.Repeat("module.exports = function () { return 42; };\n", 90)
	for d := 0; d < 50; d++ {
		for f := 0; f < 10; f++ {
			files[fmt.Sprintf("node_modules/pkg%02d/lib/file%d.js", d, f)] = body
		}
	}
	t := &testing.T{}
	writeTree(t, dir, files)
	fn := &project.Function{Name: "orders", Source: "."}
	b.ResetTimer()
	var size int64
	for i := 0; i < b.N; i++ {
		entries, err := collectSource(fn, dir)
		if err != nil {
			b.Fatal(err)
		}
		cw := &countWriter{w: io.Discard}
		if err := WriteZip(cw, entries); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(size), "zip-bytes")
	b.SetBytes(int64(len(body) * 500))
}

// BenchmarkIgnoreMatch decides one deep path against a dozen rules.
func BenchmarkIgnoreMatch(b *testing.B) {
	ig := MustIgnore(DefaultIgnore...).Append(MustIgnore("*.test.js", "/coverage/", "**/fixtures/**", "!keep.test.js", "docs/*.md", "[Bb]uild/"))
	path := filepath.ToSlash("node_modules/pkg/lib/sub/deep/file.test.js")
	for i := 0; i < b.N; i++ {
		ig.Match(path, false)
	}
}
