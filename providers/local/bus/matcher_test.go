package bus

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers/local/store"
)

const sampleEvent = `{"version":"0","id":"1","detail-type":"OrderCreated","source":"shop.orders","account":"1","time":"2026-11-26T10:00:00Z","region":"us-east-1","resources":["arn:x"],
"detail":{"orderId":"o-1","amount":42,"express":true,"coupon":null,"status":"NEW","items":[{"sku":"A-1"},{"sku":"B-2"}],"tags":["vip","eu"],"customer":{"tier":"gold","address":{"country":"DE"}}}}`

func TestSimpleMatcher(t *testing.T) {
	tests := []struct {
		pattern string
		match   bool
	}{
		{`{}`, true},
		{`{"source":["shop.orders"]}`, true},
		{`{"source":["shop.payments"]}`, false},
		{`{"source":["x","shop.orders"]}`, true},
		{`{"source":["shop.orders"],"detail-type":["OrderPaid"]}`, false},
		{`{"source":[{"prefix":"shop."}]}`, true},
		{`{"source":[{"prefix":"shop.p"}]}`, false},
		{`{"detail":{"amount":[42]}}`, true},
		{`{"detail":{"amount":[42.0]}}`, true},
		{`{"detail":{"amount":["42"]}}`, false},
		{`{"detail":{"express":[true]}}`, true},
		{`{"detail":{"express":[false]}}`, false},
		{`{"detail":{"coupon":[null]}}`, true},
		{`{"detail":{"status":[null]}}`, false},
		{`{"detail":{"customer":{"address":{"country":["DE"]}}}}`, true},
		{`{"detail":{"customer":{"address":{"country":[{"prefix":"F"}]}}}}`, false},
		{`{"detail":{"tags":["eu"]}}`, true},
		{`{"detail":{"tags":["us"]}}`, false},
		{`{"detail":{"items":{"sku":["B-2"]}}}`, true},
		{`{"detail":{"items":{"sku":["C-3"]}}}`, false},
		{`{"detail":{"missing":["x"]}}`, false},
		{`{"detail":{"missing":[{"exists":false}]}}`, true},
		{`{"detail":{"orderId":[{"exists":true}]}}`, true},
		{`{"detail":{"orderId":[{"exists":false}]}}`, false},
		{`{"detail":{"customer":[{"exists":true}]}}`, false},
		{`{"resources":["arn:x"]}`, true},
		{`{"detail":{"orderId":{"nested":["x"]}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			m, err := NewSimpleMatcher([]store.Rule{{ID: "r", Pattern: json.RawMessage(tt.pattern)}})
			if err != nil {
				t.Fatal(err)
			}
			ids, err := m.Match([]byte(sampleEvent))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ids) == 1; got != tt.match {
				t.Fatalf("match = %v; want %v", got, tt.match)
			}
		})
	}
}

func TestSimpleMatcherRuleOrderAndErrors(t *testing.T) {
	m, err := NewSimpleMatcher([]store.Rule{
		{ID: "b", Pattern: json.RawMessage(`{"source":["shop.orders"]}`)},
		{ID: "a", Pattern: json.RawMessage(`{}`)},
		{ID: "c", Pattern: json.RawMessage(`{"source":["no"]}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := m.Match([]byte(sampleEvent))
	if !slices.Equal(ids, []string{"b", "a"}) {
		t.Fatalf("ids %v", ids)
	}
	if _, err := m.Match([]byte(`[1]`)); err == nil {
		t.Fatal("non-object event accepted")
	}
	bad := []struct{ pattern, want string }{
		{`[1]`, "pattern: must be a JSON object"},
		{`{"source":"shop"}`, `pattern.source: must be a list of values (like ["shop"]) or a nested object`},
		{`{"source":[]}`, "pattern.source: empty list matches nothing"},
		{`{"detail":{"n":[{"numeric":[">",1]}]}}`, `pattern.detail.n[0]: operator "numeric" is not supported by the built-in matcher`},
		{`{"source":[{"prefix":1}]}`, "pattern.source[0].prefix: must be a string"},
		{`{"source":[{"exists":"yes"}]}`, "pattern.source[0].exists: must be true or false"},
		{`{"source":[{"prefix":"a","exists":true}]}`, "exactly one key"},
		{`{"source":[["a"]]}`, "pattern.source[0]: nested lists are not allowed"},
		{`{"source":`, "pattern: not valid JSON"},
		{`{"a":[1e999]}`, "pattern.a[0]: number 1e999 is out of range"},
	}
	for _, b := range bad {
		_, err := NewSimpleMatcher([]store.Rule{{ID: "r1", Pattern: json.RawMessage(b.pattern)}})
		if err == nil || !strings.Contains(err.Error(), b.want) || !strings.HasPrefix(err.Error(), `rule "r1": `) {
			t.Errorf("%s: err = %v; want it to name the rule and contain %q", b.pattern, err, b.want)
		}
	}
}

// FuzzSimplePattern: parsing never panics, and a pattern that compiles can
// be matched against any object without panicking.
func FuzzSimplePattern(f *testing.F) {
	for _, s := range []string{`{}`, `{"source":["a"]}`, `{"detail":{"n":[1,{"prefix":"x"},{"exists":false},null,true]}}`, `[1]`, `{"a":"b"}`} {
		f.Add(s, sampleEvent)
	}
	f.Fuzz(func(t *testing.T, pattern, event string) {
		m, err := NewSimpleMatcher([]store.Rule{{ID: "r", Pattern: json.RawMessage(pattern)}})
		if err != nil {
			return
		}
		ids, err := m.Match([]byte(event))
		if err == nil && len(ids) > 1 {
			t.Fatalf("one rule, %d matches", len(ids))
		}
	})
}
