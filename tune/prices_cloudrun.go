package tune

import (
	"fmt"
	"slices"

	"github.com/evcli/evcli/providers"
)

// Cloud Run functions (2nd gen) run on Cloud Run with request-based
// billing: CPU per vCPU-second and memory per GiB-second while a request
// is processed, rounded up to the next 100 ms, plus a price per request.
// The monthly free tier (180,000 vCPU-s, 360,000 GiB-s, 2 million
// requests) is not deducted, as a recommendation compares sizes and the
// free tier is the same for all of them. Tier 1's prices were checked
// against the pricing page that day; tier 2's are the ones Google has
// long listed ($0.0000336 per vCPU-s, $0.0000035 per GiB-s), not
// re-checked.
const (
	CloudRunPriceTableDate   = "2026-12-07"
	CloudRunPriceTableSource = "https://cloud.google.com/run/pricing (request-based billing, tier 1 and tier 2 regions), as quoted that day"
	// CloudRunSizesSource is the memory to CPU table of 2nd gen functions.
	CloudRunSizesSource = "https://cloud.google.com/functions/docs/configuring/memory"
)

// CloudRunSizes are the memory tiers of a 2nd gen function (128Mi .. 32Gi)
// and CloudRunVCPUs the CPU Google gives each when none is set (evcli sets
// only available_memory): memory decides the CPU share below one vCPU and
// the number of vCPUs above it.
var (
	CloudRunSizes = []int{128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768}
	CloudRunVCPUs = []float64{0.083, 0.167, 0.333, 0.583, 1, 2, 2, 4, 8}
)

var (
	cloudRunTier1 = Price{GBSecondUSD: 0.0000025, VCPUSecondUSD: 0.000024, RequestUSD: 0.40 / 1e6}
	cloudRunTier2 = Price{GBSecondUSD: 0.0000035, VCPUSecondUSD: 0.0000336, RequestUSD: 0.40 / 1e6}
)

// cloudRunTier are the regions of each price tier evcli knows; others take
// tier 1's prices, and the recommendation says so.
var cloudRunTier = map[string]int{
	"asia-east1": 1, "asia-northeast1": 1, "asia-northeast2": 1, "europe-north1": 1,
	"europe-southwest1": 1, "europe-west1": 1, "europe-west4": 1, "europe-west8": 1,
	"europe-west9": 1, "me-west1": 1, "us-central1": 1, "us-east1": 1, "us-east4": 1,
	"us-east5": 1, "us-south1": 1, "us-west1": 1,
	"asia-east2": 2, "asia-northeast3": 2, "asia-south1": 2, "asia-south2": 2,
	"asia-southeast1": 2, "asia-southeast2": 2, "australia-southeast1": 2,
	"australia-southeast2": 2, "europe-central2": 2, "europe-west2": 2, "europe-west3": 2,
	"europe-west6": 2, "europe-west10": 2, "europe-west12": 2, "me-central1": 2,
	"northamerica-northeast1": 2, "northamerica-northeast2": 2, "southamerica-east1": 2,
	"southamerica-west1": 2, "us-west2": 2, "us-west3": 2, "us-west4": 2,
}

// LookupCloudRunPrice returns a region's request-based Cloud Run price
// (tier 1's for a region the table lacks, with a note saying so), with
// the project's overrides applied: GBSecondX86 replaces the GiB-second
// price and PerMillionReqUSD the request price (the vCPU-second price has
// no override).
func LookupCloudRunPrice(region string, override *PriceOverride) (p Price, note string) {
	switch cloudRunTier[region] {
	case 1:
		p = cloudRunTier1
	case 2:
		p = cloudRunTier2
	default:
		p = cloudRunTier1
		note = fmt.Sprintf("no Cloud Run price tier known for region %q (from %s): used tier 1's (set prices: in evcli.yaml to override)",
			region, CloudRunPriceTableDate)
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

// CloudRunCompute is the compute of a Cloud Run function (2nd gen): its
// memory tiers with their default CPU, billed per 100 ms. The tiers above
// 8 GiB are left out: evcli.yaml's memory goes up to 10,240 MB.
var CloudRunCompute = Compute{
	Name:               "Cloud Run functions (2nd gen)",
	Sizes:              slices.DeleteFunc(slices.Clone(CloudRunSizes), func(mb int) bool { return mb > MaxMemoryMB }),
	ProbeSizes:         []int{256, 512, 1024, 2048, 4096},
	BillingIncrementMs: 100,
	Instance:           tierInstance(CloudRunSizes, CloudRunVCPUs, false),
}

// CloudRunPrices is the Cloud Run functions (2nd gen) table and compute
// model as a providers.Compute, for region (the project's region when "").
func CloudRunPrices(region string) providers.Compute { return cloudRunPrices{region} }

type cloudRunPrices struct{ region string }

func (c cloudRunPrices) Price(region, _ string, override *PriceOverride) (providers.Price, string, error) {
	if c.region != "" {
		region = c.region
	}
	p, note := LookupCloudRunPrice(region, override)
	return providers.Price(p), note, nil
}

func (cloudRunPrices) ComputeModel() Compute { return CloudRunCompute }
