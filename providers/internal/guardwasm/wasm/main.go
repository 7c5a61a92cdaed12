//go:build wasip1

// Command wasm is evcli's pattern guard for Google Cloud and Azure
// functions: package filter (the engine evcli matches with everywhere)
// built for WebAssembly (GOOS=wasip1, a reactor module), which the
// generated Node.js entrypoints (providers/gcp/guard's evcli_guard.js, the
// azure driver's evcli_entry.js) load once per instance and ask, for each
// event, whether a rule of the function matches it. Built by
// ../generate.sh into ../guard.wasm.gz, which evcli embeds.
package main

import (
	"unsafe"

	"github.com/evcli/evcli/filter"
)

// buf is where the caller writes a pattern and an event (alloc).
var buf []byte

// patterns caches parsed patterns by their text: a function has a few.
var patterns = map[string]*filter.Pattern{}

// alloc makes buf n bytes long and returns its address in linear memory.
//
//go:wasmexport alloc
func alloc(n int32) int32 {
	if int(n) > cap(buf) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if n == 0 {
		return 0
	}
	return int32(uintptr(unsafe.Pointer(&buf[0])))
}

// match reads the pattern (buf[:patternLen]) and the event (the rest) and
// returns 1 when the pattern matches the event, 0 when it does not, -1
// when the pattern does not parse, -2 when the event is not JSON.
//
//go:wasmexport match
func match(patternLen int32) int32 {
	src, ev := string(buf[:patternLen]), buf[patternLen:]
	p, ok := patterns[src]
	if !ok {
		var err error
		if p, err = filter.Parse([]byte(src)); err != nil {
			return -1
		}
		patterns[src] = p
	}
	ok, err := p.Match(ev)
	switch {
	case err != nil:
		return -2
	case ok:
		return 1
	}
	return 0
}

func main() {}
