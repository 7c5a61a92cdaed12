package tune

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxWindow is the longest --since tune memory looks back: 3660d (about
// ten years), whatever unit it is written in.
const MaxWindow = 3660 * 24 * time.Hour

// ParseMemory parses one memory size: 512, 512MB, 512M, or 1GB (1,024 MB),
// within evcli.yaml's 128..10,240 MB (CheckSizes then keeps the cloud's).
func ParseMemory(s string) (int, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"GB", 1024}, {"G", 1024}, {"MB", 1}, {"M", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = rest, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid memory size %q: use megabytes such as 512 or 1769, or 1GB", s)
	}
	mb := v * mult
	if mb != math.Trunc(mb) {
		return 0, fmt.Errorf("invalid memory size %q: use a whole number of megabytes", s)
	}
	if mb < MinMemoryMB || mb > MaxMemoryMB {
		return 0, fmt.Errorf("memory size %q is out of range: evcli.yaml allows %d to %d MB (each cloud only its own sizes)", s, MinMemoryMB, MaxMemoryMB)
	}
	return int(mb), nil
}

// ParseSizes parses a --sizes list: comma-separated memory sizes.
func ParseSizes(s string) ([]int, error) {
	var out []int
	for i, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			return nil, fmt.Errorf("invalid --sizes %q: item %d is empty; use e.g. 128,512,1024,1769", s, i+1)
		}
		m, err := ParseMemory(part)
		if err != nil {
			return nil, fmt.Errorf("--sizes item %d: %w", i+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// ParseMaxIncrease parses --max-increase: a factor (2x, 1.5x) or megabytes
// (512, 512MB). "" or "none" means no bound.
func ParseMaxIncrease(s string, b *Bounds) error {
	t := strings.ToLower(strings.TrimSpace(s))
	b.MaxIncreaseFactor, b.MaxIncreaseMB = 0, 0
	if t == "" || t == "none" {
		return nil
	}
	if f, ok := strings.CutSuffix(t, "x"); ok {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v >= 1) || math.IsInf(v, 0) {
			return fmt.Errorf("invalid --max-increase %q: use a factor of at least 1 such as 2x, or megabytes such as 512", s)
		}
		b.MaxIncreaseFactor = v
		return nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "mb"), "m")
	v, err := strconv.Atoi(strings.TrimSpace(t))
	if err != nil || v < 0 {
		return fmt.Errorf("invalid --max-increase %q: use a factor such as 2x, or megabytes such as 512", s)
	}
	b.MaxIncreaseMB = v
	if v == 0 {
		b.MaxIncreaseMB = -1 // no increase at all
	}
	return nil
}

// ParseMinSaving parses --min-saving: US dollars a month (1.50, $1.50) or a
// percentage of the current monthly cost (10%). "" means no bound.
func ParseMinSaving(s string, b *Bounds) error {
	t := strings.TrimSpace(s)
	b.MinSavingUSD, b.MinSavingPercent, b.HasMinSaving = 0, 0, false
	if t == "" {
		return nil
	}
	bad := fmt.Errorf("invalid --min-saving %q: use dollars a month such as 1.50 or $1.50, or a percentage such as 10%%", s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
			return bad
		}
		b.MinSavingPercent, b.HasMinSaving = v, true
		return nil
	}
	t = strings.TrimPrefix(t, "$")
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return bad
	}
	b.MinSavingUSD, b.HasMinSaving = v, true
	return nil
}

// ParseMinSavingForSlowdown parses --min-saving-for-slowdown: the
// percentage of the monthly cost (10 or 10%) a size estimated more than
// MaxSlowdown slower must save to be recommended; "" is the default.
func ParseMinSavingForSlowdown(s string, c *Config) error {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	if t == "" {
		c.MinSavingForSlowdown = 0
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v <= 0 || v > 100 || math.IsNaN(v) {
		return fmt.Errorf("invalid --min-saving-for-slowdown %q: use a percentage of the monthly cost above 0, such as 10%%", s)
	}
	c.MinSavingForSlowdown = v / 100
	return nil
}
