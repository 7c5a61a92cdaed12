// Command evcli deploys and operates event-driven serverless functions.
package main

import (
	"os"

	"github.com/evcli/evcli/cmd"
)

func main() {
	os.Exit(cmd.Main())
}
