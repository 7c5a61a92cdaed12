package tune

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/evcli/evcli/providers"
)

// Compute is how a cloud runs a function at a memory size: the sizes it
// has, the vCPUs and billed memory of each, and how durations are billed
// (providers.ComputeModel). A provider's Pricer says it by implementing
// providers.Compute; one that does not is modelled as Lambda.
type Compute = providers.ComputeModel

// LambdaCompute is Lambda's (aws, local): any MB from 128 to 10,240, CPU in
// proportion to memory (VCPUs), billed per millisecond.
var LambdaCompute = Compute{
	Name:               "Lambda",
	Sizes:              StandardSizes,
	AnySize:            true,
	ProbeSizes:         DefaultProbeSizes,
	BillingIncrementMs: 1,
	Instance:           func(mb int) (int, float64) { return mb, VCPUs(mb) },
}

// ComputeOf is the compute model pricer says (LambdaCompute when nil or
// when it says none).
func ComputeOf(pricer providers.Pricer) Compute {
	if c, ok := pricer.(providers.Compute); ok {
		if m := c.ComputeModel(); len(m.Sizes) > 0 && m.Instance != nil {
			return m
		}
	}
	return LambdaCompute
}

// tierCompute is the model of a cloud whose sizes are tiers, each with
// its vCPUs: a size between tiers gets the CPU of the next tier up and is
// billed as itself (billTier false) or as that tier (billTier true).
func tierInstance(sizes []int, vcpus []float64, billTier bool) func(int) (int, float64) {
	return func(mb int) (int, float64) {
		i, _ := slices.BinarySearch(sizes, mb)
		i = min(i, len(sizes)-1)
		if billTier && mb <= sizes[i] {
			return sizes[i], vcpus[i]
		}
		return mb, vcpus[i]
	}
}

// billedOn rounds a duration up as c bills it: to the next whole
// millisecond for Lambda (BilledMs, unchanged), to the next 100 ms on
// Cloud Run.
func billedOn(c Compute, durationMs float64) float64 {
	inc := c.BillingIncrementMs
	if inc <= 1 {
		return BilledMs(durationMs)
	}
	b := math.Ceil(durationMs/inc-1e-9) * inc
	return max(b, inc)
}

// CheckSizes says which of sizes (--sizes) c cannot set, and what it can.
func CheckSizes(c Compute, sizes []int) error {
	if c.AnySize || len(c.Sizes) == 0 {
		return nil
	}
	for _, s := range sizes {
		if !slices.Contains(c.Sizes, s) {
			mb := make([]string, len(c.Sizes))
			for i, v := range c.Sizes {
				mb[i] = fmt.Sprint(v)
			}
			return fmt.Errorf("--sizes: %d MB is not a size %s has: use some of %s", s, c.Name, strings.Join(mb, ","))
		}
	}
	return nil
}

// cost is the cost of one invocation at memoryMB billed for billedMs on c.
func cost(c Compute, p Price, memoryMB int, billedMs float64) float64 {
	mb, vcpus := c.Instance(memoryMB)
	return p.Cost(mb, vcpus, billedMs)
}

// computeModel is the model's CPU at each size on c.
func cpuOf(c Compute) func(int) float64 {
	return func(mb int) float64 {
		_, v := c.Instance(mb)
		return v
	}
}
