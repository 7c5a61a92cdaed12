package tune

import "fmt"

// Bounds limit what --apply changes.
type Bounds struct {
	// MaxIncreaseFactor (e.g. 2 for "2x") and MaxIncreaseMB (e.g. 512 for
	// "512") cap an increase; zero means no cap of that kind, and a negative
	// MaxIncreaseMB (from "0") allows no increase at all.
	MaxIncreaseFactor float64
	MaxIncreaseMB     int
	// MinSavingUSD (per month) or MinSavingPercent (of the current monthly
	// cost) is the least saving worth a change; set at most one. They do
	// not apply to the speed strategy, whose point is not saving.
	MinSavingUSD     float64
	MinSavingPercent float64
	HasMinSaving     bool
}

// Allow reports whether r may be applied, and if not, why.
func (b Bounds) Allow(r Recommendation) (bool, string) {
	if r.Insufficient {
		return false, "too little data to recommend a size"
	}
	if !r.Changed() {
		return false, fmt.Sprintf("already at the recommended %d MB", r.CurrentMemoryMB)
	}
	if r.RecommendedMemoryMB > r.CurrentMemoryMB && r.CurrentMemoryMB > 0 {
		if b.MaxIncreaseFactor > 0 && float64(r.RecommendedMemoryMB) > float64(r.CurrentMemoryMB)*b.MaxIncreaseFactor+1e-9 {
			return false, fmt.Sprintf("%d MB is more than %gx the current %d MB (--max-increase)", r.RecommendedMemoryMB, b.MaxIncreaseFactor, r.CurrentMemoryMB)
		}
		if b.MaxIncreaseMB != 0 && r.RecommendedMemoryMB-r.CurrentMemoryMB > max(b.MaxIncreaseMB, 0) {
			return false, fmt.Sprintf("%d MB is more than %d MB above the current %d MB (--max-increase)", r.RecommendedMemoryMB, b.MaxIncreaseMB, r.CurrentMemoryMB)
		}
	}
	if b.HasMinSaving && r.Strategy != Speed {
		if b.MinSavingPercent > 0 {
			if pct := r.SavingPercent(); pct < b.MinSavingPercent {
				return false, fmt.Sprintf("saving %.1f%% a month is below --min-saving %g%%", pct, b.MinSavingPercent)
			}
		} else if r.MonthlySavingUSD < b.MinSavingUSD {
			return false, fmt.Sprintf("saving %s a month is below --min-saving %s", formatUSD(r.MonthlySavingUSD), formatUSD(b.MinSavingUSD))
		}
	}
	return true, ""
}
