package tune

import "testing"

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
