package filter

import "golang.org/x/sys/cpu"

// skipBlocks is skipContainer's step over whole 64-byte blocks in assembly
// (skip_amd64.s), when the CPU has AVX2, PCLMULQDQ and POPCNT: from p, with
// n bytes left, the depth and the in-string mask before the first block,
// it returns how many bytes it passed (a multiple of 64) and the depth and
// mask after them. It stops before a block with a backslash (which
// skipContainer then reads itself), or at the bracket that closes the
// container: then d is 0 and adv is just after that bracket. From depth 0
// the first bracket it meets must be an opening one.
//
//go:noescape
func skipBlocks(p *byte, n int, depth int, inStr uint64) (adv int, d int, ins uint64)

var haveSkipBlocks = cpu.X86.HasAVX2 && cpu.X86.HasPCLMULQDQ && cpu.X86.HasPOPCNT
