package filter

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time (0 where unavailable).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The benchmark data set: 213,068 GeoJSON features, one per line, made by
// the generator in citylots_test.go (30,000 of them without -bench), or read
// from $EVCLI_CITYLOTS (a .json.gz file, such as the shared
// citylots2-synthetic.json.gz) when set.

var (
	cityOnce  sync.Once
	cityLines [][]byte
	cityErr   error
	ipOnce    sync.Once
	ipLines   [][]byte
)

func loadCityLots(tb testing.TB) [][]byte {
	tb.Helper()
	cityOnce.Do(func() {
		path := os.Getenv("EVCLI_CITYLOTS")
		if path == "" {
			n := cityLotsTestN
			if benchmarking() {
				n = cityLotsN
			}
			cityLines = generateCityLots(n)
			return
		}
		f, err := os.Open(path)
		if err != nil {
			cityErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			cityErr = err
			return
		}
		// One contiguous buffer, as a file read into memory: the lines are
		// visited in order, so the hardware prefetcher sees the stream.
		all, err := io.ReadAll(zr)
		if err != nil {
			cityErr = err
			return
		}
		for len(all) > 0 {
			i := bytes.IndexByte(all, '\n')
			if i < 0 {
				i = len(all)
			}
			if line := bytes.TrimSpace(all[:i]); len(line) > 0 {
				cityLines = append(cityLines, line[:len(line):len(line)])
			}
			all = all[min(i+1, len(all)):]
		}
	})
	if cityErr != nil {
		tb.Fatalf("EVCLI_CITYLOTS: %v (unset it to use the generated data set)", cityErr)
	}
	return cityLines
}

