package filter

// masks64 computes the blockMasks of p[:64] with SSE2 (part of the amd64
// baseline, so no feature check is needed).
//
//go:noescape
func masks64(p *[64]byte, m *blockMasks)

func blockMasksOf(p *[64]byte) (m blockMasks) {
	masks64(p, &m)
	return m
}
