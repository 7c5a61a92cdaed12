package oracle

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var corpusUpdate = flag.Bool("corpus.update", false, "rewrite ../testdata/oracle/corpus.jsonl from the oracle (needs the built oracle)")

// CorpusCase is one line of filter/testdata/oracle/corpus.jsonl: a pair,
// event-ruler's verdict on it, and evcli's (the same unless Class names a
// deliberate difference, COMPATIBILITY.md).
type CorpusCase struct {
	Pattern string  `json:"pattern"`
	Event   string  `json:"event"`
	Oracle  Outcome `json:"oracle"`
	Evcli   Outcome `json:"evcli"`
	Class   string  `json:"class,omitempty"`
	Note    string  `json:"note,omitempty"`
}

// pinned are the classes' examples, each with what it shows.
var pinned = []struct{ pattern, event, note string }{
	{`{"a":[{"anything-but":{"prefix":["us-","ap-"]}}]}`, `{"a":"ap-south-1"}`, "anything-but prefix list"},
	{`{"a":[{"anything-but":{"prefix":["us-","ap-"]}}]}`, `{"a":"eu-west-1"}`, "anything-but prefix list"},
	{`{"a":[{"anything-but":{"suffix":[".png",".jpg"]}}]}`, `{"a":"x.gif"}`, "anything-but suffix list"},
	{`{"a":["x"],"a":["y"]}`, `{"a":"y"}`, "repeated field: last wins"},
	{`{"a":["x"],"a":["y"]}`, `{"a":"x"}`, "repeated field: last wins"},
	{`{"a":{"b":["1"]},"a":{"c":["2"]}}`, `{"a":[{"b":"1"},{"c":"2"}]}`, "repeated object: merged, one element"},
	{`{"a":["x"],"$or":[{"a":["y"]},{"b":["z"]}]}`, `{"a":"y"}`, "field again in an $or branch overrides"},
	{`{"a":["x"],"$or":[{"a":["y"]},{"b":["z"]}]}`, `{"a":"x","b":"z"}`, "field again in an $or branch overrides"},
	{`{"$or":[{"numeric":[">",1]},{"prefix":"a"}]}`, `{"numeric":2}`, "$or branch with an operator name as field"},
	{`{"$or":[{"a":["1"]},{"b":{"prefix":["x"]}}]}`, `{"a":"1"}`, "$or branch with an operator name as nested field"},
	{`{"$or":[{"prefix":"a"},{"suffix":"b"}]}`, `{"$or":"ab"}`, "malformed $or: legacy compiler"},
	{`{"a":[{"cidr":"10.0.0.0"}]}`, `{"a":"10.0.0.0"}`, "cidr without mask"},
	{`{"a":[{"cidr":"10.0.0.0/32"}]}`, `{"a":"10.0.0.0"}`, "cidr /32 refused"},
	{`{"a":[{"cidr":"10.0.0.0/08"}]}`, `{"a":"10.1.0.0"}`, "cidr /08"},
	{`{"a":[{"cidr":"10.0.0.0/8"}]}`, `{"a":"::ffff:a00:1"}`, "IPv4-mapped IPv6, hex"},
	{`{"a":[{"cidr":"10.0.0.0/8"}]}`, `{"a":"::ffff:10.0.0.1"}`, "IPv4-mapped IPv6, dotted"},
	{`{"a":[{"cidr":"0.0.0.0/0"}]}`, `{"a":5}`, "cidr against a number"},
	{`{"a":[{"cidr":"::/0"}]}`, `{"a":"10.0.0.1"}`, "IPv6 /0 against IPv4"},
	{`{"a":["10.0.0.1"]}`, `{"a":"10.0.0.01"}`, "exact IP, other spelling"},
	{`{"a":["2001:DB8::1"]}`, `{"a":"2001:db8::1"}`, "exact IP, other spelling"},
	{`{"a":[9007199254740993]}`, `{"a":9007199254740992}`, "integer beyond 2^53"},
	{`{"a":[9007199254740993]}`, `{"a":9007199254740993}`, "integer beyond 2^53, same text"},
	{`{"a":[1]}`, `{"a":1.0}`, "number spellings"},
	{`{"a":[{"numeric":[">",0]}]}`, `{"a":9007199254740993}`, "event number beyond double precision in a range"},
	{`{"a":[9007199254740992]}`, `{"a":9007199254740993}`, "exact number beyond double precision"},
	{`{"a":[{"anything-but":9007199254740992}]}`, `{"a":9007199254740993}`, "anything-but number beyond double precision"},
	{`{"a":[{"numeric":[">",9007199254740993]}]}`, `{"a":1}`, "incomparable pattern number"},
	{`{"a":[{"numeric":["<",5e-324]}]}`, `{"a":0}`, "JDK Double.toString"},
	{`{"a":[{"numeric":[">",1.7976931348623157e308]}]}`, `{"a":0}`, "largest double"},
	{`{"a":[{"exists":false}]}`, `{"a":[{"b":1},{"c":2}]}`, "exists:false, array of objects"},
	{`{"a":{"b":[{"exists":false}]}}`, `{"a":[{"b":1},{"c":2}]}`, "lone exists:false under array of objects"},
	{`{"e":{"f":["A"],"g":[{"exists":false}]}}`, `{"e":[{"f":"A","g":1},{"f":"A"}]}`, "exists:false beside a selecting field"},
	{`{"a":{"b":[{"exists":false}],"c":[2]}}`, `{"a":[{"b":1},{"c":2}]}`, "exists:false sorting before the selecting field"},
	{`{"a":{"$or":[{"x":["q"]},{"c":[{"exists":false}]}]}}`, `{"a":[{},{"c":"2"}]}`, "lone exists:false in an $or branch under array of objects"},
	{`{"e":{"a":[{"exists":false}],"b":[{"exists":false},{"numeric":["=",5]}]}}`, `{"e":[{"a":"I"},{}]}`, "exists:false beside a field that matched by its own exists:false"},
	{`{"a":[{"equals-ignore-case":"ß"}]}`, `{"a":"SS"}`, "ignore case: ß"},
	{`{"a":[{"equals-ignore-case":"ß"}]}`, `{"a":"ss"}`, "ignore case: ß"},
	{`{"a":[{"equals-ignore-case":"ß"}]}`, `{"a":"ẞ"}`, "ignore case: ß"},
	{`{"a":[{"equals-ignore-case":"σ"}]}`, `{"a":"ς"}`, "ignore case: final sigma"},
	{`{"a":[{"equals-ignore-case":"ǅ"}]}`, `{"a":"ǆ"}`, "ignore case: title case"},
	{`{"a":[{"equals-ignore-case":"ǅ"}]}`, `{"a":"ǅ"}`, "ignore case: title case itself"},
	{`{"a":[{"equals-ignore-case":"k"}]}`, `{"a":"\u212a"}`, "ignore case: Kelvin sign"},
	{`{"a":[{"equals-ignore-case":"😀"}]}`, `{"a":"😀"}`, "ignore case: astral"},
	{`{"a":[{"equals-ignore-case":"𐐀"}]}`, `{"a":"𐐨"}`, "ignore case: astral pair"},
	{`{"a":[{"exactly":"x"}]}`, `{"a":"x"}`, "exactly"},
	{`{"a.b":["x"]}`, `{"a":{"b":"x"}}`, "dotted field name"},
	{`{"a":["x"]}`, `{"a":"y","a":"x"}`, "event repeats a member"},
	{`{"a":["x"]}`, `{"a":"x","a":"y"}`, "event repeats a member: the first matches"},
	{`{"a":[{"anything-but":"x"}]}`, `{"a":"x","a":"y"}`, "event repeats a member: anything-but"},
	{`{"a":{"b":["1"],"c":["2"]}}`, `{"a":{"b":"1"},"a":{"c":"2"}}`, "event repeats an object member: event-ruler merges"},
	{`{"a":["y"]}`, `{"a":"x","b":{"c":[1,2,3]},"a":"y"}`, "event repeats a member after the rest"},
	{`{"a":{"b":["2"]}}`, `{"a":[{"b":"1"}],"a":{"b":"2"}}`, "event repeats a member: array, then object"},
	{`{"a":[{"exists":false}]}`, `{"b":1,"b":2}`, "event repeats a member the pattern does not name"},
	{`{"d":[{"wildcard":"*b"},{"equals-ignore-case":"x"}]}`, `{"d":"C"}`, "candidates interfere"},
}

