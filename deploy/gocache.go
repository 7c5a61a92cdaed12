package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Go handlers are linked by go build on every package run, even when
// nothing changed: Go caches compiled packages but not linked executables
// written with -o. Linking a handler that uses the AWS SDK takes most of a
// second, per function, on every deploy. evcli therefore keeps the linked
// bootstrap in a cache keyed by what the linker reads:
//
//   - the compiled archive of every package in the build (go list -deps
//     -export names each by its content hash in Go's own build cache, which
//     covers source, embedded files, compiler flags and the toolchain),
//   - the build arguments and the environment that selects the target.
//
// A stale entry would need a changed input with an unchanged archive hash,
// which Go's build cache rules out. When go list fails (a compile error, an
// old go command), the build runs as before and reports the error.

// bootstrapCacheTTL is how long an unused cached bootstrap is kept.
const bootstrapCacheTTL = 7 * 24 * time.Hour

// goEnvKeys are the variables that change what go build produces besides
// GOOS/GOARCH/CGO_ENABLED, which evcli sets.
var goEnvKeys = []string{"GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM64", "GO386", "GOARM", "GOTOOLCHAIN", "GOWORK"}

// bootstrapCacheDir is where linked bootstraps are kept ("" disables the
// cache): $EVCLI_CACHE_DIR, else the user cache directory.
func bootstrapCacheDir() string {
	if d := os.Getenv("EVCLI_CACHE_DIR"); d != "" {
		return filepath.Join(d, "go-bootstrap")
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "evcli", "go-bootstrap")
}

// goBuildKey returns the cache key of building the package in src with env,
// or an error when go list cannot say.
func goBuildKey(ctx context.Context, goBin, src string, env []string, stderrTee io.Writer) (string, error) {
	args := []string{"list", "-deps", "-export", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc",
		"-f", "{{.ImportPath}}={{.Export}}{{if .Error}} error{{end}}", "."}
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = src
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(&stderr, stderrTee)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list: %v: %s", err, stderr.Bytes())
	}
	h := sha256.New()
	fmt.Fprintf(h, "evcli bootstrap v1\n%q\n", GoBuildArgs("bootstrap"))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "CGO_ENABLED":
			fmt.Fprintln(h, kv)
		default:
			for _, want := range goEnvKeys {
				if k == want {
					fmt.Fprintln(h, kv)
				}
			}
		}
	}
	for line := range strings.Lines(string(out)) {
		path, export, _ := strings.Cut(strings.TrimSpace(line), "=")
		if path == "unsafe" { // built into the compiler: no archive
			continue
		}
		if export == "" || strings.HasSuffix(export, " error") {
			return "", fmt.Errorf("go list: package %s has no compiled archive", path)
		}
		fmt.Fprintf(h, "%s=%s\n", path, filepath.Base(export))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cachedBootstrap returns the cached executable for key, touching it so
// that pruning keeps it, or "" when there is none.
func cachedBootstrap(dir, key string) string {
	p := filepath.Join(dir, key)
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o100 == 0 {
		return ""
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return p
}

// storeBootstrap copies bin into the cache under key (atomically) and
// removes entries unused for bootstrapCacheTTL. Failures only cost speed.
func storeBootstrap(dir, key, bin string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	src, err := os.Open(bin)
	if err != nil {
		return
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, err = io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, key))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > bootstrapCacheTTL {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
