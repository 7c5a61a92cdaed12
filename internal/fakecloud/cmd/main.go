// Command fakecloud starts a fake cloud on 127.0.0.1 and prints the lines
// that point evcli at it, to try evcli without an account:
//
//	go run ./internal/fakecloud/cmd gcp
//
// then, in another shell, paste the export lines and run evcli with
// --provider gcp --region europe-west1. Ctrl-C stops it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/evcli/evcli/internal/fakecloud"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] != "gcp" {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/fakecloud/cmd gcp")
		os.Exit(2)
	}
	g, err := fakecloud.StartGCP(fakecloud.GCPOptions{Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakecloud:", err)
		os.Exit(1)
	}
	for _, kv := range g.Env {
		name, value, _ := strings.Cut(kv, "=")
		fmt.Printf("export %s=%q\n", name, value)
	}
	fmt.Fprintln(os.Stderr, "fakecloud: a fake Google Cloud is running; evcli reaches it with the variables above (Ctrl-C stops it)")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	g.Close()
}
