package filter

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

type matchCase struct {
	name    string
	pattern string
	event   string
	want    bool
}

var matchCases = []matchCase{
	// Structure: AND across fields, OR within arrays, unnamed fields ignored.
	{"and both", `{"source":["a"],"detail-type":["t"]}`, `{"source":"a","detail-type":"t","x":1}`, true},
	{"and one fails", `{"source":["a"],"detail-type":["t"]}`, `{"source":"a","detail-type":"u"}`, false},
	{"or within array", `{"source":["a","b","c"]}`, `{"source":"b"}`, true},
	{"or within array none", `{"source":["a","b"]}`, `{"source":"z"}`, false},
	{"missing field", `{"source":["a"]}`, `{"detail":{}}`, false},
	{"nested", `{"detail":{"state":["running"]}}`, `{"detail":{"state":"running","other":{"x":1}}}`, true},
	{"nested deep", `{"a":{"b":{"c":{"d":[1]}}}}`, `{"a":{"b":{"c":{"d":1}}}}`, true},
	{"names case sensitive", `{"Source":["a"]}`, `{"source":"a"}`, false},
	{"values case sensitive", `{"source":["A"]}`, `{"source":"a"}`, false},
	{"leaf never matches object", `{"detail":["x"]}`, `{"detail":{"x":1}}`, false},
	{"nested never matches scalar", `{"detail":{"x":[1]}}`, `{"detail":"x"}`, false},
	{"nested never matches array of scalars", `{"detail":{"x":[1]}}`, `{"detail":[1,2]}`, false},
	{"json escapes decoded", `{"s":["a\"b/é"]}`, `{"s":"a\u0022b\/\u00e9"}`, true},
	{"escaped member name", `{"ké":["v"]}`, `{"k\u00e9":"v"}`, true},
	{"surrogate pair", `{"s":["😀"]}`, `{"s":"\ud83d\ude00"}`, true},
	{"null literal", `{"x":[null]}`, `{"x":null}`, true},
	{"null is not string null", `{"x":[null]}`, `{"x":"null"}`, false},
	{"null is not missing", `{"x":[null]}`, `{}`, false},
	{"true literal", `{"x":[true]}`, `{"x":true}`, true},
	{"true is not string", `{"x":[true]}`, `{"x":"true"}`, false},
	{"false is not null", `{"x":[false]}`, `{"x":null}`, false},
	{"empty string", `{"x":[""]}`, `{"x":""}`, true},
	{"empty string is not null", `{"x":[""]}`, `{"x":null}`, false},
	{"empty string is not missing", `{"x":[""]}`, `{}`, false},
	{"string never matches number", `{"x":["5"]}`, `{"x":5}`, false},
	{"number never matches string", `{"x":[5]}`, `{"x":"5"}`, false},
	{"number by value", `{"x":[3]}`, `{"x":3.0}`, true},
	{"number by value exp", `{"x":[3]}`, `{"x":3e0}`, true},
	{"number by value 30e-1", `{"x":[30e-1]}`, `{"x":3}`, true},
	{"negative zero", `{"x":[0]}`, `{"x":-0}`, true},
	{"event array any element", `{"r":["b"]}`, `{"r":["a","b"]}`, true},
	{"event array none", `{"r":["c"]}`, `{"r":["a","b"]}`, false},
	{"event nested array flattened", `{"r":["c"]}`, `{"r":[["a"],["b",["c"]]]}`, true},
	{"event empty array", `{"r":["c"]}`, `{"r":[]}`, false},
	{"array of objects", `{"e":{"n":["Anna"]}}`, `{"e":[{"n":"John"},{"n":"Anna"}]}`, true},
	{"array of objects same element", `{"e":{"f":["Anna"],"l":["Smith"]}}`, `{"e":[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}]}`, true},
	{"array of objects not combined", `{"e":{"f":["Anna"],"l":["Doe"]}}`, `{"e":[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}]}`, false},
	{"nested arrays of objects", `{"e":{"f":["Anna"],"l":["Smith"]}}`, `{"e":[[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}],[{"f":"P","l":"J"}]]}`, true},
	{"nested arrays of objects not combined", `{"e":{"f":["Anna"],"l":["J"]}}`, `{"e":[[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}],[{"f":"P","l":"J"}]]}`, false},
	{"deep arrays consistent", `{"a":{"b":{"c":[1],"d":[2]}}}`, `{"a":[{"b":[{"c":1,"d":9},{"c":9,"d":2}]},{"b":[{"c":1,"d":2}]}]}`, true},
	{"deep arrays inconsistent", `{"a":{"b":{"c":[1],"d":[2]}}}`, `{"a":[{"b":[{"c":1,"d":9},{"c":9,"d":2}]},{"b":[{"c":1}]}]}`, false},
	{"arrays different fields independent", `{"a":{"x":[1]},"b":{"y":[2]}}`, `{"a":[{"x":0},{"x":1}],"b":[{"y":2},{"y":0}]}`, true},
	{"array element and outer field", `{"a":{"x":[1],"z":{"w":[3]}}}`, `{"a":[{"x":1,"z":[{"w":2}]},{"x":2,"z":[{"w":3}]}]}`, false},
	{"array element and inner array", `{"a":{"x":[1],"z":{"w":[3]}}}`, `{"a":[{"x":1,"z":[{"w":2},{"w":3}]},{"x":2}]}`, true},
	{"duplicate member first wins", `{"x":["a"]}`, `{"x":"a","x":"b"}`, true},
	{"duplicate member later ignored", `{"x":["b"]}`, `{"x":"a","x":"b"}`, false},

	// $or
	{"or first", `{"$or":[{"a":[1]},{"b":[2]}]}`, `{"a":1}`, true},
	{"or second", `{"$or":[{"a":[1]},{"b":[2]}]}`, `{"b":2}`, true},
	{"or none", `{"$or":[{"a":[1]},{"b":[2]}]}`, `{"a":2,"b":1}`, false},
	{"or with and", `{"s":["x"],"$or":[{"a":[1]},{"b":[2]}]}`, `{"s":"y","a":1}`, false},
	{"or nested", `{"d":{"$or":[{"a":[1]},{"b":[2],"$or":[{"c":[3]},{"e":[4]}]}]}}`, `{"d":{"b":2,"e":4}}`, true},
	{"or nested fails", `{"d":{"$or":[{"a":[1]},{"b":[2],"$or":[{"c":[3]},{"e":[4]}]}]}}`, `{"d":{"b":2,"e":5}}`, false},
	{"parallel or", `{"$or":[{"a":[1]},{"b":[2]}],"d":{"$or":[{"c":[3]},{"e":[4]}]}}`, `{"b":2,"d":{"c":3}}`, true},
	{"parallel or one fails", `{"$or":[{"a":[1]},{"b":[2]}],"d":{"$or":[{"c":[3]},{"e":[4]}]}}`, `{"b":2,"d":{"c":4}}`, false},
	{"or in array of objects", `{"e":{"$or":[{"f":["Anna"]},{"l":["Doe"]}],"g":[1]}}`, `{"e":[{"f":"Anna","g":0},{"l":"Doe","g":1}]}`, true},
	{"or in array of objects not combined", `{"e":{"$or":[{"f":["Anna"]},{"l":["Doe"]}],"g":[1]}}`, `{"e":[{"f":"Anna","g":0},{"l":"Do","g":1}]}`, false},

	// prefix / suffix
	{"prefix", `{"t":[{"prefix":"2017-10-02"}]}`, `{"t":"2017-10-02T18:43:48Z"}`, true},
	{"prefix no", `{"t":[{"prefix":"2017-10-02"}]}`, `{"t":"2017-10-03"}`, false},
	{"prefix not on numbers", `{"t":[{"prefix":"12"}]}`, `{"t":123}`, false},
	{"prefix empty matches any string", `{"t":[{"prefix":""}]}`, `{"t":"x"}`, true},
	{"prefix ignore case", `{"t":[{"prefix":{"equals-ignore-case":"EventB"}}]}`, `{"t":"eventbridge"}`, true},
	{"prefix ignore case no", `{"t":[{"prefix":{"equals-ignore-case":"EventB"}}]}`, `{"t":"event"}`, false},
	{"suffix", `{"f":[{"suffix":".png"}]}`, `{"f":"a.png"}`, true},
	{"suffix no", `{"f":[{"suffix":".png"}]}`, `{"f":"a.PNG"}`, false},
	{"suffix ignore case", `{"f":[{"suffix":{"equals-ignore-case":".png"}}]}`, `{"f":"a.PNG"}`, true},

	// equals-ignore-case (Unicode)
	{"eic ascii", `{"s":[{"equals-ignore-case":"alice"}]}`, `{"s":"ALICE"}`, true},
	// equals-ignore-case per character, Java's lower or upper case (as
	// event-ruler): final sigma is neither of Σ's (COMPATIBILITY.md).
	{"eic greek final sigma", `{"s":[{"equals-ignore-case":"ΣΊΣΥΦΟΣ"}]}`, `{"s":"σίσυφος"}`, false},
	{"eic greek", `{"s":[{"equals-ignore-case":"ΣΊΣΥΦΟΣ"}]}`, `{"s":"σίσυφοσ"}`, true},
	{"eic sharp s upper", `{"s":[{"equals-ignore-case":"straße"}]}`, `{"s":"STRASSE"}`, true},
	{"eic sharp s lower", `{"s":[{"equals-ignore-case":"straße"}]}`, `{"s":"strasse"}`, false},
	{"eic capital sharp s", `{"s":[{"equals-ignore-case":"ß"}]}`, `{"s":"ẞ"}`, false},
	{"eic title case self", `{"s":[{"equals-ignore-case":"ǅ"}]}`, `{"s":"ǅ"}`, true},
	{"eic title case lower", `{"s":[{"equals-ignore-case":"ǅ"}]}`, `{"s":"ǆ"}`, true},
	{"eic long s", `{"s":[{"equals-ignore-case":"s"}]}`, `{"s":"ſ"}`, false},
	{"eic astral identical", `{"s":[{"equals-ignore-case":"😀"}]}`, `{"s":"😀"}`, true},
	{"eic astral case pair", `{"s":[{"equals-ignore-case":"𐐀"}]}`, `{"s":"𐐨"}`, true},
	{"eic prefix sharp s", `{"s":[{"prefix":{"equals-ignore-case":"ß"}}]}`, `{"s":"SSx"}`, true},
	{"eic suffix final sigma", `{"s":[{"suffix":{"equals-ignore-case":"ς"}}]}`, `{"s":"xΣ"}`, true},
	{"ab eic sharp s", `{"s":[{"anything-but":{"equals-ignore-case":["ß"]}}]}`, `{"s":"ss"}`, true},
	{"eic final sigma", `{"s":[{"equals-ignore-case":"ς"}]}`, `{"s":"Σ"}`, true},
	{"eic kelvin", `{"s":[{"equals-ignore-case":"k"}]}`, `{"s":"\u212a"}`, false},
	{"eic different", `{"s":[{"equals-ignore-case":"alice"}]}`, `{"s":"alic"}`, false},
	{"eic not numbers", `{"s":[{"equals-ignore-case":"5"}]}`, `{"s":5}`, false},

	// wildcard
	{"wildcard", `{"f":[{"wildcard":"dir/*.png"}]}`, `{"f":"dir/a/b.png"}`, true},
	{"wildcard no", `{"f":[{"wildcard":"dir/*.png"}]}`, `{"f":"dir/a.jpg"}`, false},
	{"wildcard several", `{"f":[{"wildcard":"*a*b*c"}]}`, `{"f":"xxaxxbxxc"}`, true},
	{"wildcard order", `{"f":[{"wildcard":"*a*b*c"}]}`, `{"f":"bac"}`, false},
	{"wildcard star matches empty", `{"f":[{"wildcard":"a*b"}]}`, `{"f":"ab"}`, true},
	{"wildcard overlap", `{"f":[{"wildcard":"ab*ba"}]}`, `{"f":"aba"}`, false},
	{"wildcard escaped star", `{"f":[{"wildcard":"a\\*b"}]}`, `{"f":"a*b"}`, true},
	{"wildcard escaped star literal", `{"f":[{"wildcard":"a\\*b"}]}`, `{"f":"axb"}`, false},
	{"wildcard escaped backslash", `{"f":[{"wildcard":"a\\\\*"}]}`, `{"f":"a\\bc"}`, true},
	{"wildcard no star exact", `{"f":[{"wildcard":"abc"}]}`, `{"f":"abc"}`, true},
	{"wildcard not numbers", `{"f":[{"wildcard":"1*"}]}`, `{"f":12}`, false},

	// anything-but
	{"ab string", `{"s":[{"anything-but":"init"}]}`, `{"s":"running"}`, true},
	{"ab string same", `{"s":[{"anything-but":"init"}]}`, `{"s":"init"}`, false},
	{"ab missing", `{"s":[{"anything-but":"init"}]}`, `{}`, false},
	{"ab number value", `{"n":[{"anything-but":123}]}`, `{"n":123.0}`, false},
	{"ab number other", `{"n":[{"anything-but":123}]}`, `{"n":124}`, true},
	{"ab string list", `{"s":[{"anything-but":["stopped","overloaded"]}]}`, `{"s":"overloaded"}`, false},
	{"ab string list other", `{"s":[{"anything-but":["stopped","overloaded"]}]}`, `{"s":"ok"}`, true},
	{"ab number list", `{"n":[{"anything-but":[100,200,300]}]}`, `{"n":2e2}`, false},
	{"ab number list other", `{"n":[{"anything-but":[100,200,300]}]}`, `{"n":201}`, true},
	{"ab string vs number", `{"n":[{"anything-but":"5"}]}`, `{"n":5}`, true},
	{"ab null", `{"n":[{"anything-but":"x"}]}`, `{"n":null}`, true},
	{"ab array one differs", `{"s":[{"anything-but":"a"}]}`, `{"s":["a","b"]}`, true},
	{"ab array all excluded", `{"s":[{"anything-but":["a","b"]}]}`, `{"s":["a","b"]}`, false},
	{"ab prefix", `{"s":[{"anything-but":{"prefix":"init"}}]}`, `{"s":"running"}`, true},
	{"ab prefix excluded", `{"s":[{"anything-but":{"prefix":"init"}}]}`, `{"s":"initializing"}`, false},
	{"ab suffix", `{"s":[{"anything-but":{"suffix":".png"}}]}`, `{"s":"a.png"}`, false},
	{"ab suffix other", `{"s":[{"anything-but":{"suffix":".png"}}]}`, `{"s":"a.jpg"}`, true},
	{"ab ignore case", `{"s":[{"anything-but":{"equals-ignore-case":"Stopped"}}]}`, `{"s":"STOPPED"}`, false},
	{"ab ignore case list", `{"s":[{"anything-but":{"equals-ignore-case":["Stopped","X"]}}]}`, `{"s":"x"}`, false},
	{"ab ignore case other", `{"s":[{"anything-but":{"equals-ignore-case":["Stopped","X"]}}]}`, `{"s":"running"}`, true},
	{"ab wildcard", `{"p":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"p":"/usr/lib/x"}`, false},
	{"ab wildcard other", `{"p":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"p":"/usr/bin/x"}`, true},
	{"ab wildcard list", `{"p":[{"anything-but":{"wildcard":["*/lib/*","*.so"]}}]}`, `{"p":"a.so"}`, false},
	{"ab object value", `{"p":[{"anything-but":"x"}]}`, `{"p":{"a":1}}`, false},

	// numeric
	{"numeric range", `{"c":[{"numeric":[">",0,"<=",5]}]}`, `{"c":5}`, true},
	{"numeric range lower open", `{"c":[{"numeric":[">",0,"<=",5]}]}`, `{"c":0}`, false},
	{"numeric range upper", `{"c":[{"numeric":[">",0,"<=",5]}]}`, `{"c":5.0000001}`, false},
	{"numeric ge", `{"c":[{"numeric":[">=",10]}]}`, `{"c":10}`, true},
	{"numeric lt", `{"c":[{"numeric":["<",10]}]}`, `{"c":10}`, false},
	{"numeric le", `{"c":[{"numeric":["<=",10]}]}`, `{"c":1e1}`, true},
	{"numeric eq", `{"x":[{"numeric":["=",3.018e2]}]}`, `{"x":301.8}`, true},
	{"numeric eq 3", `{"x":[{"numeric":["=",3]}]}`, `{"x":30e-1}`, true},
	{"numeric negative", `{"x":[{"numeric":[">=",-5,"<",-1]}]}`, `{"x":-1.5}`, true},
	{"numeric not strings", `{"x":[{"numeric":[">",0]}]}`, `{"x":"5"}`, false},
	{"numeric array", `{"x":[{"numeric":[">",10]}]}`, `{"x":[1,20]}`, true},
	{"numeric big", `{"x":[{"numeric":[">",1e300]}]}`, `{"x":1e301}`, true},

	// exists
	{"exists true", `{"d":{"c":[{"exists":true}]}}`, `{"d":{"c":5}}`, true},
	{"exists true null", `{"d":{"c":[{"exists":true}]}}`, `{"d":{"c":null}}`, true},
	{"exists true missing", `{"d":{"c":[{"exists":true}]}}`, `{"d":{}}`, false},
	{"exists true missing parent", `{"d":{"c":[{"exists":true}]}}`, `{}`, false},
	{"exists true object", `{"d":{"c":[{"exists":true}]}}`, `{"d":{"c":{"x":1}}}`, false},
	{"exists true empty array", `{"d":{"c":[{"exists":true}]}}`, `{"d":{"c":[]}}`, false},
	{"exists true array", `{"d":{"c":[{"exists":true}]}}`, `{"d":{"c":[1]}}`, true},
	{"exists false missing", `{"d":{"c":[{"exists":false}]}}`, `{"d":{}}`, true},
	{"exists false missing parent", `{"d":{"c":[{"exists":false}]}}`, `{"x":1}`, true},
	{"exists false null", `{"d":{"c":[{"exists":false}]}}`, `{"d":{"c":null}}`, false},
	{"exists false object", `{"d":{"c":[{"exists":false}]}}`, `{"d":{"c":{"x":1}}}`, true},
	{"exists false empty array", `{"d":{"c":[{"exists":false}]}}`, `{"d":{"c":[]}}`, true},
	{"exists false value", `{"d":{"c":[{"exists":false}]}}`, `{"d":{"c":0}}`, false},
	{"exists false or value", `{"c":["a",{"exists":false}]}`, `{}`, true},
	{"exists false or value 2", `{"c":["a",{"exists":false}]}`, `{"c":"a"}`, true},
	{"exists false or value 3", `{"c":["a",{"exists":false}]}`, `{"c":"b"}`, false},
	{"exists false with other", `{"a":["x"],"c":[{"exists":false}]}`, `{"a":"x"}`, true},
	{"exists false in array element", `{"e":{"f":["A"],"g":[{"exists":false}]}}`, `{"e":[{"f":"A","g":1},{"f":"A"}]}`, true},
	{"exists false in array element fails", `{"e":{"f":["A"],"g":[{"exists":false}]}}`, `{"e":[{"f":"A","g":1},{"f":"B"}]}`, false},
	// An $or under an array of objects is one rule per branch (event-ruler's
	// expansion): a lone exists:false in a branch holds only when no element
	// has the field; the fields beside the $or are the branch's siblings.
	{"exists false lone in $or branch under array", `{"a":{"$or":[{"x":["q"]},{"c":[{"exists":false}]}]}}`, `{"a":[{},{"c":"2"}]}`, false},
	{"exists false lone in $or branch, no element has it", `{"a":{"$or":[{"x":["q"]},{"c":[{"exists":false}]}]}}`, `{"a":[{},{"d":"2"}]}`, true},
	{"exists false in $or branch beside a selecting field", `{"a":{"b":["q"],"$or":[{"z":[{"exists":false}]},{"x":["z"]}]}}`, `{"a":[{"b":"q"},{"z":"r"}]}`, true},
	// A field whose candidates mix exists:false with others selects an
	// element only through the others (seed 17).
	{"exists false beside a mixed field that matched by absence", `{"e":{"a":[{"exists":false}],"b":[{"exists":false},{"numeric":["=",5]}]}}`, `{"e":[{"a":"I"},{}]}`, false},
	{"exists false beside a mixed field that matched by value", `{"e":{"z":[{"exists":false}],"b":[{"exists":false},{"numeric":["=",5]}]}}`, `{"e":[{"z":"I"},{"b":5}]}`, true},
	{"exists false beside $or, lone in the branch expansion", `{"a":{"c":[{"exists":false}],"$or":[{"d":[{"exists":false}]},{"x":["q"]}]}}`, `{"a":[{},{"c":"2"}]}`, false},
	// A field named beside an $or and again in a branch is one object of the
	// forked rule (event-ruler's JsonRuleCompiler): one element must hold
	// both, at the top level too.
	{"object beside $or and in a branch, two elements", `{"a":{"x":["q"]},"$or":[{"a":{"y":["r"]}},{"b":["z"]}]}`, `{"a":[{"x":"q"},{"y":"r"}]}`, false},
	{"object beside $or and in a branch, one element", `{"a":{"x":["q"]},"$or":[{"a":{"y":["r"]}},{"b":["z"]}]}`, `{"a":[{"x":"q","y":"r"},{}]}`, true},
	{"object beside $or and in a branch, other branch", `{"a":{"x":["q"]},"$or":[{"a":{"y":["r"]}},{"b":["z"]}]}`, `{"a":[{"x":"q"},{"y":"r"}],"b":"z"}`, true},
	{"object beside $or, exists false in the branch", `{"a":{"x":["q"]},"$or":[{"a":{"z":[{"exists":false}]}},{"b":["z"]}]}`, `{"a":[{"x":"q"},{"z":"2"}]}`, true},
	{"object beside $or, exists false in the branch, held", `{"a":{"x":["q"]},"$or":[{"a":{"z":[{"exists":false}]}},{"b":["z"]}]}`, `{"a":[{"x":"q","z":"1"}]}`, false},
	{"object beside $or, single object", `{"a":{"x":["q"]},"$or":[{"a":{"y":["r"]}},{"b":["z"]}]}`, `{"a":{"x":"q","y":"r"}}`, true},
	{"object beside nested $or, two elements", `{"o":{"a":{"x":["q"]},"$or":[{"a":{"y":["r"]}},{"b":["z"]}]}}`, `{"o":{"a":[{"x":"q"},{"y":"r"}]}}`, false},

	// cidr
	{"cidr v4", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.0.255"}`, true},
	{"cidr v4 lower bound", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.0.0"}`, true},
	{"cidr v4 out", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.1.0"}`, false},
	{"cidr v4 /31", `{"ip":[{"cidr":"10.0.0.6/31"}]}`, `{"ip":"10.0.0.7"}`, true},
	{"cidr v4 not v6", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"2001:db8::1"}`, false},
	{"cidr v4 mapped v6 dotted", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"::ffff:10.1.2.3"}`, false},
	{"cidr v4 mapped v6 hex", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"::ffff:a01:203"}`, true},
	{"cidr v6", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:0db8:0000:0000:0000:0000:0000:0001"}`, true},
	{"cidr v6 upper bound", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"}`, true},
	{"cidr v6 upper case", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:DB8::ABCD"}`, true},
	{"cidr v6 out", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:db9::1"}`, false},
	{"cidr v6 compressed pattern", `{"ip":[{"cidr":"2001:0db8:0000::/48"}]}`, `{"ip":"2001:db8::5"}`, true},
	{"cidr not ip", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"10.0.0.x"}`, false},
	{"cidr number", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":10}`, false},
}

func rulesetMatch(t testing.TB, p *Pattern, event string) bool {
	t.Helper()
	rs := NewRuleSet()
	rs.Add("r", p)
	ids, err := rs.Match([]byte(event))
	if err != nil {
		t.Fatalf("RuleSet.Match: %v", err)
	}
	return len(ids) == 1
}

func TestMatch(t *testing.T) {
	for _, c := range matchCases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.pattern))
			if err != nil {
				t.Fatalf("Parse(%s): %v", c.pattern, err)
			}
			got, err := p.Match([]byte(c.event))
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != c.want {
				t.Errorf("Pattern.Match(%s, %s) = %v, want %v", c.pattern, c.event, got, c.want)
			}
			if got := rulesetMatch(t, p, c.event); got != c.want {
				t.Errorf("RuleSet.Match(%s, %s) = %v, want %v", c.pattern, c.event, got, c.want)
			}
			ex, err := p.Explain([]byte(c.event))
			if err != nil {
				t.Fatal(err)
			}
			if ex.Match != c.want {
				t.Errorf("Explain(...).Match = %v, want %v\n%s", ex.Match, c.want, ex)
			}
		})
	}
}

