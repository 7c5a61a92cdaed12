package tune

import (
	"testing"
	"time"
)

// FuzzParseWindow: no panic; an accepted window is positive and survives
// format -> parse.
func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"7d", "36h", "90m", "1h30m", "2w", "0d", "-1h", "", "d", "9999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseWindow(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("ParseWindow(%q) = %v", s, d)
		}
		if d%time.Minute == 0 {
			d2, err := ParseWindow(formatWindow(d))
			if err != nil || d2 != d {
				t.Fatalf("round trip %q -> %v -> %q -> %v, %v", s, d, formatWindow(d), d2, err)
			}
		}
	})
}

// FuzzParseSizes: no panic; accepted sizes are within Lambda's limits.
func FuzzParseSizes(f *testing.F) {
	for _, s := range []string{"128,512,1024", "1GB", "10240", "64", "128,,256", "1.5", "512M, 2G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sizes, err := ParseSizes(s)
		if err != nil {
			return
		}
		for _, m := range sizes {
			if m < MinMemoryMB || m > MaxMemoryMB {
				t.Fatalf("ParseSizes(%q) accepted %d", s, m)
			}
		}
	})
}

// FuzzParseBounds: no panic; accepted bounds are sane.
func FuzzParseBounds(f *testing.F) {
	for _, s := range []string{"2x", "1.5x", "512", "512MB", "none", "10%", "$1.50", "0.5x", "-3", "101%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b Bounds
		if ParseMaxIncrease(s, &b) == nil && b.MaxIncreaseFactor != 0 && b.MaxIncreaseFactor < 1 {
			t.Fatalf("factor %g from %q", b.MaxIncreaseFactor, s)
		}
		if ParseMinSaving(s, &b) == nil && (b.MinSavingUSD < 0 || b.MinSavingPercent < 0 || b.MinSavingPercent > 100) {
			t.Fatalf("min saving %+v from %q", b, s)
		}
	})
}
