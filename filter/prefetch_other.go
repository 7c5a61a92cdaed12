//go:build !amd64

package filter

// prefetch is a no-op where no prefetch instruction is wired in.
func prefetch(p uintptr, n int) {}
