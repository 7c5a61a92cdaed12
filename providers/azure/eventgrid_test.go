package azure

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/azure/aztest"
)

// TestTranslate pins the filter each kind of pattern becomes, and the
// operators Event Grid cannot enforce.
func TestTranslate(t *testing.T) {
	cases := []struct {
		name, pattern string
		filter        string   // the Filter as JSON
		refused       []string // "path: operator" of each unenforceable part
	}{
		{"exact detail-type is includedEventTypes",
			`{"detail-type":["OrderPlaced","OrderPaid"]}`,
			`{"includedEventTypes":["OrderPlaced","OrderPaid"],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"exact source is StringIn",
			`{"source":["ct.shop","ct.other"]}`,
			`{"advancedFilters":[{"operatorType":"StringIn","key":"source","values":["ct.shop","ct.other"]}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"prefix on detail-type is StringBeginsWith on type",
			`{"detail-type":[{"prefix":"Order"}]}`,
			`{"advancedFilters":[{"operatorType":"StringBeginsWith","key":"type","values":["Order"]}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"suffix and equals-ignore-case",
			`{"detail":{"file":[{"suffix":".png"},{"suffix":{"equals-ignore-case":".JPG"}}],"user":[{"equals-ignore-case":"Ana"}]}}`,
			`{"advancedFilters":[{"operatorType":"StringEndsWith","key":"data.file","values":[".png",".JPG"]},{"operatorType":"StringIn","key":"data.user","values":["Ana"]}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"nested detail paths",
			`{"detail":{"order":{"customer":{"tier":["gold"]}}}}`,
			`{"advancedFilters":[{"operatorType":"StringIn","key":"data.order.customer.tier","values":["gold"]}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"exact numbers are NumberIn",
			`{"detail":{"n":[1,2.5]}}`,
			`{"advancedFilters":[{"operatorType":"NumberIn","key":"data.n","values":[1,2.5]}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"one numeric matcher is a filter per comparison",
			`{"detail":{"amount":[{"numeric":[">",100,"<=",500]}]}}`,
			`{"advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.amount","value":100},{"operatorType":"NumberLessThanOrEquals","key":"data.amount","value":500}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"numeric alternatives are NumberInRange",
			`{"detail":{"n":[{"numeric":[">=",0,"<=",9]},{"numeric":["=",42]}]}}`,
			`{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.n","values":[[0,9],[42,42]]}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"booleans, null and exists",
			`{"detail":{"ok":[true],"gone":[null],"there":[{"exists":true}],"absent":[{"exists":false}]}}`,
			`{"advancedFilters":[{"operatorType":"IsNullOrUndefined","key":"data.absent"},{"operatorType":"IsNullOrUndefined","key":"data.gone"},{"operatorType":"BoolEquals","key":"data.ok","value":true},{"operatorType":"IsNotNull","key":"data.there"}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"anything-but of strings, numbers, a prefix, a suffix",
			`{"detail-type":[{"anything-but":["OrderPaid"]}],"detail":{"n":[{"anything-but":[1,2]}],"p":[{"anything-but":{"prefix":"tmp"}}],"s":[{"anything-but":{"suffix":".bak"}}]}}`,
			`{"advancedFilters":[{"operatorType":"NumberNotIn","key":"data.n","values":[1,2]},{"operatorType":"StringNotBeginsWith","key":"data.p","values":["tmp"]},{"operatorType":"StringNotEndsWith","key":"data.s","values":[".bak"]},{"operatorType":"StringNotIn","key":"type","values":["OrderPaid"]}],"enableAdvancedFilteringOnArrays":true}`, nil},
		{"id is a key", `{"id":["e-1"]}`,
			`{"advancedFilters":[{"operatorType":"StringIn","key":"id","values":["e-1"]}],"enableAdvancedFilteringOnArrays":true}`, nil},

		{"wildcard is refused", `{"source":["ct.shop"],"detail":{"path":[{"wildcard":"a/*/b"}]}}`,
			`{"advancedFilters":[{"operatorType":"StringIn","key":"source","values":["ct.shop"]}],"enableAdvancedFilteringOnArrays":true}`,
			[]string{"detail.path: wildcard"}},
		{"cidr is refused", `{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`,
			`{"enableAdvancedFilteringOnArrays":true}`, []string{"detail.ip: cidr"}},
		{"$or is refused", `{"$or":[{"source":["a"]},{"detail-type":["b"]}]}`,
			`{"enableAdvancedFilteringOnArrays":true}`, []string{"$or: $or"}},
		{"nested $or is refused", `{"detail":{"$or":[{"a":["x"]},{"b":["y"]}]}}`,
			`{"enableAdvancedFilteringOnArrays":true}`, []string{"detail.$or: $or"}},
		{"mixed operators on one field are refused", `{"source":["a",{"prefix":"b"}]}`,
			`{"enableAdvancedFilteringOnArrays":true}`, []string{"source: exact string | prefix"}},
		{"exclusive bounds among alternatives are refused", `{"detail":{"n":[{"numeric":[">",0,"<",5]},{"numeric":["=",9]}]}}`,
			`{"enableAdvancedFilteringOnArrays":true}`, []string{"detail.n: numeric"}},
		{"anything-but wildcard is refused", `{"source":[{"anything-but":{"wildcard":"*.x"}}]}`,
			`{"enableAdvancedFilteringOnArrays":true}`, []string{"source: anything-but wildcard"}},
		{"members a CloudEvent lacks are refused", `{"account":["123"],"region":["eu"]}`,
			`{"enableAdvancedFilteringOnArrays":true}`, []string{"account: field", "region: field"}},
		{"a field name with a dot is refused", `{"detail":{"a.b":["x"]}}`,
			`{"enableAdvancedFilteringOnArrays":true}`, []string{"detail.a.b: field"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := Translate([]byte(c.pattern))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(tr.Filter)
			if string(got) != c.filter {
				t.Errorf("filter\n got %s\nwant %s", got, c.filter)
			}
			var refused []string
			for _, p := range tr.Unenforceable {
				refused = append(refused, p.Path+": "+p.Operator)
			}
			if !slices.Equal(refused, c.refused) {
				t.Errorf("unenforceable = %q, want %q", refused, c.refused)
			}
			if tr.Enforceable() != (len(c.refused) == 0) {
				t.Errorf("Enforceable() = %v with %d refused parts", tr.Enforceable(), len(c.refused))
			}
		})
	}
}

// TestTranslateLimits refuses patterns over Event Grid's 25 filters, 25
// values and 512-character strings.
func TestTranslateLimits(t *testing.T) {
	var fields, values []string
	for i := range 26 {
		fields = append(fields, `"f`+string(rune('a'+i%26))+strings.Repeat("x", i/26)+string(rune('0'+i%10))+`":["v"]`)
		values = append(values, `"v`+string(rune('a'+i%26))+`"`)
	}
	for _, c := range []struct{ name, pattern, why string }{
		{"26 filters", `{"detail":{` + strings.Join(fields, ",") + `}}`, "26 advanced filters"},
		{"26 values", `{"source":[` + strings.Join(values, ",") + `]}`, "26 values"},
		{"a 513-character string", `{"source":["` + strings.Repeat("s", 513) + `"]}`, "513 characters"},
	} {
		tr, err := Translate([]byte(c.pattern))
		if err != nil {
			t.Fatal(err)
		}
		if tr.Enforceable() || !slices.ContainsFunc(tr.Unenforceable, func(p Problem) bool { return strings.Contains(p.Why, c.why) }) {
			t.Errorf("%s: unenforceable = %v, want a limit naming %q", c.name, tr.Unenforceable, c.why)
		}
		if g := tr.Guarded(); len(g.AdvancedFilters) != 0 {
			t.Errorf("%s: the guarded filter keeps %d advanced filters over the limit", c.name, len(g.AdvancedFilters))
		}
	}
}

// TestSemantics evaluates each pattern on events twice: as EventBridge
// does (package filter, on the envelope) and as Event Grid does (the
// translated filter on the CloudEvent, with aztest.Match, which is
// eventgridfilter.Match, Event Grid's documented semantics, also what
// filter test --target azure evaluates with). Where they differ the row says
// why, and the translation must say so too (Wider or Narrower).
func TestSemantics(t *testing.T) {
	ev := func(detailType, detail string) providers.Event {
		return providers.Event{Source: "ct.shop", DetailType: detailType, Detail: json.RawMessage(detail), ID: "e-1",
			Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	}
	cases := []struct {
		pattern                string
		event                  providers.Event
		eventBridge, eventGrid bool
		differs                string // "" or the Wider/Narrower note it must carry
	}{
		{`{"detail-type":["OrderPaid"]}`, ev("OrderPaid", `{}`), true, true, ""},
		{`{"detail-type":["OrderPaid"]}`, ev("ORDERPAID", `{}`), false, true, "without case"},
		{`{"detail-type":["OrderPaid"]}`, ev("OrderPlaced", `{}`), false, false, ""},
		{`{"source":["ct.shop"]}`, ev("X", `{}`), true, true, ""},
		{`{"detail":{"user":[{"equals-ignore-case":"ANA"}]}}`, ev("X", `{"user":"ana"}`), true, true, ""},
		{`{"detail":{"user":[{"equals-ignore-case":"ANA"}]}}`, ev("X", `{"user":"bob"}`), false, false, ""},
		{`{"detail-type":[{"prefix":"Order"}]}`, ev("OrderPaid", `{}`), true, true, ""},
		{`{"detail-type":[{"prefix":"Order"}]}`, ev("orderPaid", `{}`), false, true, "without case"},
		{`{"detail":{"file":[{"suffix":".png"}]}}`, ev("X", `{"file":"a.png"}`), true, true, ""},
		{`{"detail":{"amount":[{"numeric":[">",100]}]}}`, ev("X", `{"amount":150}`), true, true, ""},
		{`{"detail":{"amount":[{"numeric":[">",100]}]}}`, ev("X", `{"amount":100}`), false, false, ""},
		{`{"detail":{"amount":[{"numeric":[">",100]}]}}`, ev("X", `{"amount":"lots"}`), false, false, ""},
		{`{"detail":{"amount":[{"numeric":[">",100]}]}}`, ev("X", `{}`), false, false, ""},
		{`{"detail":{"n":[{"numeric":[">=",0,"<=",9]},{"numeric":["=",42]}]}}`, ev("X", `{"n":42}`), true, true, ""},
		{`{"detail":{"n":[{"numeric":[">=",0,"<=",9]},{"numeric":["=",42]}]}}`, ev("X", `{"n":9}`), true, true, ""},
		{`{"detail":{"n":[{"numeric":[">=",0,"<=",9]},{"numeric":["=",42]}]}}`, ev("X", `{"n":10}`), false, false, ""},
		{`{"detail":{"ok":[true]}}`, ev("X", `{"ok":true}`), true, true, ""},
		{`{"detail":{"ok":[true]}}`, ev("X", `{"ok":"true"}`), false, false, ""},
		{`{"detail":{"tags":["red"]}}`, ev("X", `{"tags":["blue","red"]}`), true, true, ""},
		{`{"detail":{"tags":["red"]}}`, ev("X", `{"tags":["blue"]}`), false, false, ""},
		{`{"detail":{"gone":[null]}}`, ev("X", `{"gone":null}`), true, true, ""},
		{`{"detail":{"gone":[null]}}`, ev("X", `{}`), false, true, "missing key"},
		{`{"detail":{"there":[{"exists":true}]}}`, ev("X", `{"there":1}`), true, true, ""},
		{`{"detail":{"there":[{"exists":true}]}}`, ev("X", `{}`), false, false, ""},
		{`{"detail":{"there":[{"exists":true}]}}`, ev("X", `{"there":null}`), true, false, "null value"},
		{`{"detail":{"absent":[{"exists":false}]}}`, ev("X", `{}`), true, true, ""},
		{`{"detail":{"absent":[{"exists":false}]}}`, ev("X", `{"absent":null}`), false, true, "null value too"},
		{`{"detail-type":[{"anything-but":["OrderPaid"]}]}`, ev("Refund", `{}`), true, true, ""},
		{`{"detail-type":[{"anything-but":["OrderPaid"]}]}`, ev("OrderPaid", `{}`), false, false, ""},
		{`{"detail-type":[{"anything-but":["OrderPaid"]}]}`, ev("orderpaid", `{}`), true, false, "without case"},
		{`{"detail":{"tags":[{"anything-but":["red"]}]}}`, ev("X", `{"tags":["red","blue"]}`), true, false, "any array element"},
		{`{"detail":{"tags":[{"anything-but":["red"]}]}}`, ev("X", `{}`), false, true, "without the key"},
		{`{"detail":{"p":[{"anything-but":{"prefix":"tmp"}}]}}`, ev("X", `{"p":"tmp/1"}`), false, false, ""},
		{`{"detail":{"p":[{"anything-but":{"prefix":"tmp"}}]}}`, ev("X", `{"p":"var/1"}`), true, true, ""},
		{`{"detail":{"n":[{"anything-but":[1,2]}]}}`, ev("X", `{"n":3}`), true, true, ""},
		{`{"detail":{"n":[{"anything-but":[1,2]}]}}`, ev("X", `{"n":2}`), false, false, ""},
	}
	for _, c := range cases {
		env, _ := json.Marshal(c.event)
		eb, err := filter.MustParse(c.pattern).Match(env)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		tr, err := Translate([]byte(c.pattern))
		if err != nil || !tr.Enforceable() {
			t.Fatalf("%s: %v %v", c.pattern, err, tr.Unenforceable)
		}
		ce, err := ToCloudEvent(c.event, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ceJSON, _ := json.Marshal(ce)
		f, _ := json.Marshal(tr.Filter)
		eg, err := aztest.Match(f, ceJSON)
		if err != nil {
			t.Fatal(err)
		}
		if eb != c.eventBridge || eg != c.eventGrid {
			t.Errorf("%s on %s %s: EventBridge %v, Event Grid %v; the table says %v, %v", c.pattern, c.event.DetailType, c.event.Detail, eb, eg, c.eventBridge, c.eventGrid)
		}
		if (eb != eg) != (c.differs != "") {
			t.Errorf("%s: differs = %q but EventBridge %v, Event Grid %v", c.pattern, c.differs, eb, eg)
		}
		if c.differs != "" {
			notes := tr.Wider
			if eb && !eg {
				notes = tr.Narrower
			}
			if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, c.differs) }) {
				t.Errorf("%s: Event Grid differs (%s) but the translation's notes do not say so: wider %q, narrower %q", c.pattern, c.differs, tr.Wider, tr.Narrower)
			}
		}
	}
}

// TestGuarded leaves the unenforceable fields out of the filter and keeps
// the rest.
func TestGuarded(t *testing.T) {
	tr, err := Translate([]byte(`{"source":["ct.shop"],"detail-type":["A"],"detail":{"ip":[{"cidr":"10.0.0.0/8"}],"n":[1]}}`))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(tr.Guarded())
	want := `{"includedEventTypes":["A"],"advancedFilters":[{"operatorType":"NumberIn","key":"data.n","values":[1]},{"operatorType":"StringIn","key":"source","values":["ct.shop"]}],"enableAdvancedFilteringOnArrays":true}`
	if string(g) != want {
		t.Errorf("Guarded() = %s, want %s", g, want)
	}
}

// TestCheckPatterns refuses unenforceable patterns at their place in the
// project file, naming the operator, as Unsupported (exit 2).
func TestCheckPatterns(t *testing.T) {
	refs := []PatternRef{
		{Function: "orders", Index: 0, Pattern: []byte(`{"source":["ct.shop"]}`), File: "evcli.yaml", Line: 7, Col: 9},
		{Function: "audit", Index: 0, Pattern: []byte(`{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`), File: "evcli.yaml", Line: 12, Col: 11},
	}
	err := CheckPatterns(refs, false)
	var pe *providers.Error
	if providers.CodeOf(err) != providers.Unsupported || !errors.As(err, &pe) {
		t.Fatalf("CheckPatterns = %v (code %v), want Unsupported", err, providers.CodeOf(err))
	}
	if want := "evcli.yaml:12:11: functions.audit.events[0] detail.ip: Event Grid cannot enforce cidr"; !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "orders") {
		t.Errorf("CheckPatterns = %q, want one line starting %q", err, want)
	}
	if !strings.Contains(pe.Hint, EnvGuard+"=in-function") {
		t.Errorf("hint %q does not name the guard", pe.Hint)
	}
	if err := CheckPatterns(refs, true); err != nil {
		t.Errorf("with the guard opted into, CheckPatterns = %v", err)
	}
	bad := []PatternRef{{Function: "x", Index: 2, Pattern: []byte(`{"source":`)}}
	if err := CheckPatterns(bad, true); providers.CodeOf(err) != providers.InvalidArgument || !strings.HasPrefix(err.Error(), "evcli.yaml: functions.x.events[2]: ") {
		t.Errorf("CheckPatterns of a broken pattern = %v", err)
	}
}

// FuzzTranslate: any input either is refused as not an object or
// translates without panicking into a filter within Event Grid's limits
// (or says which limit it is over).
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{`{"source":["a"]}`, `{"detail":{"n":[{"numeric":[">",1,"<",2]}]}}`, `{"$or":[{}]}`,
		`{"detail-type":[{"anything-but":{"prefix":"x"}}]}`, `{"detail":{"a":{"b":[null,true]}}}`, `[]`, `{"detail":[1]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := Translate([]byte(s))
		if err != nil {
			return
		}
		b, err := json.Marshal(tr.Filter)
		if err != nil {
			t.Fatalf("the filter does not marshal: %v", err)
		}
		if tr.Enforceable() {
			if n := len(tr.Filter.AdvancedFilters); n > MaxAdvancedFilters {
				t.Fatalf("an enforceable translation with %d filters: %s", n, b)
			}
		}
		if _, err := aztest.Match(b, []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{}}`)); err != nil {
			t.Fatalf("Match on the translated filter: %v (%s)", err, b)
		}
	})
}

// TestDescribe: filter test --target azure's lines: the filter, the
// points where Event Grid differs, what it cannot enforce.
func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		pattern string
		says    []string
	}{
		{`{"detail-type":["OrderPlaced"],"detail":{"amount":[{"numeric":[">",100]}]}}`,
			[]string{`Event Grid filter: {"includedEventTypes":["OrderPlaced"]`, `"operatorType":"NumberGreaterThan","key":"data.amount"`}},
		{`{"detail":{"status":["paid"]}}`,
			[]string{`"operatorType":"StringIn"`, "delivers more than the pattern matches"}},
		{`{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`,
			[]string{"cannot enforce detail.ip: cidr", EnvGuard + "=in-function"}},
	} {
		lines, err := Describe([]byte(c.pattern))
		if err != nil {
			t.Fatalf("Describe(%s): %v", c.pattern, err)
		}
		all := strings.Join(lines, "\n")
		for _, s := range c.says {
			if !strings.Contains(all, s) {
				t.Errorf("Describe(%s) =\n%s\nwant it to say %q", c.pattern, all, s)
			}
		}
	}
	if _, err := Describe([]byte(`{"detail":`)); err == nil {
		t.Error("Describe of a broken pattern did not fail")
	}
}
