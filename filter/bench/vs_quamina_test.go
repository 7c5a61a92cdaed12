package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evcli/evcli/filter"
	"quamina.net/go/quamina"
)

// The sets evcli and quamina both support, as in filter/bench_test.go
// (benchSets; quamina spells wildcard "shellstyle" and takes anything-but
// lists only). Sets with an operator quamina lacks (suffix, numeric, cidr,
// anything-but prefix/suffix/wildcard) are not compared.
var sets = []struct {
	name  string
	rules []string
}{
	{"Exact", []string{
		`{"properties":{"STREET":["CRANLEIGH"]}}`,
		`{"properties":{"STREET":["ASHBURY"],"ST_TYPE":["ST"]}}`,
		`{"properties":{"BLOCK_NUM":["3743"]}}`,
		`{"properties":{"STREET":["DRAKE"],"ODD_EVEN":["E"]}}`,
		`{"properties":{"MAPBLKLOT":["1430022"]}}`,
	}},
	{"Prefix", []string{
		`{"properties":{"STREET":[{"prefix":"AC"}]}}`,
		`{"properties":{"STREET":[{"prefix":"FUN"}]}}`,
		`{"properties":{"STREET":[{"prefix":"RH"}]}}`,
		`{"properties":{"STREET":[{"prefix":"BLU"}]}}`,
		`{"properties":{"MAPBLKLOT":[{"prefix":"VACST"}]}}`,
	}},
	{"EqualsIgnoreCase", []string{
		`{"properties":{"STREET":[{"equals-ignore-case":"mission"}]}}`,
		`{"properties":{"STREET":[{"equals-ignore-case":"Jackson"}]}}`,
		`{"properties":{"STREET":[{"equals-ignore-case":"bEaCh"}]}}`,
		`{"properties":{"STREET":[{"equals-ignore-case":"HyDe"}]}}`,
		`{"properties":{"ST_TYPE":[{"equals-ignore-case":"st"}]}}`,
	}},
	{"Wildcard", []string{
		`{"properties":{"STREET":[{"wildcard":"*INGTON"}]}}`,
		`{"properties":{"STREET":[{"wildcard":"M*N"}]}}`,
		`{"properties":{"STREET":[{"wildcard":"*A*I*"}]}}`,
		`{"properties":{"STREET":[{"wildcard":"S*G"}]}}`,
		`{"properties":{"MAPBLKLOT":[{"wildcard":"12*7"}]}}`,
	}},
	{"AnythingBut", []string{
		`{"properties":{"STREET":[{"anything-but":["UNKNOWN"]}]}}`,
		`{"properties":{"ST_TYPE":[{"anything-but":["ST","AVE"]}]}}`,
		`{"properties":{"ODD_EVEN":[{"anything-but":["E"]}],"ST_TYPE":["WAY"]}}`,
		`{"properties":{"STREET":[{"anything-but":["MISSION","UNKNOWN","JACKSON","FULTON"]}]}}`,
		`{"properties":{"LOT_NUM":[{"anything-but":["001"]}]}}`,
	}},
	{"Exists", []string{
		`{"properties":{"ST_TYPE":[{"exists":true}]}}`,
		`{"properties":{"FOO":[{"exists":false}]}}`,
		`{"properties":{"MAPBLKLOT":[{"exists":true}],"STREET":["MISSION"]}}`,
		`{"geometry":{"type":[{"exists":false}]}}`,
		`{"properties":{"LOT_NUM":[{"exists":true}],"ODD_EVEN":[{"exists":true}]}}`,
	}},
	{"Rules1000", thousand()},
}