// firstLine returns the data set's first line (with the ip field if ip)
// without reading or generating the rest.
func firstLine(tb testing.TB, ip bool) []byte {
	tb.Helper()
	var l []byte
	if path := os.Getenv("EVCLI_CITYLOTS"); path == "" {
		l = generateCityLots(1)[0]
	} else {
		f, err := os.Open(path)
		if err != nil {
			tb.Fatalf("EVCLI_CITYLOTS: %v", err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			tb.Fatal(err)
		}
		l, err = bufio.NewReader(zr).ReadBytes('\n')
		if err != nil {
			tb.Fatal(err)
		}
		l = bytes.TrimSpace(l)
	}
	if ip {
		l = append([]byte(`{"ip":"10.19.116.173",`), l[1:]...)
	}
	return l
}

// withIP returns the data set with a top-level "ip" field derived from each
// feature's BLOCK_NUM and LOT_NUM: IPv4 10.x.y.z for two in three features,
// IPv6 2001:db8:... for the rest.
func withIP(tb testing.TB) [][]byte {
	lines := loadCityLots(tb)
	ipOnce.Do(func() {
		ipLines = make([][]byte, len(lines))
		size := 0
		for _, l := range lines {
			size += len(l) + 48
		}
		buf := make([]byte, 0, size)
		for i, l := range lines {
			block, lot := fieldInt(l, `"BLOCK_NUM":"`), fieldInt(l, `"LOT_NUM":"`)
			var ip string
			if i%3 == 2 {
				ip = fmt.Sprintf("2001:db8:%x::%x", block, lot)
			} else {
				ip = fmt.Sprintf("10.%d.%d.%d", block>>8, block&255, lot&255)
			}
			start := len(buf)
			buf = append(append(append(buf, `{"ip":"`+ip+`",`...), l[1:]...), '\n')
			ipLines[i] = buf[start : len(buf)-1 : len(buf)-1]
		}
	})
	return ipLines
}

func fieldInt(l []byte, key string) int {
	i := bytes.Index(l, []byte(key))
	if i < 0 {
		return 0
	}
	i += len(key)
	j := bytes.IndexByte(l[i:], '"')
	n, _ := strconv.Atoi(string(l[i : i+j]))
	return n
}

type benchSet struct {
	name  string
	rules []string
	ip    bool // needs the generated "ip" field
}

var benchSets = []benchSet{
	{"Exact", []string{
		`{"properties":{"STREET":["CRANLEIGH"]}}`,
		`{"properties":{"STREET":["ASHBURY"],"ST_TYPE":["ST"]}}`,
		`{"properties":{"BLOCK_NUM":["3743"]}}`,
		`{"properties":{"STREET":["DRAKE"],"ODD_EVEN":["E"]}}`,
		`{"properties":{"MAPBLKLOT":["1430022"]}}`,
	}, false},
	{"Prefix", []string{
		`{"properties":{"STREET":[{"prefix":"AC"}]}}`,
		`{"properties":{"STREET":[{"prefix":"FUN"}]}}`,
		`{"properties":{"STREET":[{"prefix":"RH"}]}}`,
		`{"properties":{"STREET":[{"prefix":"BLU"}]}}`,
		`{"properties":{"MAPBLKLOT":[{"prefix":"VACST"}]}}`,
	}, false},
	{"Suffix", []string{
		`{"properties":{"STREET":[{"suffix":"ON"}]}}`,
		`{"properties":{"STREET":[{"suffix":"GO"}]}}`,
		`{"properties":{"STREET":[{"suffix":"KE"}]}}`,
		`{"properties":{"ST_TYPE":[{"suffix":"ER"}]}}`,
		`{"properties":{"LOT_NUM":[{"suffix":"99"}]}}`,
	}, false},
	{"EqualsIgnoreCase", []string{
		`{"properties":{"STREET":[{"equals-ignore-case":"mission"}]}}`,
		`{"properties":{"STREET":[{"equals-ignore-case":"Jackson"}]}}`,
		`{"properties":{"STREET":[{"equals-ignore-case":"bEaCh"}]}}`,
		`{"properties":{"STREET":[{"equals-ignore-case":"HyDe"}]}}`,
		`{"properties":{"ST_TYPE":[{"equals-ignore-case":"st"}]}}`,
	}, false},
	{"PrefixSuffixIgnoreCase", []string{
		`{"properties":{"STREET":[{"prefix":{"equals-ignore-case":"ma"}}]}}`,
		`{"properties":{"STREET":[{"prefix":{"equals-ignore-case":"Ch"}}]}}`,
		`{"properties":{"STREET":[{"suffix":{"equals-ignore-case":"er"}}]}}`,
		`{"properties":{"STREET":[{"suffix":{"equals-ignore-case":"Ton"}}]}}`,
		`{"properties":{"ST_TYPE":[{"prefix":{"equals-ignore-case":"a"}}]}}`,
	}, false},
	{"Wildcard", []string{
		`{"properties":{"STREET":[{"wildcard":"*INGTON"}]}}`,
		`{"properties":{"STREET":[{"wildcard":"M*N"}]}}`,
		`{"properties":{"STREET":[{"wildcard":"*A*I*"}]}}`,
		`{"properties":{"STREET":[{"wildcard":"S*G"}]}}`,
		`{"properties":{"MAPBLKLOT":[{"wildcard":"12*7"}]}}`,
	}, false},
	{"AnythingBut", []string{
		`{"properties":{"STREET":[{"anything-but":"UNKNOWN"}]}}`,
		`{"properties":{"ST_TYPE":[{"anything-but":["ST","AVE"]}]}}`,
		`{"properties":{"ODD_EVEN":[{"anything-but":"E"}],"ST_TYPE":["WAY"]}}`,
		`{"properties":{"STREET":[{"anything-but":["MISSION","UNKNOWN","JACKSON","FULTON"]}]}}`,
		`{"properties":{"LOT_NUM":[{"anything-but":"001"}]}}`,
	}, false},
	{"AnythingButPrefix", []string{
		`{"properties":{"STREET":[{"anything-but":{"prefix":"M"}}]}}`,
		`{"properties":{"STREET":[{"anything-but":{"prefix":"UNK"}}]}}`,
		`{"properties":{"ST_TYPE":[{"anything-but":{"prefix":"S"}}]}}`,
		`{"properties":{"MAPBLKLOT":[{"anything-but":{"prefix":"1"}}]}}`,
		`{"properties":{"LOT_NUM":[{"anything-but":{"prefix":"0"}}]}}`,
	}, false},
	{"AnythingButSuffix", []string{
		`{"properties":{"STREET":[{"anything-but":{"suffix":"ON"}}]}}`,
		`{"properties":{"STREET":[{"anything-but":{"suffix":"N"}}]}}`,
		`{"properties":{"ST_TYPE":[{"anything-but":{"suffix":"T"}}]}}`,
		`{"properties":{"MAPBLKLOT":[{"anything-but":{"suffix":"1"}}]}}`,
		`{"properties":{"LOT_NUM":[{"anything-but":{"suffix":"0"}}]}}`,
	}, false},
	{"AnythingButIgnoreCase", []string{
		`{"properties":{"STREET":[{"anything-but":{"equals-ignore-case":"unknown"}}]}}`,
		`{"properties":{"STREET":[{"anything-but":{"equals-ignore-case":["Mission","jackson"]}}]}}`,
		`{"properties":{"ST_TYPE":[{"anything-but":{"equals-ignore-case":["st","ave","blvd"]}}]}}`,
		`{"properties":{"ODD_EVEN":[{"anything-but":{"equals-ignore-case":"e"}}]}}`,
		`{"properties":{"STREET":[{"anything-but":{"equals-ignore-case":"Fulton"}}],"ST_TYPE":["ST"]}}`,
	}, false},
	{"AnythingButWildcard", []string{
		`{"properties":{"STREET":[{"anything-but":{"wildcard":"*A*"}}]}}`,
		`{"properties":{"STREET":[{"anything-but":{"wildcard":["M*","*N"]}}]}}`,
		`{"properties":{"ST_TYPE":[{"anything-but":{"wildcard":"*T"}}]}}`,
		`{"properties":{"MAPBLKLOT":[{"anything-but":{"wildcard":"*1*"}}]}}`,
		`{"properties":{"LOT_NUM":[{"anything-but":{"wildcard":"0*"}}]}}`,
	}, false},
	{"Numeric", []string{
		`{"geometry":{"firstCoordinates":{"x":[{"numeric":["<",-122.5]}]}}}`,
		`{"geometry":{"firstCoordinates":{"x":[{"numeric":[">=",-122.4,"<=",-122.39]}]}}}`,
		`{"geometry":{"firstCoordinates":{"y":[{"numeric":[">",37.8]}]}}}`,
		`{"geometry":{"firstCoordinates":{"z":[{"numeric":["=",0]}],"y":[{"numeric":["<",37.71]}]}}}`,
		`{"geometry":{"firstCoordinates":{"x":[{"numeric":[">",-122.45]}],"y":[{"numeric":["<",37.72]}]}}}`,
	}, false},
	{"Exists", []string{
		`{"properties":{"ST_TYPE":[{"exists":true}]}}`,
		`{"properties":{"FOO":[{"exists":false}]}}`,
		`{"properties":{"MAPBLKLOT":[{"exists":true}],"STREET":["MISSION"]}}`,
		`{"geometry":{"type":[{"exists":false}]}}`,
		`{"properties":{"LOT_NUM":[{"exists":true}],"ODD_EVEN":[{"exists":true}]}}`,
	}, false},
	{"CIDR", []string{
		`{"ip":[{"cidr":"10.0.0.0/16"}]}`,
		`{"ip":[{"cidr":"10.20.0.0/14"}]}`,
		`{"ip":[{"cidr":"2001:db8:1000::/36"}]}`,
		`{"ip":[{"cidr":"10.29.0.0/16"}]}`,
		`{"ip":[{"cidr":"2001:db8::/32"}]}`,
	}, true},
	{"ComplexArrays", []string{
		`{"geometry":{"type":["Polygon"],"coordinates":{"x":[{"numeric":["<",-122.5135]}]}}}`,
		`{"geometry":{"type":["MultiPolygon"],"coordinates":{"y":[{"numeric":[">",37.8]}]}}}`,
		`{"geometry":{"coordinates":{"x":[{"numeric":[">",-122.3575]}],"y":[{"numeric":["<",37.7085]}]}}}`,
		`{"geometry":{"coordinates":{"z":[0],"x":[{"numeric":["<",-122.5139]}]}}}`,
		`{"properties":{"STREET":["MISSION"]},"geometry":{"coordinates":{"x":[{"numeric":[">",-122.4,"<",-122.39]}],"y":[{"numeric":[">",37.83]}]}}}`,
	}, false},
}

// allKinds is every 5-rule set together (the ip field is present).
func allKinds() benchSet {
	s := benchSet{name: "AllKinds", ip: true}
	for _, b := range benchSets {
		s.rules = append(s.rules, b.rules...)
	}
	return s
}

// thousand is 1,000 rules on the properties: exact block numbers, map/block/lot
// prefixes, lot-number suffixes and case-insensitive street/side pairs.
func thousand() benchSet {
	s := benchSet{name: "Rules1000"}
	streets := []string{"unknown", "mission", "washington", "jackson", "fulton", "mason", "clayton", "lincoln", "madison", "hudson",
		"jefferson", "beach", "hyde", "chestnut", "lake", "park", "drake", "blake", "bluxome", "acacia", "acadia", "drumm", "funston",
		"fuente", "rhode island", "rhine", "king", "spring", "sterling", "chicago", "san diego", "amigo", "hamm", "cranleigh", "17th",
		"24th", "ashbury", "castro", "noe", "valencia", "geary", "irving", "taraval"}
	for i := 0; i < 400; i++ {
		s.rules = append(s.rules, fmt.Sprintf(`{"properties":{"BLOCK_NUM":["%04d"]}}`, 1+i*18))
	}
	for i := 0; i < 200; i++ {
		s.rules = append(s.rules, fmt.Sprintf(`{"properties":{"MAPBLKLOT":[{"prefix":"%05d"}]}}`, 100+i*37))
	}
	for i := 0; i < 100; i++ {
		s.rules = append(s.rules, fmt.Sprintf(`{"properties":{"LOT_NUM":[{"suffix":"%02d"}],"ODD_EVEN":["%s"]}}`, i, []string{"E", "O"}[i%2]))
	}
	for i := 0; i < 300; i++ {
		st := streets[i%len(streets)]
		s.rules = append(s.rules, fmt.Sprintf(`{"properties":{"STREET":[{"equals-ignore-case":%q}],"FROM_ST":["%d"]}}`, st, i*13))
	}
	return s
}

func allBenchSets() []benchSet {
	return append(append([]benchSet(nil), benchSets...), allKinds(), thousand())
}

func (s benchSet) ruleSet(tb testing.TB) (*RuleSet, []*Pattern) {
	rs := NewRuleSet()
	var ps []*Pattern
	for i, r := range s.rules {
		p, err := Parse([]byte(r))
		if err != nil {
			tb.Fatalf("%s rule %d: %v", s.name, i, err)
		}
		ps = append(ps, p)
		rs.Add(strconv.Itoa(i), p)
	}
	return rs, ps
}

func (s benchSet) data(tb testing.TB) [][]byte {
	if s.ip {
		return withIP(tb)
	}
	return loadCityLots(tb)
}

// BenchmarkCityLots measures RuleSet.Match over the data set, one event per
// iteration: ns/op is per event; events/s, allocs/event and the number of
// matches over the whole data set are reported as metrics.
//
//	go test ./filter -run '^$' -bench CityLots -cpu 1 -benchtime 1s
func BenchmarkCityLots(b *testing.B) {
	for _, set := range allBenchSets() {
		b.Run(set.name, func(b *testing.B) {
			lines := set.data(b)
			rs, _ := set.ruleSet(b)
			total := 0
			dst := make([]string, 0, 64)
			for _, l := range lines {
				var err error
				dst, err = rs.AppendMatches(dst[:0], l)
				if err != nil {
					b.Fatal(err)
				}
				total += len(dst)
			}
			timeMatches(b, rs, lines, total)
		})
	}
}

// timeMatches times rs over lines (b.N events, cycling) and reports events
// per second of wall and of CPU time, and the matches of one pass.
func timeMatches(b *testing.B, rs *RuleSet, lines [][]byte, matches int) {
	dst := make([]string, 0, 64)
	runtime.GC() // collect the loading garbage outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		dst, _ = rs.AppendMatches(dst[:0], lines[i%len(lines)])
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 {
		// On a shared machine wall time includes waiting for a core;
		// events per second of process CPU time does not.
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
	b.ReportMetric(float64(matches), "matches")
}

// TestBenchSetsAgree cross-checks the compiled RuleSet against the reference
// evaluator (Pattern.Match on the decoded event) for every benchmark set on a
// sample of the data set.
func TestBenchSetsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the citylots data set")
	}
	step := 97
	for _, set := range append(allBenchSets(), mixedSet(100), mixedSet(1000)) {
		t.Run(set.name, func(t *testing.T) {
			lines := set.data(t)
			rs, ps := set.ruleSet(t)
			matches := 0
			for i := 0; i < len(lines); i += step {
				got, err := rs.Match(lines[i])
				if err != nil {
					t.Fatal(err)
				}
				// Pattern.Match is decodeEvent + evalNode; decode once for all patterns.
				ev, err := decodeEvent(lines[i])
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for j, p := range ps {
					if evalNode(p.root, ev) {
						want = append(want, strconv.Itoa(j))
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("line %d: RuleSet %v, reference %v\n%s", i+1, got, want, lines[i])
				}
				matches += len(got)
			}
			t.Logf("%d matches in %d sampled events", matches, (len(lines)+step-1)/step)
		})
	}
}

// BenchmarkHot measures the same event repeatedly (in cache): the CPU cost
// of matching without memory traffic.
func BenchmarkHot(b *testing.B) {
	for _, set := range allBenchSets() {
		b.Run(set.name, func(b *testing.B) {
			l := firstLine(b, set.ip)
			rs, _ := set.ruleSet(b)
			dst := make([]string, 0, 64)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				dst, _ = rs.AppendMatches(dst[:0], l)
			}
			cpu := cpuTime() - cpu0
			if cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
			}
		})
	}
}
