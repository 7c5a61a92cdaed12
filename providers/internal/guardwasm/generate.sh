#!/bin/sh
# Builds guard.wasm.gz, package filter for WebAssembly (a WASI reactor),
# which evcli embeds and ships in the zip of a Google Cloud or Azure
# function whose patterns need the in-function guard, and records the hash of filter's
# sources it was built from (TestGuardWasmIsFresh compares them).
# Run from anywhere: go generate ./providers/internal/guardwasm
set -eu
cd "$(dirname "$0")"
GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o guard.wasm ./wasm
gzip -9 -n -c guard.wasm > guard.wasm.gz
rm guard.wasm
go run ./sourcehash > guard.wasm.sources
