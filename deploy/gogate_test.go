package deploy

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// The first build of a dependency set compiles alone; builds of the same
// set that arrive meanwhile wait for it; another set for another target
// does not wait, and another set for the same target waits for the
// target's lock (held across processes as within this one).
func TestCompileGateLetsTheFirstBuildCompileAlone(t *testing.T) {
	g := &compileGate{sets: map[string]chan struct{}{}}
	ctx := context.Background()
	key := "0123456789abcdef0123456789abcdef-test-" + t.Name()
	target := "0123456789abcdef0123456789abcdef-target-" + t.Name()
	first, err := g.enter(ctx, key, target)
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	go func() {
		done, err := g.enter(ctx, key, target)
		if err != nil {
			t.Error(err)
		}
		done()
		close(entered)
	}()
	other, err := g.enter(ctx, "fedcba9876543210fedcba9876543210-test-"+t.Name(), "fedcba9876543210fedcba9876543210-target-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	other()
	sameTarget := make(chan struct{})
	go func() {
		done, err := g.enter(ctx, "00112233445566778899aabbccddeeff-test-"+t.Name(), target)
		if err != nil {
			t.Error(err)
		}
		done()
		close(sameTarget)
	}()
	select {
	case <-entered:
		t.Fatal("a second build of the same set entered while the first compiled")
	case <-sameTarget:
		t.Fatal("the first build of another module for the same target entered while the first compiled")
	case <-time.After(3 * lockPollEvery):
	}
	first()
	first() // done is idempotent
	<-entered
	<-sameTarget
	// Later builds of a compiled set do not wait at all.
	done, err := g.enter(ctx, key, target)
	if err != nil {
		t.Fatal(err)
	}
	done()
}

// A waiting build gives up when its context ends.
func TestCompileGateWaitEndsWithTheContext(t *testing.T) {
	g := &compileGate{sets: map[string]chan struct{}{}}
	key := "0123456789abcdef0123456789abcdef-ctx-" + t.Name()
	first, _ := g.enter(context.Background(), key, key)
	defer first()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.enter(ctx, key, key); err != context.Canceled {
		t.Fatalf("enter with an ended context: %v", err)
	}
}

// The lock file keeps a second holder out until the first releases it
// (flock conflicts between open files, so this holds within one process as
// between two evcli processes).
func TestLockPathExcludesASecondHolder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock := lockPath(context.Background(), path)
	got := make(chan struct{})
	go func() {
		lockPath(context.Background(), path)()
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a second holder took the lock")
	case <-time.After(3 * lockPollEvery):
	}
	unlock()
	<-got
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	held := lockPath(context.Background(), path)
	defer held()
	lockPath(ctx, path)() // returns at once: the context has ended
}

// Two projects from one template share a key wherever they live; another
// go.sum, target or cache does not.
func TestDepSetKey(t *testing.T) {
	mk := func(sum string) string {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "go.mod"), []byte("module shop\n\ngo 1.24\n"), 0o644)
		os.WriteFile(filepath.Join(d, "go.sum"), []byte(sum), 0o644)
		fn := filepath.Join(d, "functions", "payment")
		os.MkdirAll(fn, 0o755)
		return fn
	}
	env := []string{"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0"}
	a, b, c := mk("x v1\n"), mk("x v1\n"), mk("x v2\n")
	if depSetKey(a, env) != depSetKey(b, env) {
		t.Error("same go.mod and go.sum in two places: different keys")
	}
	if depSetKey(a, env) == depSetKey(c, env) {
		t.Error("another go.sum: same key")
	}
	if depSetKey(a, env) == depSetKey(a, append(env, "GOARCH=arm64")) {
		t.Error("another GOARCH (the last value wins): same key")
	}
	if depSetKey(a, env) == depSetKey(a, append(env, "GOCACHE=/elsewhere")) {
		t.Error("another build cache: same key")
	}
	// The target's key (the lock two modules' first builds share) leaves
	// the module out.
	if targetKey(env) != targetKey(append(env, "GOFLAGS=")) || targetKey(env) == targetKey(append(env, "GOARCH=arm64")) {
		t.Error("targetKey: same environment differs, or another GOARCH is the same")
	}
}
