package filter

import (
	"bytes"
	"math/rand"
	"testing"
)

// skipReference is skipContainer one byte at a time.
func skipReference(ev []byte, i int) int {
	depth, inS := 0, false
	for ; i < len(ev); i++ {
		switch ev[i] {
		case '\\':
			i++
		case '"':
			inS = !inS
		case '{', '[':
			if !inS {
				depth++
			}
		case '}', ']':
			if !inS {
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	}
	return -1
}

// TestBlockMasks checks the vector masks against the byte loop.
func TestBlockMasks(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	alphabet := []byte(`"\{}[]a ,:0` + "\x00\x80\xdf\xfb\xfd\x7b\x5b")
	var p [64]byte
	for n := 0; n < 20000; n++ {
		for k := range p {
			if n%2 == 0 {
				p[k] = alphabet[r.Intn(len(alphabet))]
			} else {
				p[k] = byte(r.Intn(256))
			}
		}
		if got, want := blockMasksOf(&p), masksGeneric(&p); got != want {
			t.Fatalf("%q: masks %+v, want %+v", p, got, want)
		}
	}
}

// TestSkipContainerRandom compares skipContainer with the byte loop on
// random bytes rich in brackets, quotes and backslashes, at every length
// around the 64-byte block boundaries.
func TestSkipContainerRandom(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	alphabet := []byte(`"\{}[][[]]{{}}a ,:0`)
	// Without backslashes and with more opening brackets, deep and long:
	// whole blocks go through skipBlocks where the CPU has it.
	deep := []byte(`"{[[{{[a ,:0123456789}]`)
	for n := 0; n < 40000; n++ {
		if n >= 20000 {
			alphabet = deep
		}
		b := make([]byte, 1+r.Intn(300)+n/20000*r.Intn(600))
		for k := range b {
			b[k] = alphabet[r.Intn(len(alphabet))]
		}
		b[0] = "[{"[r.Intn(2)]
		for _, l := range []int{len(b), len(b) / 2, min(len(b), 64), min(len(b), 65), min(len(b), 63)} {
			if got, want := skipContainer(b[:l], 0), skipReference(b[:l], 0); got != want {
				t.Fatalf("skipContainer(%q) = %d, want %d", b[:l], got, want)
			}
		}
	}
}

// FuzzSkip: skipContainer agrees with the byte loop on any input.
func FuzzSkip(f *testing.F) {
	f.Add([]byte(`{"a":"]}\"[{","b":[1,{"c":"\\"}]}`))
	f.Add(bytes.Repeat([]byte(`[{"x":-122.46,"y":"\\\"]"},`), 9))
	f.Fuzz(func(t *testing.T, b []byte) {
		i := bytes.IndexAny(b, "[{")
		if i < 0 {
			return
		}
		if got, want := skipContainer(b, i), skipReference(b, i); got != want {
			t.Fatalf("skipContainer(%q, %d) = %d, want %d", b, i, got, want)
		}
	})
}
