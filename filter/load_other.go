//go:build !(amd64 || arm64 || 386 || ppc64le)

package filter

import "encoding/binary"

// load64 returns the little-endian word b[i:i+8].
func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// put64 stores x little-endian at b[i:i+8].
func put64(b []byte, i int, x uint64) { binary.LittleEndian.PutUint64(b[i:], x) }
