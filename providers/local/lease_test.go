package local

import (
	"context"
	"path/filepath"
	"testing"
)

// TestOpenStateLeases: the state a cloud driver gets leases replay names
// like the local provider's own.
func TestOpenStateLeases(t *testing.T) {
	dir := t.TempDir()
	kv, closeKV, err := OpenState(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeKV()
	l, ok := kv.(interface {
		LeaseKV(ctx context.Context, ns, key string) (func(), error)
	})
	if !ok {
		t.Fatal("OpenState's KV cannot lease")
	}
	release, err := l.LeaseKV(context.Background(), "replay", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLease(filepath.Join(dir, ".evcli"), "replay r1"); err == nil {
		t.Fatal("a second holder got the lease")
	}
	release()
	if l2, err := AcquireLease(filepath.Join(dir, ".evcli"), "replay r1"); err != nil {
		t.Fatalf("after release: %v", err)
	} else {
		l2.Release()
	}
}
