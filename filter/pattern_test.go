package filter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseInvalid(t *testing.T) {
	cases := []struct {
		pattern string
		path    string
		msg     string // substring of Msg
	}{
		{`[1]`, "", "must be a JSON object"},
		{`"x"`, "", "must be a JSON object"},
		{`{"a":`, "", "invalid JSON at line 1, column 6"},
		{`{}`, "", "must not be an empty object"},
		{`{"detail":{}}`, "detail", "must not be an empty object"},
		{`{"source":"aws.ec2"}`, "source", "must be an array of candidates"},
		{`{"source":5}`, "source", "must be an array of candidates"},
		{`{"source":null}`, "source", "must be an array"},
		{`{"source":[]}`, "source", "must not be empty"},
		{`{"a":[[1]]}`, "a[0]", "not an array"},
		{`{"a":[{}]}`, "a[0]", "exactly one operator"},
		{`{"a":[{"prefix":"x","suffix":"y"}]}`, "a[0]", "it has 2"},
		{`{"detail":{"price":[{"numerc":[">",1]}]}}`, "detail.price[0].numerc", `did you mean "numeric"`},
		{`{"a":[{"prefx":"x"}]}`, "a[0].prefx", `did you mean "prefix"`},
		{`{"a":[{"anythingbut":"x"}]}`, "a[0].anythingbut", `did you mean "anything-but"`},
		{`{"a":[{"zzzzzz":"x"}]}`, "a[0].zzzzzz", "valid operators are"},
		{`{"a":[{"prefix":5}]}`, "a[0].prefix", "takes a string"},
		{`{"a":[{"prefix":{"equals-ignore-case":5}}]}`, "a[0].prefix.equals-ignore-case", "takes a string"},
		{`{"a":[{"prefix":{"foo":"x"}}]}`, "a[0].prefix", "takes a string or"},
		{`{"a":[{"suffix":null}]}`, "a[0].suffix", "takes a string"},
		{`{"a":[{"equals-ignore-case":1}]}`, "a[0].equals-ignore-case", "takes a string"},
		{`{"a":[{"wildcard":"a**b"}]}`, "a[0].wildcard", "consecutive wildcard"},
		{`{"a":[{"wildcard":"a\\b"}]}`, "a[0].wildcard", "backslash"},
		{`{"a":[{"wildcard":"ab\\"}]}`, "a[0].wildcard", "backslash"},
		{`{"a":[{"wildcard":5}]}`, "a[0].wildcard", "takes a string"},
		{`{"a":[{"anything-but":[]}]}`, "a[0].anything-but", "must not be empty"},
		{`{"a":[{"anything-but":["x",1]}]}`, "a[0].anything-but[1]", "not both"},
		{`{"a":[{"anything-but":[true]}]}`, "a[0].anything-but[0]", "only strings or only numbers"},
		{`{"a":[{"anything-but":null}]}`, "a[0].anything-but", "takes a string, a number"},
		{`{"a":[{"anything-but":{"numeric":[">",1]}}]}`, "a[0].anything-but.numeric", "cannot wrap"},
		{`{"a":[{"anything-but":{"prefx":"a"}}]}`, "a[0].anything-but.prefx", `did you mean "prefix"`},
		{`{"a":[{"anything-but":{"prefix":"a","suffix":"b"}}]}`, "a[0].anything-but", "exactly one"},
		{`{"a":[{"anything-but":{"prefix":5}}]}`, "a[0].anything-but.prefix", "takes a string"},
		{`{"a":[{"anything-but":{"prefix":""}}]}`, "a[0].anything-but.prefix", "must not be empty"},
		{`{"a":[{"anything-but":{"equals-ignore-case":[1]}}]}`, "a[0].anything-but.equals-ignore-case[0]", "takes strings"},
		{`{"a":[{"anything-but":{"wildcard":"**"}}]}`, "a[0].anything-but.wildcard", "consecutive"},
		{`{"a":[{"anything-but":{"anything-but":"x"}}]}`, "a[0].anything-but.anything-but", "cannot wrap"},
		{`{"a":[{"numeric":5}]}`, "a[0].numeric", "array of operator/number pairs"},
		{`{"a":[{"numeric":[]}]}`, "a[0].numeric", "2 or 4 elements"},
		{`{"a":[{"numeric":[">"]}]}`, "a[0].numeric", "2 or 4 elements"},
		{`{"a":[{"numeric":[">",1,"<"]}]}`, "a[0].numeric", "2 or 4 elements"},
		{`{"a":[{"numeric":[">","1"]}]}`, "a[0].numeric[1]", "not quoted"},
		{`{"a":[{"numeric":[1,">"]}]}`, "a[0].numeric[0]", "comparison operator"},
		{`{"a":[{"numeric":["=>",1]}]}`, "a[0].numeric[0]", "unknown comparison"},
		{`{"a":[{"numeric":["<",5,">",1]}]}`, "a[0].numeric[0]", "lower bound"},
		{`{"a":[{"numeric":[">",1,">",5]}]}`, "a[0].numeric[2]", "one lower bound"},
		{`{"a":[{"numeric":[">",5,"<",1]}]}`, "a[0].numeric", "must be less than"},
		{`{"a":[{"numeric":[">",5,"<",5]}]}`, "a[0].numeric", "must be less than"},
		{`{"a":[{"numeric":["=",5,"<",6]}]}`, "a[0].numeric[0]", "cannot be combined"},
		{`{"a":[{"exists":"true"}]}`, "a[0].exists", "true or false"},
		{`{"a":[{"exists":1}]}`, "a[0].exists", "true or false"},
		{`{"a":[{"cidr":"10.0.0.0/33"}]}`, "a[0].cidr", "up to 31"},
		{`{"a":[{"cidr":"10.0.0.0/32"}]}`, "a[0].cidr", "up to 31"},
		{`{"a":[{"cidr":"10.0.0/8"}]}`, "a[0].cidr", "not an IP address"},
		{`{"a":[{"cidr":"2001:db8::/129"}]}`, "a[0].cidr", "up to 127"},
		{`{"a":[{"cidr":"fe80::1%eth0/64"}]}`, "a[0].cidr", "not an IP address"},
		{`{"a":[{"cidr":"10.0.0.1"}]}`, "a[0].cidr", "needs one \"/\""},
		{`{"a":[{"cidr":"::ffff:10.0.0.0/104"}]}`, "a[0].cidr", "not an IP address"},
		{`{"a":[{"numeric":[">",9007199254740993]}]}`, "a[0].numeric[1]", "not exactly a double"},
		{`{"a":[{"anything-but":[1,1.00000000000000001]}]}`, "a[0].anything-but[1]", "not exactly a double"},
		{`{"a":[{"anything-but":{"prefix":["x",""]}}]}`, "a[0].anything-but.prefix[1]", "must not be empty"},
		{`{"$or":[{"a":[1]},{"prefix":["x"]}]}`, "$or[1].prefix", "reserves it"},
		{`{"$or":[{"a":[1]},{"b":{"numeric":["x"]}}]}`, "$or[1].b.numeric", "reserves it"},
		{`{"a":[{"cidr":10}]}`, "a[0].cidr", "takes a string"},
		{`{"$or":[{"a":[1]}]}`, "$or", "at least two"},
		{`{"$or":[]}`, "$or", "at least two"},
		{`{"$or":{"a":[1]}}`, "$or", "must be an array"},
		{`{"$or":[{"a":[1]},[2]]}`, "$or[1]", "pattern object"},
		{`{"$or":[{"a":[1]},{}]}`, "$or[1]", "empty object"},
		{`{"d":{"$or":[{"a":[1]},{"b":[{"numeric":[1]}]}]}}`, "d.$or[1].b[0].numeric", "2 or 4"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.pattern))
		var pe *PatternError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%s) = %v, want a *PatternError", c.pattern, err)
			continue
		}
		if pe.Path != c.path || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("Parse(%s):\n got  %s\n want path %q, message containing %q", c.pattern, err, c.path, c.msg)
		}
		if want := "pattern: "; !strings.HasPrefix(pe.Error(), want) {
			t.Errorf("Error() = %q, want prefix %q", pe.Error(), want)
		}
	}
}

