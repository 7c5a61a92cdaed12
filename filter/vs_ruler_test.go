package filter

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The side-by-side benchmark with event-ruler, the engine EventBridge runs
// (issue #21, item 6). filter/oracle/bench.sh runs it; by hand:
//
//	go test ./filter -run '^TestVsRuler$' -v -vsruler.rounds 5
//
// It needs filter/oracle/build/ruler-bench (filter/oracle/build.sh) and java;
// without them, or without -vsruler.rounds, it skips and says why.
var (
	vsRulerRounds = flag.Int("vsruler.rounds", 0, "TestVsRuler: timed passes per engine and set (0 skips the test)")
	vsRulerWarm   = flag.Int("vsruler.warm", 2, "TestVsRuler: untimed passes of event-ruler per set before timing (JIT warm-up)")
	vsRulerSets   = flag.String("vsruler.sets", "", "TestVsRuler: regexp of the set names to run (all when empty)")
)

// rulerBenchPath returns the event-ruler timing driver's launcher:
// $EVCLI_RULER_BENCH, or oracle/build/ruler-bench; ok is false when it or
// java is absent.
func rulerBenchPath() (string, bool) {
	p := os.Getenv("EVCLI_RULER_BENCH")
	if p == "" {
		_, file, _, _ := runtime.Caller(0)
		p = filepath.Join(filepath.Dir(file), "oracle", "build", "ruler-bench")
	}
	if _, err := os.Stat(p); err != nil {
		return p, false
	}
	if _, err := exec.LookPath("java"); err != nil {
		return p, false
	}
	return p, true
}

// mixedSet is n rules of every kind the citylots properties and coordinates
// allow, in turn: exact, prefix, suffix with an exact, equals-ignore-case
// with an exact, wildcard, numeric range with an exact, anything-but under
// an exact, exists under an exact. The exacts keep each rule's matches rare,
// as an EventBridge bus's rules are (source, detail-type), so the time is the
// matching's and not the answer's.
func mixedSet(n int) benchSet {
	streets := []string{"unknown", "mission", "washington", "jackson", "fulton", "mason", "clayton", "lincoln", "madison", "hudson",
		"jefferson", "beach", "hyde", "chestnut", "lake", "park", "drake", "blake", "bluxome", "acacia", "acadia", "drumm", "funston"}
	s := benchSet{name: fmt.Sprintf("Mixed%d", n)}
	for i := 0; i < n; i++ {
		k := i / 8
		var r string
		switch i % 8 {
		case 0:
			r = fmt.Sprintf(`{"properties":{"BLOCK_NUM":["%04d"]}}`, 1+k*7)
		case 1:
			r = fmt.Sprintf(`{"properties":{"MAPBLKLOT":[{"prefix":"%05d"}]}}`, 100+k*7)
		case 2:
			r = fmt.Sprintf(`{"properties":{"LOT_NUM":[{"suffix":"%02d"}],"ODD_EVEN":["%s"],"BLOCK_NUM":[{"prefix":"%d"}]}}`, k%100, []string{"E", "O"}[k%2], k/100%10)
		case 3:
			r = fmt.Sprintf(`{"properties":{"STREET":[{"equals-ignore-case":%q}],"FROM_ST":["%d"]}}`, streets[k%len(streets)], k*13)
		case 4:
			r = fmt.Sprintf(`{"properties":{"MAPBLKLOT":[{"wildcard":"%02d*%02d"}]}}`, k%100, k*7%100)
		case 5:
			x := -122.52 + float64(k%700)*0.0002
			r = fmt.Sprintf(`{"properties":{"ODD_EVEN":["%s"]},"geometry":{"firstCoordinates":{"x":[{"numeric":[">=",%.4f,"<",%.4f]}]}}}`, []string{"E", "O"}[k%2], x, x+0.0002)
		case 6:
			r = fmt.Sprintf(`{"properties":{"BLOCK_NUM":["%04d"],"STREET":[{"anything-but":["UNKNOWN",%q]}]}}`, 4+k*7, strings.ToUpper(streets[k%len(streets)]))
		case 7:
			r = fmt.Sprintf(`{"properties":{"FROM_ST":["%d"],"ST_TYPE":[{"exists":true}],"TO_ST":[{"exists":true}]}}`, 1+k*11)
		}
		s.rules = append(s.rules, r)
	}
	return s
}

