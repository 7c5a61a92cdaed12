//go:build !amd64

package filter

const haveSkipBlocks = false

func skipBlocks(p *byte, n int, depth int, inStr uint64) (adv int, d int, ins uint64) {
	return 0, depth, inStr
}
