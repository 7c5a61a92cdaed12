package gcp

import (
	"regexp"
	"strings"
	"testing"
)

var reFunctionID = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func TestFunctionIDIsACloudFunctionsIDThatCarriesTheProject(t *testing.T) {
	seen := map[string]string{}
	for _, c := range []struct{ project, fn, prefix string }{
		{"shop", "orders", "shop-orders"},
		{"shop", "Orders_API", "shop-orders-api-"},
		{"shop", "orders.v2", "shop-orders-v2-"},
		{"9lives", "cat", "f-9lives-cat-"},
		{"shop", strings.Repeat("x", 80), "shop-xxxx"},
		{"Shop", "orders", "shop-orders-"},
	} {
		id := FunctionID(c.project, c.fn)
		if !reFunctionID.MatchString(id) || len(id) > 63 || !strings.HasPrefix(id, c.prefix) {
			t.Errorf("FunctionID(%q, %q) = %q: want a Cloud Functions id starting %q", c.project, c.fn, id, c.prefix)
		}
		if FunctionID(c.project, c.fn) != id {
			t.Errorf("FunctionID(%q, %q) is not stable", c.project, c.fn)
		}
		if prev, ok := seen[id]; ok {
			t.Errorf("FunctionID(%q, %q) = %q, as for %s", c.project, c.fn, id, prev)
		}
		seen[id] = c.project + "/" + c.fn
	}
	if got := LabelValue("Shop.Orders"); got == "Shop.Orders" || len(got) > 63 || strings.ContainsAny(got, "S.") {
		t.Errorf("LabelValue = %q", got)
	}
}

func TestSourceLabelRoundTrips(t *testing.T) {
	sha := "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
	l := sourceLabel(sha)
	if len(l) > 63 || LabelValue(l) != l {
		t.Fatalf("sourceLabel = %q: not a label value", l)
	}
	if codeSha256(l) != sha {
		t.Errorf("codeSha256(sourceLabel(%s)) = %s", sha, codeSha256(l))
	}
}

func TestMemoryMB(t *testing.T) {
	for in, want := range map[string]int{"256M": 256, "256Mi": 256, "1Gi": 1024, "2G": 2048, "134217728": 128, "bad": 0} {
		if got := memoryMB(in); got != want {
			t.Errorf("memoryMB(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestTopicID(t *testing.T) {
	for bus, want := range map[string]string{"": "evcli-default", "default": "evcli-default", "shop-bus": "shop-bus"} {
		if got := TopicID("shop", bus); got != want {
			t.Errorf("TopicID(shop, %q) = %q, want %q", bus, got, want)
		}
	}
}