func TestParseValidOperators(t *testing.T) {
	for _, p := range []string{
		`{"a":[{"prefix":""}]}`,
		`{"a":[{"numeric":["=",-0.5]}]}`,
		`{"a":[{"numeric":[">=",-5e9,"<=",5e9]}]}`,
		`{"a":[{"cidr":"10.0.0.1/24"}]}`,
		`{"a":[{"cidr":"10.0.0.1/08"}]}`,
		`{"a":[{"cidr":"010.0.0.1/+8"}]}`,
		`{"a":[{"exactly":"x"}]}`,
		`{"a":[{"anything-but":{"prefix":["us-","ap-"]}}]}`,
		`{"a":[{"anything-but":{"suffix":[".png"]}}]}`,
		`{"a":["x"],"a":["y"]}`,
		`{"prefix":["x"],"numeric":{"exists":[1]}}`,
		`{"a":[{"cidr":"::/0"}]}`,
		`{"a":[{"anything-but":{"wildcard":["a*","b"]}}]}`,
		`{"a":[{"wildcard":"\\\\\\*"}]}`,
		`{"a":["x",1,null,true,false,{"exists":false}]}`,
		`{"$or":[{"a":[1]},{"b":[2]},{"c":{"$or":[{"d":[1]},{"e":[1]}]}}]}`,
	} {
		if _, err := Parse([]byte(p)); err != nil {
			t.Errorf("Parse(%s): %v", p, err)
		}
	}
}

