package tune

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/evcli/evcli/providers"
)

// PriceTableDate and PriceTableSource say where the embedded prices come
// from. They are the on-demand prices of the first monthly tier (x86_64:
// first 6 billion GB-seconds; arm64: first 7.5 billion GB-seconds), as AWS
// publishes them on https://aws.amazon.com/lambda/pricing/ (checked
// 2026-11-26). The free tier is not deducted: a recommendation compares
// sizes, and the free tier is the same for all of them.
const (
	PriceTableDate   = "2026-11-26"
	PriceTableSource = "https://aws.amazon.com/lambda/pricing/ (on-demand, first tier)"
)

// Price is what one region and architecture charge; a providers.Price
// converts to it.
type Price struct {
	// GBSecondUSD is the price of one GB-second of duration (1 GB = 1,024 MB).
	GBSecondUSD float64
	// VCPUSecondUSD is the price of one vCPU-second where the cloud bills
	// CPU apart (Cloud Run); 0 otherwise.
	VCPUSecondUSD float64
	// RequestUSD is the price of one request.
	RequestUSD float64
}

// Invocation returns the cost of one invocation at memoryMB billed for
// billedMs milliseconds (which may be a mean, hence a float), with no CPU
// billed apart.
func (p Price) Invocation(memoryMB int, billedMs float64) float64 {
	return p.Cost(memoryMB, 0, billedMs)
}

// Cost returns the cost of one invocation billed for billedMs at memoryMB
// and vcpus: memory and (where billed apart) CPU time, plus the request.
func (p Price) Cost(memoryMB int, vcpus, billedMs float64) float64 {
	// The memory term is computed as it always was, so Lambda's figures
	// stay bit for bit; the CPU term adds exactly 0 where not billed.
	return p.GBSecondUSD*float64(memoryMB)/1024*billedMs/1000 + p.VCPUSecondUSD*vcpus*billedMs/1000 + p.RequestUSD
}

// BilledMs is Lambda's rounding of a duration: up to the next whole
// millisecond, at least 1 ms.
func BilledMs(durationMs float64) float64 {
	b := math.Ceil(durationMs - 1e-9) // 100.0000000001 from float noise is still 100
	if b < 1 {
		b = 1
	}
	return b
}

var (
	usEast1X86 = Price{GBSecondUSD: 0.0000166667, RequestUSD: 0.20 / 1e6}
	usEast1Arm = Price{GBSecondUSD: 0.0000133334, RequestUSD: 0.20 / 1e6}
)

// embeddedPrices are the regions whose first-tier prices are known to evcli.
// All listed regions charge the US East (N. Virginia) prices. Other regions
// fall back to us-east-1, and the recommendation says so.
var embeddedPrices = map[string]map[string]Price{
	"us-east-1":      {"x86_64": usEast1X86, "arm64": usEast1Arm},
	"us-east-2":      {"x86_64": usEast1X86, "arm64": usEast1Arm},
	"us-west-2":      {"x86_64": usEast1X86, "arm64": usEast1Arm},
	"eu-west-1":      {"x86_64": usEast1X86, "arm64": usEast1Arm},
	"eu-central-1":   {"x86_64": usEast1X86, "arm64": usEast1Arm},
	"ap-southeast-1": {"x86_64": usEast1X86, "arm64": usEast1Arm},
	"ap-southeast-2": {"x86_64": usEast1X86, "arm64": usEast1Arm},
	"ap-northeast-1": {"x86_64": usEast1X86, "arm64": usEast1Arm},
}

// PriceRegions lists the regions of the embedded table.
func PriceRegions() []string {
	var r []string
	for k := range embeddedPrices {
		r = append(r, k)
	}
	slices.Sort(r)
	return r
}

// PriceOverride is the prices: section of evcli.yaml (project.PriceTable);
// zero fields keep the embedded price.
type PriceOverride = providers.PriceOverride

// LambdaPrices is Lambda's table (LookupPrice) and compute (LambdaCompute)
// as a providers.Compute: those of a provider that sets none.
var LambdaPrices providers.Compute = lambdaPrices{}

func (lambdaPrices) ComputeModel() Compute { return LambdaCompute }

type lambdaPrices struct{}

func (lambdaPrices) Price(region, arch string, override *PriceOverride) (providers.Price, string, error) {
	p, note, err := LookupPrice(region, arch, override)
	return providers.Price(p), note, err
}

// FlexPrices is Azure Functions Flex Consumption's table (LookupFlexPrice)
// and compute (FlexCompute) as a providers.Compute, for location (the
// project's region when "").
func FlexPrices(location string) providers.Compute { return flexPrices{location} }

func (flexPrices) ComputeModel() Compute { return FlexCompute }

type flexPrices struct{ location string }

func (f flexPrices) Price(region, _ string, override *PriceOverride) (providers.Price, string, error) {
	if f.location != "" {
		region = f.location
	}
	p, note := LookupFlexPrice(region, override)
	return providers.Price(p), note, nil
}

// PriceOf is what pricer (LambdaPrices when nil) charges in region for
// arch.
func PriceOf(pricer providers.Pricer, region, arch string, override *PriceOverride) (Price, string, error) {
	if pricer == nil {
		pricer = LambdaPrices
	}
	p, note, err := pricer.Price(region, arch, override)
	return Price(p), note, err
}

// LookupPrice returns the price for region and architecture (x86_64 or
// arm64; empty means x86_64), with the project's overrides applied. note is
// non-empty when the price is a fallback the user should know about.
func LookupPrice(region, arch string, override *PriceOverride) (p Price, note string, err error) {
	switch arch {
	case "", "x86_64":
		arch = "x86_64"
	case "arm64":
	default:
		return Price{}, "", fmt.Errorf("architecture %q: use x86_64 or arm64", arch)
	}
	if region == "" {
		region = "us-east-1"
	}
	byArch, ok := embeddedPrices[region]
	if !ok {
		byArch = embeddedPrices["us-east-1"]
		note = fmt.Sprintf("no embedded prices for region %s: used us-east-1's (set prices: in evcli.yaml to override)", region)
	}
	p = byArch[arch]
	if override != nil {
		if arch == "x86_64" && override.GBSecondX86 > 0 {
			p.GBSecondUSD = override.GBSecondX86
			note = ""
		}
		if arch == "arm64" && override.GBSecondArm > 0 {
			p.GBSecondUSD = override.GBSecondArm
			note = ""
		}
		if override.PerMillionReqUSD > 0 {
			p.RequestUSD = override.PerMillionReqUSD / 1e6
		}
	}
	return p, note, nil
}

// formatUSD formats small dollar amounts readably.
func formatUSD(v float64) string {
	if v < 0 {
		return "-" + formatUSD(-v)
	}
	a := v
	switch {
	case a == 0:
		return "$0"
	case a >= 100:
		return fmt.Sprintf("$%.0f", a)
	case a >= 0.01:
		return fmt.Sprintf("$%.2f", a)
	default:
		// three significant digits, never in e-notation: $0.00000758
		exp := math.Floor(math.Log10(a))
		p := math.Pow(10, exp-2)
		r := math.Round(a/p) * p
		exp = math.Floor(math.Log10(r) + 1e-12) // 0.0099999 rounds to 0.0100
		return "$" + strconv.FormatFloat(r, 'f', int(-exp+2), 64)
	}
}
