package filter

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestOracleCorpus holds the line on event-ruler's verdicts without java:
// testdata/oracle/corpus.jsonl (written by filter/oracle/corpus.sh from the
// oracle) gives, per (pattern, event), event-ruler's outcome and evcli's. They
// are equal unless the line names a deliberate class, which
// COMPATIBILITY.md must describe.
func TestOracleCorpus(t *testing.T) {
	f, err := os.Open("testdata/oracle/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := os.ReadFile("COMPATIBILITY.md")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n, classes := 0, map[string]int{}
	for sc.Scan() {
		var c struct {
			Pattern, Event, Oracle, Evcli, Class, Note string
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
		got := evcliOutcome(c.Pattern, c.Event)
		if got != c.Evcli {
			t.Errorf("line %d: %s on %s: evcli %s, want %s (event-ruler %s) %s", n, c.Pattern, c.Event, got, c.Evcli, c.Oracle, c.Note)
		}
		switch {
		case c.Class == "" && c.Evcli != c.Oracle:
			t.Errorf("line %d: evcli %s and event-ruler %s differ with no class", n, c.Evcli, c.Oracle)
		case c.Class != "" && c.Evcli == c.Oracle:
			t.Errorf("line %d: class %s but the verdicts agree", n, c.Class)
		case c.Class != "" && !strings.Contains(string(doc), "`"+c.Class+"`"):
			t.Errorf("line %d: class %s is not described in COMPATIBILITY.md", n, c.Class)
		}
		if c.Class != "" {
			classes[c.Class]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("only %d cases", n)
	}
	t.Logf("%d cases; deliberate differences by class: %v", n, classes)
}

// evcliOutcome is evcli's outcome on a pair, as the oracle's are named; the
// compiled RuleSet must agree with Pattern.Match.
func evcliOutcome(pattern, event string) string {
	p, err := Parse([]byte(pattern))
	if err != nil {
		return "pattern-error"
	}
	ok, err := p.Match([]byte(event))
	if err != nil {
		return "event-error"
	}
	rs := NewRuleSet()
	rs.Add("r", p)
	ids, err := rs.Match([]byte(event))
	if err != nil && !errors.Is(err, ErrNotObject) || (len(ids) == 1) != ok {
		return "ruleset-disagrees"
	}
	if ok {
		return "match"
	}
	return "nomatch"
}
