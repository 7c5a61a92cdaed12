package filter

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

func TestParseNumber(t *testing.T) {
	cases := []string{"0", "-0", "1", "-122.4617594966547", "37.73635855475701", "0.0", "1e22", "1e23", "3e0", "30e-1",
		"123456789012345678", "1234567890123456789", "12345678901234567890", "18446744073709551615", "18446744073709551616", "-122.46157240618102", "0.12345678901234567", "12345678.123456789", "0.000001", "1.5E+3", "9007199254740993", "9007199254740992", "-1e-22", "5e-324",
		"01", "1.", "-", "1e", "1e+", ".5", "-0.0e-0", "00", "1.5e99999999999"}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		cases = append(cases, strconv.FormatFloat((r.Float64()-0.5)*math10(r.Intn(40)-20), 'f', -1, 64),
			strconv.FormatFloat(r.NormFloat64()*1e6, 'g', r.Intn(17)+1, 64))
	}
	for _, c := range cases {
		want, _ := strconv.ParseFloat(c, 64)
		end, got, prec := parseNumber([]byte(c), 0)
		if wantEnd := scanNumber([]byte(c), 0); end != wantEnd {
			t.Fatalf("parseNumber(%s) end %d, scanNumber %d", c, end, wantEnd)
		}
		if end > 0 {
			want, _ = strconv.ParseFloat(c[:end], 64)
		}
		if prec == numExact && got != want {
			t.Fatalf("parseNumber(%s) = %v, want %v", c, got, want)
		}
		if prec == numApprox && math.Abs(got-want) > math.Abs(want)*approxTol/8 {
			t.Fatalf("parseNumber(%s) = %v (approximate), want %v", c, got, want)
		}
	}
}

func math10(n int) float64 {
	f := 1.0
	for ; n > 0; n-- {
		f *= 10
	}
	for ; n < 0; n++ {
		f /= 10
	}
	return f
}

// TestSkipAgainstDecoder checks the container skipper on tricky strings.
func TestSkipAgainstDecoder(t *testing.T) {
	for _, v := range []string{`{"a":"]}\"[{","b":[1,{"c":"\\"}]}`, `[["\\\\"],"x\"]"]`, `{"k":"12345678\"9}]","l":{}}`, `"abcdefgh\\\"ijklmnop"`} {
		s := &state{ev: []byte(v + ` ,`)}
		if end := s.skip(0); end != len(v) {
			t.Errorf("skip(%s) = %d, want %d (%v)", v, end, len(v), s.err)
		}
	}
}

