module github.com/evcli/evcli/filter/bench

go 1.26.7

require (
	github.com/evcli/evcli v0.0.0-00010101000000-000000000000
	quamina.net/go/quamina v1.4.0
)

require golang.org/x/sys v0.49.0 // indirect

replace github.com/evcli/evcli => ../..

// The proxy serves quamina v1.4.0 under its old path only.
replace quamina.net/go/quamina => github.com/timbray/quamina v1.4.0