func TestCanonical(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{ "b" : [ 1 ], "a": ["x"] }`, `{"a":["x"],"b":[1]}`},
		{`{"d":{"z":[{"numeric":[">", 0, "<=", 5]}],"$or":[{"y":[3e0]},{"x":["<&>"]}]}}`, `{"d":{"$or":[{"y":[3e0]},{"x":["<&>"]}],"z":[{"numeric":[">",0,"<=",5]}]}}`},
		{`{"a":[{"prefix":{"equals-ignore-case":"AbC"}}]}`, `{"a":[{"prefix":{"equals-ignore-case":"AbC"}}]}`},
		{`{"a":[{"anything-but":{"equals-ignore-case":["X","y"]}}]}`, `{"a":[{"anything-but":{"equals-ignore-case":["X","y"]}}]}`},
		{`{"a":["\u00e9\n"]}`, `{"a":["é\n"]}`},
	}
	for _, c := range cases {
		p := MustParse(c.in)
		if got := p.String(); got != c.want {
			t.Errorf("String(%s) = %s, want %s", c.in, got, c.want)
		}
		again := MustParse(p.String())
		if again.String() != p.String() {
			t.Errorf("not stable: %s -> %s", p.String(), again.String())
		}
	}
}

func TestLint(t *testing.T) {
	var vals []string
	for i := 0; i < 200; i++ {
		vals = append(vals, fmt.Sprintf(`"value-%04d"`, i))
	}
	long := `{"detail":{"a":[` + strings.Join(vals, ",") + `]}}`
	orBranches := func(n int) string {
		var b []string
		for i := 0; i < n; i++ {
			b = append(b, `{"x`+string(rune('a'+i))+`":[1]}`)
		}
		return `[` + strings.Join(b, ",") + `]`
	}
	many := `{"detail":{"$or":` + orBranches(11) + `,"d":{"$or":` + orBranches(11) + `,"e":{"$or":` + orBranches(10) + `}}}}`
	cases := []struct {
		pattern string
		want    []string // substrings, one per expected warning; nil = no warnings
	}{
		{`{"source":["a"],"detail":{"x":[1]}}`, nil},
		{long, []string{"at most 2048"}},
		{many, []string{"1210 combinations"}},
		{`{"state":["a"]}`, []string{`field(s) state are not part of the EventBridge envelope`}},
		{`{"detail":{"a":["x","x"]}}`, []string{`detail.a[1]: candidate "x" is listed twice`}},
		{`{"detail":{"a":[{"numeric":[">",6e9]}]}}`, []string{"outside -5e9..5e9"}},
	}
	for _, c := range cases {
		got := MustParse(c.pattern).Lint()
		if len(got) != len(c.want) {
			t.Errorf("Lint(%.60s...) = %q, want %d warnings", c.pattern, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("Lint(%.60s...)[%d] = %q, want it to contain %q", c.pattern, i, got[i], w)
			}
		}
	}
}
