// Command sourcehash prints the SHA-256 of the Go sources guard.wasm.gz is
// built from (package filter and the packages it imports from this module,
// and the guard's own main), so a test can tell a stale build.
package main

import (
	"fmt"
	"os"

	"github.com/evcli/evcli/providers/internal/guardwasm"
)

func main() {
	sum, err := guardwasm.SourceHash("../../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(sum)
}
