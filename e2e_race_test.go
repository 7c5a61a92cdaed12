//go:build race

package main

// Under go test -race, evcli (the test binary run under that name, see
// TestMain) has the race detector too: the e2e tests then look for data
// races in evcli itself, not only in their harness. Building evcli
// separately without -race compiled every dependency a second time (on a
// cold 2-core machine that second, plain compile was about 300
// CPU-seconds); building it with -race still linked a second binary.
func init() { raceBuild = true }
