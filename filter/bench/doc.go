// Package bench compares evcli's matcher (package filter) with quamina
// (quamina.net/go/quamina, v1.4.0 through the module proxy's
// github.com/timbray/quamina) on the citylots data set, side by side in one
// run. It is its own module so that quamina is never a dependency of evcli:
//
//	cd filter/bench && go test -run '^$' -bench VsQuamina -cpu 1 -benchtime 213068x -count 5
package bench
