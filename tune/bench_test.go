package tune

import (
	"testing"
	"time"
)

// BenchmarkSummarize100k summarises a week of 100,000 invocations.
func BenchmarkSummarize100k(b *testing.B) {
	recs := records("f", 100_000, 1024, 100, 5, 60)
	for i := range recs {
		recs[i].DurationMs = float64(50 + i%100)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = SummarizeRecords("f", t0, t0.Add(7*24*time.Hour), recs)
	}
}

// BenchmarkRecommend estimates and chooses among the 14 standard sizes.
func BenchmarkRecommend(b *testing.B) {
	o := week("f", records("f", 1000, 1024, 100, 5, 60))
	c := cfg(Balanced)
	b.ReportAllocs()
	for b.Loop() {
		_ = Recommend(o, c)
	}
}