// thousand is filter/bench_test.go's 1,000-rule set without its suffix rules
// (quamina has no suffix): 400 exact, 200 prefix, 400 equals-ignore-case pairs.
func thousand() []string {
	streets := []string{"unknown", "mission", "washington", "jackson", "fulton", "mason", "clayton", "lincoln", "madison", "hudson",
		"jefferson", "beach", "hyde", "chestnut", "lake", "park", "drake", "blake", "bluxome", "acacia", "acadia", "drumm", "funston",
		"fuente", "rhode island", "rhine", "king", "spring", "sterling", "chicago", "san diego", "amigo", "hamm", "cranleigh", "17th",
		"24th", "ashbury", "castro", "noe", "valencia", "geary", "irving", "taraval"}
	var rules []string
	for i := 0; i < 400; i++ {
		rules = append(rules, fmt.Sprintf(`{"properties":{"BLOCK_NUM":["%04d"]}}`, 1+i*18))
	}
	for i := 0; i < 200; i++ {
		rules = append(rules, fmt.Sprintf(`{"properties":{"MAPBLKLOT":[{"prefix":"%05d"}]}}`, 100+i*37))
	}
	for i := 0; i < 400; i++ {
		st := streets[i%len(streets)]
		rules = append(rules, fmt.Sprintf(`{"properties":{"STREET":[{"equals-ignore-case":%q}],"FROM_ST":["%d"]}}`, st, i*13))
	}
	return rules
}

func quaminaForm(rule string) string {
	return strings.ReplaceAll(rule, `"wildcard"`, `"shellstyle"`)
}

var (
	cityOnce  sync.Once
	cityLines [][]byte
	cityErr   error
)

func loadCityLots(tb testing.TB) [][]byte {
	tb.Helper()
	cityOnce.Do(func() {
		p := os.Getenv("EVCLI_CITYLOTS")
		if p == "" {
			p = filepath.Join("..", "..", "..", "shared", "data", "citylots2-synthetic.json.gz")
		}
		f, err := os.Open(p)
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
		all, err := io.ReadAll(bufio.NewReader(zr))
		if err != nil {
			cityErr = err
			return
		}
		for _, l := range bytes.Split(all, []byte{'\n'}) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				cityLines = append(cityLines, l[:len(l):len(l)])
			}
		}
	})
	if cityErr != nil {
		tb.Skipf("citylots data set not available (%v); set EVCLI_CITYLOTS", cityErr)
	}
	return cityLines
}

type matcher interface {
	count(ev []byte) int
}

type evcliM struct {
	rs  *filter.RuleSet
	dst []string
}

func (m *evcliM) count(ev []byte) int {
	m.dst, _ = m.rs.AppendMatches(m.dst[:0], ev)
	return len(m.dst)
}

type quaminaM struct{ q *quamina.Quamina }

func (m quaminaM) count(ev []byte) int {
	r, _ := m.q.MatchesForEvent(ev)
	return len(r)
}

func build(tb testing.TB, engine string, rules []string) matcher {
	if engine == "evcli" {
		rs := filter.NewRuleSet()
		for i, r := range rules {
			p, err := filter.Parse([]byte(r))
			if err != nil {
				tb.Fatal(err)
			}
			rs.Add(strconv.Itoa(i), p)
		}
		return &evcliM{rs: rs, dst: make([]string, 0, 64)}
	}
	q, err := quamina.New()
	if err != nil {
		tb.Fatal(err)
	}
	for i, r := range rules {
		if err := q.AddPattern(strconv.Itoa(i), quaminaForm(r)); err != nil {
			tb.Fatalf("quamina: %s: %v", r, err)
		}
	}
	return quaminaM{q}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVsQuamina runs each shared set on evcli and on quamina, one
// after the other in the same run: one op is one event.
func BenchmarkVsQuamina(b *testing.B) {
	lines := loadCityLots(b)
	for _, s := range sets {
		for _, engine := range []string{"evcli", "quamina"} {
			b.Run(s.name+"/"+engine, func(b *testing.B) {
				m := build(b, engine, s.rules)
				for _, l := range lines[:1000] { // warm up (evcli learns the shape)
					m.count(l)
				}
				runtime.GC()
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					m.count(lines[i%len(lines)])
				}
				cpu := cpuTime() - cpu0
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				if cpu > 0 {
					b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
				}
			})
		}
	}
}

// TestSameMatches: on every shared set both engines match the same number
// of (event, rule) pairs over a sample of the data set.
func TestSameMatches(t *testing.T) {
	lines := loadCityLots(t)
	for _, s := range sets {
		e, q := build(t, "evcli", s.rules), build(t, "quamina", s.rules)
		ne, nq := 0, 0
		for i := 0; i < len(lines); i += 53 {
			ne += e.count(lines[i])
			nq += q.count(lines[i])
		}
		if ne != nq {
			t.Errorf("%s: evcli %d matches, quamina %d", s.name, ne, nq)
		}
	}
}
