package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenReadOnlyReadsAndRefusesWrites: a read-only handle reads what is
// stored, and a write says it is read-only (not a nil
// writer's panic).
func TestOpenReadOnlyReadsAndRefusesWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutKV(ctx, "ns", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if v, ok, err := ro.GetKV(ctx, "ns", "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("GetKV = %q %v %v", v, ok, err)
	}
	if err := ro.PutKV(ctx, "ns", "k", []byte("w")); err == nil || !strings.Contains(err.Error(), "open read-only") {
		t.Fatalf("PutKV through a read-only handle = %v", err)
	}
	if _, err := OpenReadOnly(t.TempDir()); err == nil {
		t.Fatal("OpenReadOnly of a directory without a database succeeded")
	}
}

// TestCorruptDatabaseNamesTheNextStep: a damaged state.db is reported with
// what to do: move it aside and deploy again.
func TestCorruptDatabaseNamesTheNextStep(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	if err == nil {
		t.Fatal("Open of a damaged database succeeded")
	}
	for _, want := range []string{"move .evcli/state.db", "aside and run evcli deploy again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
