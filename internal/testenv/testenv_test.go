package testenv

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	t.Setenv("EVCLI_TEST_REQUIRE", "")
	t.Run("a", func(t *testing.T) { Skip(t, "dynalite", "cd .ci && npm ci") })
	t.Run("b", func(t *testing.T) { Skip(t, "dynalite", "cd .ci && npm ci") })
	got := Summary()
	defer func() { mu.Lock(); missing = map[string]*entry{}; mu.Unlock() }()
	for _, want := range []string{"skipped 2 test(s) that need dynalite", "TestSummary/a, TestSummary/b", "cd .ci && npm ci"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
}
