package project

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPatternMemberPositions: each key of a pattern, written as a YAML
// mapping or as a string of JSON, is found at its place in the file;
// PosOf falls back to the deepest known prefix, then the pattern.
func TestPatternMemberPositions(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	file := filepath.Join(dir, "evcli.yaml")
	data := "project: shop\n" +
		"functions:\n" +
		"  big:\n" +
		"    source: src\n" +
		"    runtime: nodejs22.x\n" +
		"    handler: index.handler\n" +
		"    events:\n" +
		"      - pattern: {source: [shop], detail: {amount: [{numeric: [\">\", 100]}]}}\n" +
		"      - pattern: '{\"source\": [\"shop\"], \"detail\": {\"sku\": [{\"suffix\": \"-x\"}], \"qty\": [1]}}'\n" +
		"      - pattern: |\n" +
		"          {\"detail-type\": [\"A\"],\n" +
		"           \"detail\": {\"n\": [{\"wildcard\": \"a*\"}]}}\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(file, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs := p.Functions[0].Events
	tests := []struct {
		ev   int
		keys []string
		want Pos
	}{
		{0, []string{"source"}, Pos{8, 19}},
		{0, []string{"detail", "amount", "numeric"}, Pos{8, 54}},
		{0, []string{"detail", "amount"}, Pos{8, 44}},
		{0, []string{"detail", "amount", "numeric", "nothing"}, Pos{8, 54}},
		{1, []string{"detail", "sku", "suffix"}, Pos{9, 60}},
		{1, []string{"detail", "qty"}, Pos{9, 78}},
		{2, []string{"detail-type"}, Pos{11, 12}},
		{2, []string{"detail", "n", "wildcard"}, Pos{12, 30}},
		{2, []string{"resources"}, Pos{10, 18}},
	}
	for _, tt := range tests {
		if got := evs[tt.ev].PosOf(tt.keys...); got != tt.want {
			t.Errorf("event %d %v at %v, want %v", tt.ev, tt.keys, got, tt.want)
		}
	}
}
