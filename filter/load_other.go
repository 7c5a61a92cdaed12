//go:build !(amd64 || arm64 || 386 || ppc64le)

package filter

import "encoding/binary"

// load64 returns the little-endian word b[i:i+8].
func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// put64 stores x little-endian at b[i:i+8].
func put64(b []byte, i int, x uint64) { binary.LittleEndian.PutUint64(b[i:], x) }

// loadStr64 is load64 of a string.
func loadStr64(s string, i int) uint64 {
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}
