package jsonstr

import (
	"encoding/json"
	"testing"
)

var cases = []string{"", "plain", `q"uote`, `back\slash`, "tab\tnl\ncr\r", "\b\f\x00\x1f\x7f", "<a & b>",
	"é ü 日本", "\u2028\u2029", "bad \xff utf8", "\xed\xa0\x80", "mixed \"\\<>&\u2028 é \xc3"}

func check(t *testing.T, s string) {
	t.Helper()
	want, _ := json.Marshal(s)
	if got := Append(nil, s); string(got) != string(want) {
		t.Fatalf("Append(%q) = %s, encoding/json gives %s", s, got, want)
	}
}

func TestAppendAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range cases {
		check(t, s)
	}
	if got := string(Append([]byte("x="), "y")); got != `x="y"` {
		t.Fatalf("appends to dst: %s", got)
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range cases {
		f.Add(s)
	}
	f.Fuzz(check)
}