func TestCorpus(t *testing.T) {
	if !*corpusUpdate {
		t.Skip("rewrites the corpus; give -corpus.update")
	}
	o := startOracle(t)
	g := NewGen(20261207)
	type item struct {
		p, e *J
		note string
	}
	var items []item
	for _, c := range pinned {
		p, err1 := ParseJ(c.pattern)
		e, err2 := ParseJ(c.event)
		if err1 != nil || err2 != nil {
			t.Fatalf("pinned %s %s: %v %v", c.pattern, c.event, err1, err2)
		}
		items = append(items, item{p, e, c.note})
	}
	// 2,000 generated pairs, the short ones (the file stays small).
	for i, n := 0, 0; n < 2000; i++ {
		p := g.Pattern()
		e := g.Event()
		if i%3 != 0 {
			e = g.EventFor(p)
		}
		if len(p.String())+len(e.String()) > 200 {
			continue
		}
		items = append(items, item{p, e, ""})
		n++
	}
	pairs := make([]Pair, len(items))
	for i, it := range items {
		pairs[i] = Pair{it.p.String(), it.e.String()}
	}
	verdicts := o.EvalAll(pairs)
	var b strings.Builder
	for i, v := range verdicts {
		ev, _ := Evcli(pairs[i].Pattern, pairs[i].Event)
		c := CorpusCase{Pattern: pairs[i].Pattern, Event: pairs[i].Event, Oracle: v.Outcome, Evcli: ev, Note: items[i].note}
		if v.Outcome == Hang {
			continue
		}
		if ev != v.Outcome {
			c.Class = Classify(o, Disagreement{Pattern: c.Pattern, Event: c.Event, Evcli: ev, Oracle: v.Outcome, OracleErr: v.Err}, v)
			if !Deliberate(c.Class) {
				t.Errorf("unexplained disagreement, not written: %s %s: %s", c.Pattern, c.Event, c.Class)
				continue
			}
		}
		line, _ := json.Marshal(c)
		b.Write(line)
		b.WriteByte('\n')
	}
	dir := filepath.Join("..", "testdata", "oracle")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "corpus.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
