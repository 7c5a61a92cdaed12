//go:build amd64 || arm64 || 386 || ppc64le

package filter

import "unsafe"

// load64 returns the little-endian word b[i:i+8] with one unaligned load (on
// these little-endian architectures, where that is cheap). The caller has
// checked 0 <= i and i+8 <= len(b); the race detector's checkptr mode
// verifies that in tests.
func load64(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// put64 stores x little-endian at b[i:i+8] (checked by the caller).
func put64(b []byte, i int, x uint64) {
	*(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i)) = x
}

// loadStr64 is load64 of a string.
func loadStr64(s string, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}
