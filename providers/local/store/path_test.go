package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/evcli/evcli/providers"
)

// TestOpenOddPaths: directory names with URI metacharacters still open the
// file in that directory.
func TestOpenOddPaths(t *testing.T) {
	for _, name := range []string{"with space", "hash#dir", "q?mark", "pct%20dir", "amp&eq="} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name, ".evcli")
			db, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.AppendEvents(context.Background(), []providers.StoredEvent{ev("x", "T", t0, `{}`)}); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
				t.Fatalf("state.db not where expected: %v", err)
			}
		})
	}
}
