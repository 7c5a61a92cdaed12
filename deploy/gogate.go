package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Go's build cache does not coordinate processes or concurrent go commands:
// when several handlers of one module are built at once on a cold cache,
// each go command compiles the same dependencies (the AWS SDK, aws-lambda-go)
// itself. Measured on the fan-out template's four Go functions with an empty
// GOCACHE: 127 CPU-s built in parallel, 72 CPU-s when the first compiled alone
// and the other three then found its packages in the cache.
//
// compileGate therefore lets the first build of a dependency set compile
// alone: the builds of the same set that arrive meanwhile, in this process
// or (through a lock file) in another evcli, wait for it, then run in
// parallel on a warm cache. The lock file is one per build target and
// cache, not per set: the first builds of two modules (two templates, two
// projects deployed at once) still compile the same standard library and,
// mostly, the same SDK packages, so the second compiles only what the first
// left out. Only the first build of each set waits; the gate never
// serialises a warm deploy beyond that first go command.
type compileGate struct {
	mu   sync.Mutex
	sets map[string]chan struct{}
}

var goGate = &compileGate{sets: map[string]chan struct{}{}}

// enter blocks until the caller may compile the dependency set key for the
// target (targetKey), and returns the function that says the caller's
// compile is done. The first caller for key holds the set, and the
// target's lock file, until it calls done; the others return once it has.
func (g *compileGate) enter(ctx context.Context, key, target string) (done func(), err error) {
	g.mu.Lock()
	ch, seen := g.sets[key]
	if !seen {
		ch = make(chan struct{})
		g.sets[key] = ch
	}
	g.mu.Unlock()
	if seen {
		select {
		case <-ch:
			return func() {}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	unlock := lockPath(ctx, filepath.Join(os.TempDir(), "evcli-gocompile-"+target[:24]+".lock"))
	return sync.OnceFunc(func() { unlock(); close(ch) }), nil
}

// depSetKey names what a build of the module around src compiles: the
// module's requirements (go.mod, go.sum) and the target (targetKey).
// Projects made from the same template share a key wherever they live.
func depSetKey(src string, env []string) string {
	h := sha256.New()
	if root := moduleRoot(src); root != "" {
		for _, name := range []string{"go.mod", "go.sum"} {
			b, _ := os.ReadFile(filepath.Join(root, name))
			fmt.Fprintf(h, "%s %d\n%s\n", name, len(b), b)
		}
	} else {
		fmt.Fprintf(h, "dir %s\n", src)
	}
	fmt.Fprintf(h, "target %s\n", targetKey(env))
	return hex.EncodeToString(h.Sum(nil))
}

// targetKey names what the compiled packages of any module depend on
// besides its requirements: the target, the build flags' environment and
// the caches (the last value of each variable in env wins).
func targetKey(env []string) string {
	h := sha256.New()
	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v
	}
	for _, k := range append([]string{"GOOS", "GOARCH", "CGO_ENABLED", "GOCACHE", "GOMODCACHE"}, goEnvKeys...) {
		fmt.Fprintf(h, "%s=%s\n", k, last[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// moduleRoot is the directory of the go.mod that governs dir, or "".
func moduleRoot(dir string) string {
	for d := dir; ; {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && st.Mode().IsRegular() {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// lockPollEvery is how often a lock held by another process is tried again.
const lockPollEvery = 100 * time.Millisecond
