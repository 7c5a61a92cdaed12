package filter

// prefetch asks for the n cache lines from p on (PREFETCHT0). It reads
// nothing the program can see and never faults, whatever address p is: a
// hint, so it may name memory past the end of a slice.
//
//go:noescape
func prefetch(p uintptr, n int)
