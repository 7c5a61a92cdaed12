package gcp

import (
	"slices"
	"testing"
)

func TestTranslate(t *testing.T) {
	cases := []struct {
		pattern, filter string
		guarded         []string
	}{
		{`{"source":["ct.shop"],"detail-type":[{"prefix":"Order"}]}`,
			`hasPrefix(attributes.ce-type, "Order") AND attributes.ce-source = "ct.shop"`, nil},
		{`{"source":["a","b"]}`, `(attributes.ce-source = "a" OR attributes.ce-source = "b")`, nil},
		{`{"source":["ct.shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`,
			`attributes.ce-source = "ct.shop"`, []string{"detail.amount: numeric"}},
		{`{"detail-type":[{"anything-but":["OrderPaid","X"]}]}`,
			`(NOT attributes.ce-type = "OrderPaid" AND NOT attributes.ce-type = "X")`, nil},
		{`{"detail-type":[{"anything-but":{"prefix":"Ord"}}],"source":[{"exists":true}]}`,
			`NOT hasPrefix(attributes.ce-type, "Ord") AND attributes:ce-source`, nil},
		{`{"source":[{"suffix":".shop"}]}`, ``, []string{"source: suffix"}},
		{`{"source":["a\"b"]}`, `attributes.ce-source = "a\"b"`, nil},
	}
	for _, c := range cases {
		tr, err := Translate([]byte(c.pattern))
		if err != nil {
			t.Errorf("Translate(%s): %v", c.pattern, err)
			continue
		}
		if tr.Filter != c.filter || !slices.Equal(tr.Guarded, c.guarded) {
			t.Errorf("Translate(%s) = %q guarded %q, want %q guarded %q", c.pattern, tr.Filter, tr.Guarded, c.filter, c.guarded)
		}
	}
}
