package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Compressing is the slow part of packaging an unchanged function: a Go
// bootstrap of 10 MB takes a few hundred milliseconds to deflate, a
// node_modules tree longer, on every deploy. The zip is a pure function of
// its entries (names, modes and contents; WriteZip fixes everything else),
// so packaging hashes the inputs first and reuses an earlier zip of the same
// inputs:
//
//   - the zip this project built last time (.evcli/build/<function>.zip,
//     whose input key the manifest records), when it still hashes to what
//     the manifest says;
//   - for a Go handler, the zip kept beside the cached bootstrap in the user
//     cache (go-bootstrap/<input key>.<zip sha256>.zip), so a fresh clone or
//     a second project with the same handler does not compress it again.
//
// Hashing reads every input once (SHA-256 runs at over 1 GB/s); a reused
// zip is then only hashed, never rewritten.

// zipsWritten counts the zips compressed by this process (tests).
var zipsWritten atomic.Int64

// zipFormat names the bytes WriteZip produces; change it when they change.
const zipFormat = "evcli zip v1 deflate-default"

// zipInputKey hashes what the zip of entries is made from.
func zipInputKey(entries []zipEntry) (string, error) {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b zipEntry) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", zipFormat)
	for _, e := range sorted {
		fh := sha256.New()
		if err := copyFile(fh, e.Path); err != nil {
			return "", err
		}
		exec := e.Mode&0o111 != 0
		fmt.Fprintf(h, "%q %t %x\n", e.Name, exec, fh.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fileSHA256 returns the size and SHA-256 of the file at path.
func fileSHA256(path string) (int64, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, h.Sum(nil), err
}

// reuseBuilt reports whether dst is the zip the manifest entry prev records
// for inputs key, unchanged since, and returns its size and hash.
func reuseBuilt(dst, key string, prev manifestEntry, ok bool) (int64, []byte, bool) {
	if !ok || prev.InputKey == "" || prev.InputKey != key {
		return 0, nil, false
	}
	n, sum, err := fileSHA256(dst)
	if err != nil || n != prev.Size || hex.EncodeToString(sum) != prev.SHA256 {
		return 0, nil, false
	}
	return n, sum, true
}

// cachedZip copies the zip of inputs key from the user cache to dst
// (atomically), checking it against the hash in its name on the way.
func cachedZip(dir, key, dst string) (int64, []byte, bool) {
	if dir == "" {
		return 0, nil, false
	}
	matches, _ := filepath.Glob(filepath.Join(dir, key+".*.zip"))
	for _, m := range matches {
		want := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), key+"."), ".zip")
		n, sum, err := copyHashed(m, dst)
		if err == nil && hex.EncodeToString(sum) == want {
			now := time.Now()
			_ = os.Chtimes(m, now, now)
			return n, sum, true
		}
		os.Remove(m) // damaged: build it again
	}
	return 0, nil, false
}

// storeZip keeps a copy of the zip at src, of inputs key, in the user cache.
// Failures only cost speed.
func storeZip(dir, key, src string, sum []byte) {
	if dir == "" || os.MkdirAll(dir, 0o755) != nil {
		return
	}
	_, _, _ = copyHashed(src, filepath.Join(dir, key+"."+hex.EncodeToString(sum)+".zip"))
}

// copyHashed copies src to dst through a temporary file and returns the
// size and SHA-256 of what it wrote. On error dst is untouched.
func copyHashed(src, dst string) (int64, []byte, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, nil, err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return 0, nil, err
	}
	defer os.Remove(out.Name()) // a no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Chmod(0o644)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(out.Name(), dst)
	}
	if err != nil {
		return 0, nil, err
	}
	return n, h.Sum(nil), nil
}