// TestRuleSetAllCases adds every case's pattern to one set and checks that
// each event gets exactly the rules that match it alone.
func TestRuleSetAllCases(t *testing.T) {
	rs := NewRuleSet()
	var ps []*Pattern
	for i, c := range matchCases {
		p := MustParse(c.pattern)
		ps = append(ps, p)
		rs.Add(strings.Repeat("r", 1)+string(rune('A'+i%26))+c.name, p)
	}
	for _, c := range matchCases {
		ids, err := rs.Match([]byte(c.event))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, id := range ids {
			got[id] = true
		}
		for i, p := range ps {
			want, _ := p.Match([]byte(c.event))
			id := "r" + string(rune('A'+i%26)) + matchCases[i].name
			if got[id] != want {
				t.Errorf("event %s, rule %s: RuleSet says %v, Pattern.Match %v", c.event, matchCases[i].pattern, got[id], want)
			}
		}
	}
}

func TestRuleSetSameIDIsOr(t *testing.T) {
	rs := NewRuleSet()
	rs.Add("r1", MustParse(`{"a":[1]}`))
	rs.Add("r2", MustParse(`{"b":[1]}`))
	rs.Add("r1", MustParse(`{"c":[1]}`))
	for ev, want := range map[string]string{
		`{"a":1}`:               "r1",
		`{"c":1}`:               "r1",
		`{"a":1,"c":1,"b":1}`:   "r1,r2",
		`{"b":1}`:               "r2",
		`{"x":1}`:               "",
		`{"b":1,"a":1}`:         "r1,r2",
		`{"b":1,"z":[{"a":1}]}`: "r2",
	} {
		ids, err := rs.Match([]byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids, ","); got != want {
			t.Errorf("%s: got %q, want %q", ev, got, want)
		}
	}
}

