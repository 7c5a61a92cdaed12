package rulerc

import "testing"

func BenchmarkNumComparable(b *testing.B) {
	for _, s := range []string{"-122.42200352825247", "37.75978911713541", "12345", "9007199254740993"} {
		b.Run(s, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				NumComparable(s)
			}
		})
	}
}