// rulerBench is a running RulerBench.java.
type rulerBench struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startRulerBench(path string) (*rulerBench, error) {
	cmd := exec.Command(path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &rulerBench{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

// do sends one command and returns the fields of its answer.
func (r *rulerBench) do(cmd string) ([]string, error) {
	if _, err := io.WriteString(r.in, cmd+"\n"); err != nil {
		return nil, err
	}
	l, err := r.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("ruler-bench %q: %v", cmd, err)
	}
	f := strings.Fields(l)
	if len(f) == 0 || f[0] == "error" {
		return nil, fmt.Errorf("ruler-bench %q: %s", cmd, strings.TrimSpace(l))
	}
	return f, nil
}

func (r *rulerBench) close() {
	io.WriteString(r.in, "quit\n")
	r.in.Close()
	r.cmd.Wait()
}

// pass is one engine's pass over a set's events.
type pass struct {
	matches   int
	wall, cpu time.Duration
}

func (r *rulerBench) run() (pass, error) {
	f, err := r.do("run")
	if err != nil {
		return pass{}, err
	}
	if len(f) != 3 {
		return pass{}, fmt.Errorf("ruler-bench run: %q", f)
	}
	m, _ := strconv.Atoi(f[0])
	w, _ := strconv.ParseInt(f[1], 10, 64)
	c, _ := strconv.ParseInt(f[2], 10, 64)
	return pass{m, time.Duration(w), time.Duration(c)}, nil
}

func evcliPass(rs *RuleSet, lines [][]byte, dst []string) pass {
	var p pass
	cpu0, t0 := cpuTime(), time.Now()
	for _, l := range lines {
		dst, _ = rs.AppendMatches(dst[:0], l)
		p.matches += len(dst)
	}
	p.wall, p.cpu = time.Since(t0), cpuTime()-cpu0
	return p
}

func writeLines(path string, lines [][]byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, l := range lines {
		w.Write(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func medianRate(ps []pass, n int, cpu bool) float64 {
	r := make([]float64, len(ps))
	for i, p := range ps {
		d := p.wall
		if cpu {
			d = p.cpu
		}
		r[i] = float64(n) / d.Seconds()
	}
	slices.Sort(r)
	return r[len(r)/2]
}

// TestVsRuler runs every citylots set (filter's benchmark sets, 1,000 rules,
// and mixed sets of 100, 1,000 and 10,000 rules) through evcli's RuleSet and
// through event-ruler in a java process, alternating one pass of each over
// all 213,068 events, and prints the medians; both must give the same
// number of matches on every pass.
func TestVsRuler(t *testing.T) {
	if *vsRulerRounds <= 0 {
		t.Skip("side by side with event-ruler: run filter/oracle/bench.sh, or -vsruler.rounds N")
	}
	path, ok := rulerBenchPath()
	if !ok {
		t.Skipf("event-ruler timing driver %s not built or java absent: run EVENT_RULER_SRC=/path/to/event-ruler filter/oracle/build.sh (needs java 17)", path)
	}
	var only *regexp.Regexp
	if *vsRulerSets != "" {
		only = regexp.MustCompile(*vsRulerSets)
	}
	rb, err := startRulerBench(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.close()
	dir := t.TempDir()
	sets := append(allBenchSets(), mixedSet(100), mixedSet(1000), mixedSet(10000))

	type row struct {
		name                    string
		rules, matches          int
		evW, evC, jW, jC, ratio float64
	}
	var rows []row
	written := map[bool]string{}
	for _, set := range sets {
		if only != nil && !only.MatchString(set.name) {
			continue
		}
		lines := set.data(t)
		ev, ok := written[set.ip]
		if !ok {
			ev = filepath.Join(dir, fmt.Sprintf("events-ip-%v.ndjson", set.ip))
			if err := writeLines(ev, lines); err != nil {
				t.Fatal(err)
			}
			written[set.ip] = ev
		}
		rulesPath := filepath.Join(dir, set.name+".rules")
		if err := os.WriteFile(rulesPath, []byte(strings.Join(set.rules, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := rb.do("events " + ev); err != nil {
			t.Fatal(err)
		}
		if _, err := rb.do("rules " + rulesPath); err != nil {
			t.Fatalf("%s: %v", set.name, err)
		}
		rs, _ := set.ruleSet(t)
		dst := make([]string, 0, 256)
		want := evcliPass(rs, lines, dst).matches // warm-up: evcli learns the events' shape
		for i := 0; i < *vsRulerWarm; i++ {
			if _, err := rb.run(); err != nil {
				t.Fatal(err)
			}
		}
		var evs, js []pass
		runtime.GC()
		for i := 0; i < *vsRulerRounds; i++ {
			e := evcliPass(rs, lines, dst)
			j, err := rb.run()
			if err != nil {
				t.Fatal(err)
			}
			if e.matches != want || j.matches != want {
				t.Errorf("%s: evcli %d matches, event-ruler %d", set.name, e.matches, j.matches)
			}
			evs, js = append(evs, e), append(js, j)
		}
		r := row{name: set.name, rules: len(set.rules), matches: want,
			evW: medianRate(evs, len(lines), false), evC: medianRate(evs, len(lines), true),
			jW: medianRate(js, len(lines), false), jC: medianRate(js, len(lines), true)}
		r.ratio = r.evC / r.jC
		t.Logf("%-22s evcli %6.2fM/cpu-s  event-ruler %6.3fM/cpu-s  %5.1f×", r.name, r.evC/1e6, r.jC/1e6, r.ratio)
		rows = append(rows, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| set | rules | matches | evcli events/s (wall) | evcli events per CPU-s | event-ruler events/s (wall) | event-ruler events per CPU-s | evcli / event-ruler (CPU) |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %.2fM | %.2fM | %.3fM | %.3fM | %.1f× |\n", r.name, r.rules, r.matches, r.evW/1e6, r.evC/1e6, r.jW/1e6, r.jC/1e6, r.ratio)
	}
	t.Log(b.String())
}

// BenchmarkCityLotsMixed is BenchmarkCityLots on the mixed sets, for
// profiling them without java:
//
//	go test ./filter -run '^$' -bench CityLotsMixed -cpu 1 -benchtime 213068x -cpuprofile cpu.prof
func BenchmarkCityLotsMixed(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		set := mixedSet(n)
		b.Run(set.name, func(b *testing.B) {
			lines := set.data(b)
			rs, _ := set.ruleSet(b)
			want := evcliPass(rs, lines, make([]string, 0, 64)).matches
			timeMatches(b, rs, lines, int(want))
		})
	}
}

// TestWildcardIndex: a field with enough wildcards to be indexed by the
// head of their first piece (wildIndexMin) matches as the reference
// evaluator does, with leading stars, empty values, values sharing a first
// byte, and keys of one, two, three and eight bytes.
func TestWildcardIndex(t *testing.T) {
	ws := []string{"a*", "ab*c", "*c", "*", "a*b*c", "b*", "bc", "\\**", "x*y", "xy*", "*y*", "abc", "c*a", "1*2", "12*"}
	testWildcardIndex(t, ws, 1)
	testWildcardIndex(t, []string{"ab*", "ab*c", "*c", "abc*d", "ab", "xy*z", "xyz", "ab*b*", "12*", "12", "1234*5", "12*34*"}, 2)
	testWildcardIndex(t, []string{"abc*", "abcd*c", "abc", "xyz*", "xyzz", "123*4", "1234", "abx*", "*"}, 3)
	testWildcardIndex(t, []string{"abcdefgh*", "abcdefghi*j", "abcdefgh", "abcdefgx*", "abcdefghijklmnopq*r", "*z", "bbbbbbbbb", "abcdefghab*"}, 8)
}

func testWildcardIndex(t *testing.T, ws []string, key int) {
	if len(ws) < wildIndexMin {
		t.Fatal("too few wildcards to be indexed")
	}
	rs := NewRuleSet()
	var ps []*Pattern
	for i, w := range ws {
		p, err := Parse([]byte(fmt.Sprintf(`{"v":[{"wildcard":%q}]}`, w)))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		rs.Add(strconv.Itoa(i), p)
	}
	if f := rs.engine().root.child("v", false).field; f.wildT == nil || f.wildKey != key {
		t.Fatalf("%q: key of %d bytes, want %d", ws, f.wildKey, key)
	}
	for _, v := range []string{"", "a", "abc", "abbc", "bc", "b", "c", "ca", "*x", "xy", "xay", "y", "12", "1x2", "abcabc", "zzz", "a b c",
		"ab", "abcd", "abcdc", "abcdefgh", "abcdefghij", "abcdefghijklmnopqzr", "abcdefgxx", "1234", "12345", "123x4", "1234345",
		"xyz", "xyzz", "xyzaz", "abxy", "abcdefghabq", "bbbbbbbbb", "abcdefghabcdefghij", "abcdefgh\u00e9*"} {
		ev := []byte(fmt.Sprintf(`{"v":%q}`, v))
		got, err := rs.Match(ev)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i, p := range ps {
			if ok, _ := p.Match(ev); ok {
				want = append(want, strconv.Itoa(i))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: RuleSet %v, reference %v", v, got, want)
		}
	}
}
