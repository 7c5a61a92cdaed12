//go:build !(amd64 || arm64 || 386 || ppc64le)

package filter

import "encoding/binary"

// load64 returns the little-endian word b[i:i+8].
func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }
