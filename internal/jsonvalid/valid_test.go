package jsonvalid

import (
	"encoding/json"
	"strings"
	"testing"
)

// cases are checked against encoding/json.Valid, not against a want
// column: agreeing with it is the contract.
var cases = []string{
	``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `1`, `-`, `01`, `-01`, `1.`, `1.5`, `.5`, `1e`, `1e5`, `1E+5`, `1e-5`,
	`1.5e+10`, `-1.5E-0`, `1e+`, `1.e5`, `+1`, `0x10`, `1 2`, `123456789012345678901234567890`,
	`true`, `false`, `null`, `tru`, `nul`, `True`, `nulll`, `true false`,
	`"abc"`, `"a\"b"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u12"`, `"\x"`,
	`"\`, `"abc`, "\"a\tb\"", "\"a\x1fb\"", "\"a\x7fb\"", "\"\xff\xfe\"", "\"é\"", `"12345678"`, `"1234567\"`,
	`"12345678\"12345678"`, `"1234567890abcdef\\"`, "\"1234567890abcdef\x00\"",
	`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":}`, `{"a":1 "b":2}`, `{,}`, `{"a":1}}`, `{"a":[1,2,{"b":null}]}`,
	` { "a" : [ 1 , 2 ] , "b" : { } } `, "\t\n\r{}\r\n\t", `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[[[]]`, `]`, `}`,
	`{"a":"b"`, `{"a"`, `{"a":`, `[`, `["`, `{"":""}`, "\xef\xbb\xbf{}", "{}\x00", `{"a":1}x`,
	`{"aggregateId":"order-1","version":1,"correlationId":"c-1","items":[{"sku":"A-1","qty":2}],"total":42.5}`,
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

// TestDepth: 10,000 nested arrays or objects are valid, 10,001 are not,
// as in encoding/json.
func TestDepth(t *testing.T) {
	for _, n := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := map[string]string{"[": "]", `{"a":`: "}"}[open]
			doc := strings.Repeat(open, n) + "1" + strings.Repeat(close, n)
			if got, want := Valid([]byte(doc)), json.Valid([]byte(doc)); got != want || got != (n <= maxDepth) {
				t.Errorf("depth %d of %q: Valid %v, encoding/json %v", n, open, got, want)
			}
		}
	}
}

// TestEveryPrefix: every prefix of valid documents, each byte changed, is
// judged as encoding/json judges it (strings cross the 8-byte scan at
// every offset).
func TestEveryPrefixAndByte(t *testing.T) {
	docs := []string{
		`{"aggregateId":"order-1","note":"a \"quoted\" word\\ and \u00e9 and more text","n":[1,-2.5e3,true,null]}`,
		"[\"abcdefghijklmnopqrstuvwxyz\",\"0123456789\\u0041\",{}]",
	}
	for _, doc := range docs {
		for i := 0; i <= len(doc); i++ {
			p := []byte(doc[:i])
			if Valid(p) != json.Valid(p) {
				t.Errorf("prefix %q: Valid %v", p, Valid(p))
			}
		}
		for i := range len(doc) {
			for _, c := range []byte{0, 0x1f, 0x20, '"', '\\', '}', ']', ',', ':', 'u', '0', 0x80, 0xff} {
				b := []byte(doc)
				b[i] = c
				if Valid(b) != json.Valid(b) {
					t.Errorf("%q: Valid %v", b, Valid(b))
				}
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
		checkEnd(t, b)
	})
}

// TestEnd: End finds the end of the first value exactly where a valid
// document's trailing space starts, and agrees with Valid on the value.
func TestEnd(t *testing.T) {
	for _, c := range cases {
		checkEnd(t, []byte(c))
	}
}

func checkEnd(t *testing.T, b []byte) {
	t.Helper()
	end := End(b, 0)
	if Valid(b) && (end < 0 || skipSpace(b, end) != len(b)) {
		t.Fatalf("End(%q) = %d for a valid document", b, end)
	}
	if end >= 0 && !json.Valid(b[:end]) {
		t.Fatalf("End(%q) = %d, but %q is not valid JSON", b, end, b[:end])
	}
}

// BenchmarkValid compares with encoding/json.Valid on an event detail as
// the bus and store check it:
//
//	go test ./internal/jsonvalid -run '^$' -bench Valid -count 5
func BenchmarkValid(b *testing.B) {
	detail := []byte(`{"_replay":{"replay-name":"bench-1","replayed":true,"originalId":"ev-000123","originalTime":"2026-11-26T10:00:00.123Z","aggregateId":"order-017","version":4},"aggregateId":"order-017","version":4,"total":42.5,"currency":"EUR","items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}`)
	for _, c := range []struct {
		name  string
		valid func([]byte) bool
	}{{"jsonvalid", Valid}, {"encoding-json", json.Valid}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(detail)))
			for b.Loop() {
				if !c.valid(detail) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
