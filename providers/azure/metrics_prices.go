package azure

import (
	"fmt"
	"slices"
)

// Flex Consumption's prices, in the style of tune/prices.go (whose Price
// has the same two fields: GBSecondUSD and RequestUSD). They are the on
// demand meters in East US: execution time per GB-second of instance
// memory while an instance executes, and executions; the monthly free
// grant (100,000 GB-s and 250,000 executions) is not deducted, as a
// recommendation compares sizes and the grant is the same for all of them.
// Always-ready instances (baseline and their own meters) are not priced:
// evcli deploys none.
const (
	flexPriceTableDate   = "2025-05-22"
	flexPriceTableSource = "https://azure.microsoft.com/pricing/details/functions/ (Flex Consumption, on demand, East US), as quoted that day"
)

// flexPrice is what a Flex Consumption region charges.
type flexPrice struct {
	// GBSecondUSD is one GB-second of on-demand execution time (1 GB =
	// 1,024 MB of instance memory).
	GBSecondUSD float64
	// RequestUSD is one execution.
	RequestUSD float64
}

var eastUSFlex = flexPrice{GBSecondUSD: 0.000026, RequestUSD: 0.40 / 1e6}

// flexPrices are the regions whose prices evcli knows; others take East
// US's, and the recommendation says so.
var flexPrices = map[string]flexPrice{
	"eastus":  eastUSFlex,
	"eastus2": eastUSFlex,
}

// Invocation is the cost of one execution at memoryMB for billedMs: the
// instance's memory while it executes, and the execution.
func (p flexPrice) Invocation(memoryMB int, billedMs float64) float64 {
	return p.GBSecondUSD*float64(memoryMB)/1024*billedMs/1000 + p.RequestUSD
}

// lookupFlexPrice returns region's price (East US's for a region the table
// lacks, with a note saying so).
func lookupFlexPrice(region string) (p flexPrice, note string) {
	if p, ok := flexPrices[region]; ok {
		return p, ""
	}
	regions := make([]string, 0, len(flexPrices))
	for r := range flexPrices {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	return eastUSFlex, fmt.Sprintf("no Flex Consumption prices for location %q (evcli knows %v, from %s): used East US's (set prices: in evcli.yaml to override)",
		region, regions, flexPriceTableDate)
}

// validFlexMemory checks an instance memory size against Flex
// Consumption's sizes (FlexMemorySizes, deployer.go).
func validFlexMemory(mb int) error {
	if slices.Contains(FlexMemorySizes, mb) {
		return nil
	}
	return fmt.Errorf("%d MB is not a Flex Consumption instance size: use one of %v", mb, FlexMemorySizes)
}
