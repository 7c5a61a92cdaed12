//go:build !amd64

package filter

func blockMasksOf(p *[64]byte) blockMasks { return masksGeneric(p) }
