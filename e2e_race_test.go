//go:build race

package main

// Under go test -race, TestMain builds evcli with -race too: the e2e tests
// then look for data races in evcli itself, not only in their harness, and
// the build reuses the race-compiled packages go test has just made instead
// of compiling every dependency a second time (on a cold 2-core machine
// that second, plain compile was about 300 CPU-seconds).
func init() { raceBuild = true }
