package filter

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./filter -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update if intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// TestExplain renders explanations for the kinds of failure the command
// shows: wrong value, missing field, wrong type, object instead of a value,
// exists:false violated, array elements not combined, and $or branches.
func TestExplain(t *testing.T) {
	pattern := MustParse(`{
	  "source": ["shop.orders"],
	  "detail-type": [{"prefix": "Order"}],
	  "detail": {
	    "total": [{"numeric": [">", 100]}],
	    "currency": ["EUR", "USD"],
	    "coupon": [{"exists": false}],
	    "customer": {"tier": ["gold"]},
	    "items": {"sku": ["B"], "qty": [{"numeric": [">=", 2]}]},
	    "$or": [{"channel": ["web"]}, {"channel": ["app"], "version": [{"numeric": [">=", 3]}]}]
	  }
	}`)
	events := []string{
		`{"source":"shop.orders","detail-type":"OrderPlaced","detail":{"total":250,"currency":"EUR","customer":{"tier":"gold"},"items":[{"sku":"A","qty":5},{"sku":"B","qty":2}],"channel":"app","version":3}}`,
		`{"source":"shop.Orders","detail-type":"PaymentFailed","detail":{"total":"250","currency":["GBP","JPY"],"coupon":"X1","customer":"gold","items":[{"sku":"B","qty":1},{"sku":"A","qty":3}],"channel":"app","version":2}}`,
		`{"source":"shop.orders","detail-type":"OrderPlaced","detail":{"total":{"amount":250},"customer":{},"items":[],"channel":"email"}}`,
		`{"detail-type":"Order"}`,
	}
	var b strings.Builder
	for i, ev := range events {
		ex, err := pattern.Explain([]byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		ok, _ := pattern.Match([]byte(ev))
		if ex.Match != ok {
			t.Fatalf("event %d: Explain says %v, Match %v", i, ex.Match, ok)
		}
		b.WriteString("event " + ev + "\n" + ex.String())
		b.WriteString("summary: " + ex.Summary() + "\n")
		if i == 1 {
			js, err := json.MarshalIndent(ex, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("json: " + string(js) + "\n")
		}
		b.WriteString("\n")
	}
	golden(t, "explain", b.String())
}
