package tune

import (
	"fmt"
	"slices"
)

// Azure Functions Flex Consumption's prices, next to Lambda's: the on
// demand meters in East US, execution time per GB-second of instance
// memory while an instance executes, and executions. The monthly free
// grant (100,000 GB-s and 250,000 executions) is not deducted, as a
// recommendation compares sizes and the grant is the same for all of them.
// Always-ready instances (baseline and their own meters) are not priced:
// evcli deploys none.
const (
	FlexPriceTableDate   = "2025-05-22"
	FlexPriceTableSource = "https://azure.microsoft.com/pricing/details/functions/ (Flex Consumption, on demand, East US), as quoted that day"
)

// FlexSizes are Flex Consumption's instance memory sizes (as
// providers/azure.FlexMemorySizes, which a test there compares) and
// FlexVCPUs the cores of each, as Microsoft's Flex Consumption plan page
// lists them (the 512 MB instance's quarter core was not re-checked
// against a stored copy of that page on 2026-12-07).
var (
	FlexSizes = []int{512, 2048, 4096}
	FlexVCPUs = []float64{0.25, 1, 2}
)

// FlexCompute is Flex Consumption's compute: its instance sizes only,
// each billed as its instance memory while it executes (a memory between
// sizes runs on, and is billed as, the next size up).
var FlexCompute = Compute{
	Name:               "Flex Consumption",
	Sizes:              FlexSizes,
	ProbeSizes:         FlexSizes,
	BillingIncrementMs: 1,
	Instance:           tierInstance(FlexSizes, FlexVCPUs, true),
}

var eastUSFlex = Price{GBSecondUSD: 0.000026, RequestUSD: 0.40 / 1e6}

// flexTable are the Azure locations whose Flex Consumption prices evcli
// knows; others take East US's, and the recommendation says so.
var flexTable = map[string]Price{
	"eastus":  eastUSFlex,
	"eastus2": eastUSFlex,
}

// LookupFlexPrice returns an Azure location's Flex Consumption price
// (East US's for a location the table lacks, with a note saying so), with
// the project's overrides (GBSecondX86: Flex runs x86_64) applied.
func LookupFlexPrice(location string, override *PriceOverride) (p Price, note string) {
	p, ok := flexTable[location]
	if !ok {
		regions := make([]string, 0, len(flexTable))
		for r := range flexTable {
			regions = append(regions, r)
		}
		slices.Sort(regions)
		p = eastUSFlex
		note = fmt.Sprintf("no Flex Consumption prices for location %q (evcli knows %v, from %s): used East US's (set prices: in evcli.yaml to override)",
			location, regions, FlexPriceTableDate)
	}
	if override != nil {
		if override.GBSecondX86 > 0 {
			p.GBSecondUSD, note = override.GBSecondX86, ""
		}
		if override.PerMillionReqUSD > 0 {
			p.RequestUSD = override.PerMillionReqUSD / 1e6
		}
	}
	return p, note
}
