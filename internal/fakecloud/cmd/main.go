// Command fakecloud starts a fake cloud on 127.0.0.1 and prints the lines
// that point evcli at it, to try evcli without an account:
//
//	go run ./internal/fakecloud/cmd gcp
//	go run ./internal/fakecloud/cmd azure
//
// then, in another shell, paste the export lines and run evcli with
// --provider gcp (and a region) or --provider azure. Ctrl-C stops it.
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
	if len(os.Args) != 2 || os.Args[1] != "gcp" && os.Args[1] != "azure" {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/fakecloud/cmd gcp|azure")
		os.Exit(2)
	}
	var env []string
	var stopCloud func()
	var err error
	if os.Args[1] == "gcp" {
		var g *fakecloud.GCP
		if g, err = fakecloud.StartGCP(fakecloud.GCPOptions{Log: os.Stderr}); err == nil {
			env, stopCloud = g.Env, g.Close
		}
	} else {
		var a *fakecloud.Azure
		if a, err = fakecloud.StartAzure(fakecloud.AzureOptions{Log: os.Stderr}); err == nil {
			env, stopCloud = a.Env, a.Close
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakecloud:", err)
		os.Exit(1)
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		fmt.Printf("export %s=%q\n", name, value)
	}
	fmt.Fprintf(os.Stderr, "fakecloud: a fake %s is running; evcli reaches it with the variables above (Ctrl-C stops it)\n", os.Args[1])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	stopCloud()
}