func TestNotAnObject(t *testing.T) {
	p := MustParse(`{"a":[1]}`)
	rs := NewRuleSet()
	rs.Add("r", p)
	for _, ev := range []string{``, `[]`, `"x"`, `5`, `{"a":`, `{"a" 1}`, `{"a":1,}`, `null`, `{"b":[1,}`} {
		if _, err := p.Match([]byte(ev)); err == nil {
			t.Errorf("Pattern.Match(%q): no error", ev)
		}
		// The RuleSet stops reading once it has every field it needs.
		if ev == `{"a":1,}` {
			continue
		}
		if _, err := rs.Match([]byte(ev)); err == nil {
			t.Errorf("RuleSet.Match(%q): no error", ev)
		}
	}
	_, err := p.Match([]byte("{\n  \"a\": tru\n}"))
	if err == nil || !strings.Contains(err.Error(), "2:8") {
		t.Errorf("error does not name line:col 2:8: %v", err)
	}
}

// TestRuleSetConcurrent matches from many goroutines at once (run with -race).
func TestRuleSetConcurrent(t *testing.T) {
	rs := NewRuleSet()
	for i, c := range matchCases {
		rs.Add(c.name, MustParse(matchCases[i].pattern))
	}
	want := make([]string, len(matchCases))
	for i, c := range matchCases {
		ids, _ := rs.Match([]byte(c.event))
		want[i] = strings.Join(ids, ",")
	}
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			for n := 0; n < 50; n++ {
				for i, c := range matchCases {
					ids, _ := rs.Match([]byte(c.event))
					if got := strings.Join(ids, ","); got != want[i] {
						done <- fmt.Errorf("%s: got %s, want %s", c.event, got, want[i])
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestLazyAnythingBut: anything-but conditions that anchor no conjunction
// (beside an exact value, which is the anchor) are checked only when the
// anchor held; the RuleSet agrees with the reference evaluator on the
// value shapes that take the deferred path and those that do not (several
// values, arrays of scalars and of objects, escapes, numbers, literals).
func TestLazyAnythingBut(t *testing.T) {
	patterns := []string{
		`{"k":["x"],"a":[{"anything-but":["p","q"]}]}`,
		`{"k":["x"],"a":[{"anything-but":{"prefix":"p"}}]}`,
		`{"k":["x"],"a":[{"anything-but":{"suffix":"q"}}]}`,
		`{"k":["x"],"a":[{"anything-but":{"equals-ignore-case":"P"}}]}`,
		`{"k":["x"],"a":[{"anything-but":{"wildcard":"p*"}}]}`,
		`{"k":["x"],"a":[{"anything-but":[1,2]}]}`,
		`{"k":["x"],"a":[{"anything-but":"p"},"q"]}`,
		`{"k":["x"],"o":{"a":[{"anything-but":"p"}],"b":["1"]}}`,
		`{"k":["x"],"o":{"a":[{"anything-but":"p"}]}}`,
		`{"a":[{"anything-but":"p"}]}`,
	}
	events := []string{
		`{"k":"x","a":"p"}`, `{"k":"x","a":"z"}`, `{"a":"z","k":"x"}`, `{"a":"p","k":"x"}`, `{"k":"y","a":"z"}`,
		`{"k":"x","a":["p","z"]}`, `{"k":"x","a":["z","p"]}`, `{"k":"x","a":["p","q"]}`, `{"k":"x","a":["p"]}`, `{"k":"x","a":[]}`,
		`{"k":"x","a":"\u0070"}`, `{"k":"x","a":"\u007a"}`, `{"k":"x","a":1}`, `{"k":"x","a":3}`, `{"k":"x","a":null}`,
		`{"k":"x","a":[1,"p"]}`, `{"k":"x","a":["p",1]}`, `{"k":"x","a":[true]}`, `{"k":"x","a":"P"}`, `{"k":"x","a":"pq"}`,
		`{"k":"x","o":{"a":"p","b":"1"}}`, `{"k":"x","o":{"a":"z","b":"1"}}`, `{"k":"x","o":[{"a":"p","b":"1"},{"a":"z","b":"2"}]}`,
		`{"k":"x","o":[{"a":"z","b":"2"},{"a":"p","b":"1"}]}`, `{"k":"x","o":[{"a":"z","b":"1"}]}`, `{"k":"x","o":[{"a":"p"},{"a":"z"}]}`,
		`{"o":{"a":"z"},"k":"x"}`, `{"k":"x","o":{"a":["p","z"]}}`, `{"k":"x"}`, `{"a":"z"}`,
	}
	for _, ps := range patterns {
		p, err := Parse([]byte(ps))
		if err != nil {
			t.Fatalf("%s: %v", ps, err)
		}
		rs := NewRuleSet()
		rs.Add("r", p)
		for _, ev := range events {
			want, err := p.Match([]byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			got, err := rs.Match([]byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != want {
				t.Errorf("%s on %s: RuleSet %v, reference %v", ps, ev, got, want)
			}
		}
	}
}

// TestLazyConditions: a condition that anchors no conjunction keeps its
// string candidates of every operator (and exists) aside, checked only when
// its conjunction's anchor held; the verdicts are the reference
// evaluator's for the value alone, repeated, in arrays, in arrays of
// objects, escaped, and of other kinds. Each rule's anchor is k (exact,
// one value); the condition on a has two candidates, so weighs more.
func TestLazyConditions(t *testing.T) {
	conds := []string{
		`["p","q"]`, `[{"prefix":"p"},{"prefix":"zz"}]`, `[{"suffix":"q"},"zz"]`,
		`[{"equals-ignore-case":"P"},"zz"]`, `[{"prefix":{"equals-ignore-case":"P"}},"zz"]`,
		`[{"suffix":{"equals-ignore-case":"Q"}},"zz"]`, `[{"equals-ignore-case":"ǅ"},"zz"]`,
		`[{"wildcard":"p*"},"zz"]`, `[{"exists":true}]`, `[{"exists":true},"p"]`,
		`[{"cidr":"10.0.0.0/8"},"zz"]`, `["10.1.2.3","zz"]`, `[{"prefix":"p"},1]`, `[{"prefix":"p"},{"numeric":[">",2]}]`,
		`[{"prefix":"p"},null]`, `[{"anything-but":"p"},"zz"]`,
	}
	var patterns []string
	for _, c := range conds {
		patterns = append(patterns, `{"k":["x"],"a":`+c+`}`, `{"k":["x"],"o":{"a":`+c+`,"b":["1"]}}`)
	}
	values := []string{`"p"`, `"pq"`, `"P"`, `"Pq"`, `"z"`, `"ǆ"`, `"DŽ"`, `"10.2.3.4"`, `"10.1.2.3"`, `"\u0070"`, `1`, `3`, `null`, `true`,
		`["z","p"]`, `["p","z"]`, `[]`, `[1,"p"]`, `["zz"]`}
	var events []string
	for _, v := range values {
		events = append(events, `{"k":"x","a":`+v+`}`, `{"a":`+v+`,"k":"x"}`, `{"k":"y","a":`+v+`}`,
			`{"k":"x","o":{"a":`+v+`,"b":"1"}}`, `{"k":"x","o":[{"a":`+v+`,"b":"2"},{"a":"z","b":"1"}]}`,
			`{"k":"x","o":[{"a":"z","b":"2"},{"a":`+v+`,"b":"1"}]}`)
	}
	events = append(events, `{"k":"x"}`, `{"a":"p"}`, `{"k":"x","o":{"b":"1"}}`)
	all := NewRuleSet()
	var ps []*Pattern
	for i, src := range patterns {
		p, err := Parse([]byte(src))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		ps = append(ps, p)
		all.Add(strconv.Itoa(i), p)
	}
	for _, ev := range events {
		var want []string
		for i, p := range ps {
			ok, err := p.Match([]byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				want = append(want, strconv.Itoa(i))
			}
			one := NewRuleSet()
			one.Add("r", p)
			got, err := one.Match([]byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != ok {
				t.Errorf("%s on %s: RuleSet %v, reference %v", patterns[i], ev, got, ok)
			}
		}
		got, err := all.Match([]byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("all rules on %s: RuleSet %v, reference %v", ev, got, want)
		}
	}
	// In each rule alone, the condition on a is lazy.
	for i, p := range ps {
		one := NewRuleSet()
		one.Add("r", p)
		e := one.engine()
		n := e.root.child("a", false)
		if n == nil {
			n = e.root.child("o", false).child("a", false)
		}
		if f := n.field; !f.lazyOnly {
			t.Errorf("%s: the candidates for strings of a are not all lazy", patterns[i])
		}
	}
}
