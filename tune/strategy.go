package tune

import (
	"fmt"
	"math"
)

// Strategy chooses a memory size among estimates, as the AWS Lambda Power
// Tuning tool's analyzer does.
type Strategy string

const (
	// Cost picks the cheapest size; among equally cheap ones the fastest.
	Cost Strategy = "cost"
	// Speed picks the fastest size; sizes within SpeedTolerance of the
	// fastest count as equally fast, and the cheapest of them wins.
	Speed Strategy = "speed"
	// Balanced minimises weight*cost/maxCost + (1-weight)*duration/maxDuration
	// over the candidates (weight 0 = speed, 1 = cost; Power Tuning's
	// balancedWeight, default 0.5); ties go to the smaller size.
	Balanced Strategy = "balanced"
)

// SpeedTolerance is how much slower than the fastest size (relative) a
// size may be and still count as equally fast for the speed strategy. Power
// Tuning compares exact averages, which buys 70% more cost for a 1% gain on
// a function that mostly waits; 5% is below what a user notices and above
// the run-to-run noise of a duration average.
const SpeedTolerance = 0.05

// DefaultWeight is Power Tuning's default balancedWeight.
const DefaultWeight = 0.5

// ParseStrategy validates a --strategy value.
func ParseStrategy(s string) (Strategy, error) {
	switch Strategy(s) {
	case Cost, Speed, Balanced:
		return Strategy(s), nil
	case "":
		return Cost, nil
	}
	return "", fmt.Errorf("invalid strategy %q: use cost, speed or balanced", s)
}

// same reports whether two costs or durations are equal up to float noise
// (relative 1e-9), so that sizes the model prices identically tie.
func same(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// Choose returns the index of the estimate s picks in ests (sorted by
// memory, ascending), or -1 when ests is empty. weight is used by Balanced.
func (s Strategy) Choose(ests []Estimate, weight float64) int {
	if len(ests) == 0 {
		return -1
	}
	weight = math.Max(0, math.Min(weight, 1))
	best := 0
	switch s {
	case Speed:
		// The fastest size, but memory is only bought when it pays in
		// speed: sizes within SpeedTolerance of the fastest count as
		// equally fast, and the cheapest of them wins.
		fastest := ests[0].DurationMs
		for _, e := range ests[1:] {
			fastest = math.Min(fastest, e.DurationMs)
		}
		best = -1
		for i, e := range ests {
			if e.DurationMs > fastest*(1+SpeedTolerance) && !same(e.DurationMs, fastest) {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			b := ests[best]
			if same(e.CostPerInvocationUSD, b.CostPerInvocationUSD) {
				if e.DurationMs < b.DurationMs && !same(e.DurationMs, b.DurationMs) {
					best = i
				}
			} else if e.CostPerInvocationUSD < b.CostPerInvocationUSD {
				best = i
			}
		}
	case Balanced:
		maxCost, maxDur := 0.0, 0.0
		for _, e := range ests {
			maxCost = math.Max(maxCost, e.CostPerInvocationUSD)
			maxDur = math.Max(maxDur, e.DurationMs)
		}
		value := func(e Estimate) float64 {
			v := 0.0
			if maxCost > 0 {
				v += weight * e.CostPerInvocationUSD / maxCost
			}
			if maxDur > 0 {
				v += (1 - weight) * e.DurationMs / maxDur
			}
			return v
		}
		for i := 1; i < len(ests); i++ {
			if a, b := value(ests[i]), value(ests[best]); a < b && !same(a, b) {
				best = i
			}
		}
	default: // Cost
		for i := 1; i < len(ests); i++ {
			a, b := ests[i], ests[best]
			if same(a.CostPerInvocationUSD, b.CostPerInvocationUSD) {
				if a.DurationMs < b.DurationMs && !same(a.DurationMs, b.DurationMs) {
					best = i
				}
			} else if a.CostPerInvocationUSD < b.CostPerInvocationUSD {
				best = i
			}
		}
	}
	return best
}
