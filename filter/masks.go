package filter

// blockMasks describes 64 bytes of an event for skipContainer: bit k of each
// mask is set when byte k is a double quote, a backslash, an opening bracket
// ('{' or '[') or a closing one ('}' or ']').
type blockMasks struct {
	quote, bslash, open, close uint64
}

// masksGeneric computes the masks of p[:64] one byte at a time (the
// reference for the vector version).
func masksGeneric(p *[64]byte) (m blockMasks) {
	for k, c := range p {
		bit := uint64(1) << k
		switch c {
		case '"':
			m.quote |= bit
		case '\\':
			m.bslash |= bit
		case '{', '[':
			m.open |= bit
		case '}', ']':
			m.close |= bit
		}
	}
	return m
}
