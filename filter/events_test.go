package filter

import (
	"strconv"
	"strings"
	"testing"
)

func TestReadEvents(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // "line path data"
		err      string
	}{
		{"single", `{"a":1}`, []string{`1  {"a":1}`}, ""},
		{"pretty single", "\n{\n  \"a\": 1\n}\n", []string{"2  {\n  \"a\": 1\n}\n"}, ""},
		{"ndjson", "{\"a\":1}\n\n{\"a\":2}\r\n{\"a\":3}", []string{`1  {"a":1}`, `3  {"a":2}`, `4  {"a":3}`}, ""},
		{"array", "[{\"a\":1},\n {\"a\":2}]", []string{`1 [0] {"a":1}`, `2 [1] {"a":2}`}, ""},
		{"empty array", "[ ]", nil, ""},
		{"empty", "  \n", nil, ""},
		{"ndjson bad line", "{\"a\":1}\n{\"a\":}\n", nil, "in:2:6: invalid JSON"},
		{"ndjson not object", "{\"a\":1}\n[1]\n", nil, "in:2:1: not an event"},
		{"array not object", "[{\"a\":1},\n 5]", nil, "in:2:2: [1]: not an event"},
		{"array bad json", "[{\"a\":1},\n {\"a\" 2}]", nil, "in:2:7: [1]: invalid JSON"},
		{"array trailing", "[{\"a\":1}] x", nil, "in:1:11: unexpected data"},
		{"incomplete", "{\"a\":\n1", nil, "in:2:2: invalid JSON: unexpected end"},
		{"two on a line", "{\"a\":1} {\"b\":2}\n", nil, "in:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			err := ReadEvents(strings.NewReader(c.in), "in", true, func(e InputEvent) error {
				got = append(got, strings.Join([]string{itoa(e.Line), e.Path, string(e.Data)}, " "))
				return nil
			})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
