package azure

import (
	"slices"
	"testing"

	"github.com/evcli/evcli/tune"
)

// TestFlexComputeSizes: tune memory's Flex Consumption model (tune cannot
// import this package) has the sizes the driver deploys, and the driver's
// Pricer says that model.
func TestFlexComputeSizes(t *testing.T) {
	if !slices.Equal(tune.FlexSizes, FlexMemorySizes) {
		t.Fatalf("tune.FlexSizes %v, driver's FlexMemorySizes %v", tune.FlexSizes, FlexMemorySizes)
	}
	if got := tune.ComputeOf(tune.FlexPrices("eastus")).Sizes; !slices.Equal(got, FlexMemorySizes) {
		t.Fatalf("FlexPrices' compute sizes %v", got)
	}
}
