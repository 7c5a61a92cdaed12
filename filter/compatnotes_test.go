package filter

import (
	"strings"
	"testing"
)

func TestCompatNotes(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    []string // substrings, one per note, in order; none: no note
	}{
		{`{"a":["x"],"b":[{"prefix":"y"}]}`, nil},
		{`{"a":["x"],"a":["y"]}`, []string{"more than once"}},
		{`{"a.b":["x"]}`, []string{"dotted-field-names"}},
		{`{"a":["10.0.0.1"]}`, []string{"every spelling"}},
		{`{"a":[{"exactly":"x"}]}`, []string{`"exactly"`}},
		{`{"a":[9007199254740993]}`, []string{"not exactly a double"}},
		{`{"a":[{"anything-but":{"prefix":["x","y"]}}]}`, []string{"list of prefixes"}},
		{`{"a":[{"cidr":"10.0.0.0/8"}]}`, []string{"cidr-range-bug"}},
		{`{"a":{"b":[{"exists":false}]}}`, []string{"exists-false-order"}},
		{`{"a":[{"exists":false}]}`, nil},
		{`{"a":[{"equals-ignore-case":"abc"}]}`, nil},
		{`{"a":[{"equals-ignore-case":"straße"}]}`, []string{"ß matches SS"}},
		{`{"a":[{"equals-ignore-case":"😀"}]}`, []string{"ß matches SS", "ignore-case-astral"}},
		{`{"a":[{"anything-but":{"equals-ignore-case":["ǅ"]}}]}`, []string{"ß matches SS", "ignore-case-titlecase"}},
		{`{"a":[{"wildcard":"*b"},{"equals-ignore-case":"x"}]}`, []string{"ruler-candidates-interfere"}},
		{`{"a":[{"numeric":["<",5e-324]}]}`, []string{"jdk-double-tostring"}},
	} {
		got := MustParse(c.pattern).CompatNotes()
		if len(got) != len(c.want) {
			t.Errorf("%s: %d notes %q, want %d", c.pattern, len(got), got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: note %d = %q, want it to contain %q", c.pattern, i, got[i], w)
			}
		}
	}
}
