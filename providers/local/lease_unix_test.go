//go:build unix

package local

import (
	"errors"
	"os"
	"testing"
)

func TestLeaseIsExclusiveAndNamesItsHolder(t *testing.T) {
	dir := t.TempDir()
	a, err := AcquireLease(dir, "replay r/1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLease(dir, "replay r/1")
	var he *HeldError
	if !errors.As(err, &he) || he.PID != os.Getpid() || he.Started.IsZero() || !he.Held() {
		t.Fatalf("second AcquireLease = %v, want a HeldError with this pid and a start time", err)
	}
	other, err := AcquireLease(dir, "replay r/2")
	if err != nil {
		t.Fatalf("another name: %v", err)
	}
	other.Release()
	a.Release() // as a crash would: the OS drops the lock with the file
	b, err := AcquireLease(dir, "replay r/1")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	b.Release()
}