// TestSkipRandom checks the skipper on random JSON with strings full of
// brackets, quotes and backslashes across 8-byte boundaries.
func TestSkipRandom(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	alphabet := []string{"a", "[", "]", "{", "}", `"`, `\`, " ", "é", "xyzw"}
	var gen func(d int) any
	gen = func(d int) any {
		switch k := r.Intn(5); {
		case d > 4 || k == 0:
			var sb strings.Builder
			for n := r.Intn(20); n > 0; n-- {
				sb.WriteString(alphabet[r.Intn(len(alphabet))])
			}
			return sb.String()
		case k == 1:
			return r.NormFloat64() * 1e3
		case k == 2:
			a := []any{}
			for n := r.Intn(5); n > 0; n-- {
				a = append(a, gen(d+1))
			}
			return a
		default:
			m := map[string]any{}
			for n := r.Intn(5); n > 0; n-- {
				m[fmt.Sprint(gen(5))] = gen(d + 1)
			}
			return m
		}
	}
	for i := 0; i < 3000; i++ {
		b, _ := json.Marshal([]any{gen(0)})
		s := &state{ev: append(b, ']', '}')}
		if end := s.skip(0); end != len(b) {
			t.Fatalf("skip(%s) = %d, want %d (%v)", b, end, len(b), s.err)
		}
	}
}

// TestNumericNearBounds compares the RuleSet with the reference on numbers of
// 16 to 19 significant digits (parsed approximately) lying on, just beside
// and between the bounds of numeric ranges.
func TestNumericNearBounds(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for n := 0; n < 300; n++ {
		digits := 16 + r.Intn(4)
		var sb strings.Builder
		if r.Intn(2) == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(byte('1' + r.Intn(9)))
		for k := 1; k < digits; k++ {
			sb.WriteByte(byte('0' + r.Intn(10)))
		}
		mant := sb.String()
		pt := 1 + r.Intn(digits-1)
		if mant[0] == '-' {
			pt++
		}
		v := mant[:pt] + "." + mant[pt:]
		x, _ := strconv.ParseFloat(v, 64)
		bounds := []float64{x, math.Nextafter(x, math.Inf(1)), math.Nextafter(x, math.Inf(-1))}
		if n%2 == 0 { // only bounds far enough for the approximate value to decide
			bounds = []float64{x * (1 + 1e-13), x * (1 - 1e-12), x * 2}
		}
		rs := NewRuleSet()
		var ps []*Pattern
		for bi, b := range bounds {
			for oi, op := range []string{"=", "<", ">=", ">"} {
				p := MustParse(fmt.Sprintf(`{"x":[{"numeric":[%q,%s]}]}`, op, strconv.FormatFloat(b, 'g', -1, 64)))
				rs.Add(fmt.Sprintf("%d%d", bi, oi), p)
				ps = append(ps, p)
			}
		}
		evs := []string{v, v + "1", v + "9", v + "49", v + "5", v + "e1", v + "e-3"}
		if pt < len(mant)-1 {
			evs = append(evs, mant[:pt]+"."+mant[pt:len(mant)-1])
		}
		for _, ev := range evs {
			event := []byte(`{"x":` + ev + `}`)
			got, err := rs.Match(event)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i, p := range ps {
				if ok, _ := p.Match(event); ok {
					want = append(want, fmt.Sprintf("%d%d", i/4, i%4))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: RuleSet %v, reference %v", event, got, want)
			}
		}
	}
}

// TestLayoutChanges matches a stream of random events whose member names
// change at each position (same lengths, shared prefixes, names of 8, 16 and
// 17 bytes, escapes, whitespace) so that the remembered layouts (predSlot)
// are right, wrong and partly right, against the reference evaluator.
func TestLayoutChanges(t *testing.T) {
	names := []string{"a", "b", "bb", "ab", "abcdefgh", "abcdefgi", "abcdefghi", "abcdefghj", "abcdefghijklmnop",
		"abcdefghijklmnoq", "abcdefghijklmnopq", "properties", "propertiesX", "k", "kk", "n", "ip", `a\u0062`, `b\"`,
		"ax:", "bx:y", "abcdefghix:", "abcdefghijklmnopx:"}
	values := []string{`"x"`, `"y"`, `"v"`, `"w"`, `"yes"`, `1`, `25`, `null`, `true`, `"10.1.2.3"`, `{"k":"v","n":1}`,
		`{"kk":"v","k":null}`, `[{"k":"v"}]`, `"a\"b"`, `"abcdefghijklmnopqrstuvwxyz"`}
	var ps []*Pattern
	rs := NewRuleSet()
	for i, r := range scanRules {
		p := MustParse(r)
		ps = append(ps, p)
		rs.Add(strconv.Itoa(i), p)
	}
	r := rand.New(rand.NewSource(6))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		b.WriteByte('{')
		for m := r.Intn(20); m > 0; m-- {
			b.WriteString(`"` + names[r.Intn(len(names))] + `":`)
			if r.Intn(20) == 0 {
				b.WriteByte(' ')
			}
			b.WriteString(values[r.Intn(len(values))])
			if m > 1 {
				b.WriteByte(',')
			}
		}
		b.WriteByte('}')
		event := []byte(b.String())
		ev, err := decodeEvent(event)
		if err != nil {
			continue // duplicate names with escapes may decode differently
		}
		got, err := rs.Match(event)
		if err != nil {
			t.Fatalf("%s: %v", event, err)
		}
		var want []string
		for i, p := range ps {
			if evalNode(p.root, ev) {
				want = append(want, strconv.Itoa(i))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("event %d %s: RuleSet %v, reference %v", n, event, got, want)
		}
	}
}
