package filter

import (
	"math/rand"
	"strconv"
	"testing"
)

func TestFastFloat(t *testing.T) {
	cases := []string{"0", "-0", "1", "-122.4617594966547", "37.73635855475701", "0.0", "1e22", "1e23", "3e0", "30e-1",
		"123456789012345678", "1234567890123456789", "0.000001", "1.5E+3", "9007199254740993", "9007199254740992", "-1e-22", "5e-324"}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		cases = append(cases, strconv.FormatFloat((r.Float64()-0.5)*math10(r.Intn(40)-20), 'f', -1, 64),
			strconv.FormatFloat(r.NormFloat64()*1e6, 'g', r.Intn(17)+1, 64))
	}
	for _, c := range cases {
		want, _ := strconv.ParseFloat(c, 64)
		got, ok := fastFloat([]byte(c))
		if ok && got != want {
			t.Fatalf("fastFloat(%s) = %v, want %v", c, got, want)
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
