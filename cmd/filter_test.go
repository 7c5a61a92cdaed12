package cmd

import (
	"context"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
)

// filterGoldenDir is absolute: other tests chdir.
var filterGoldenDir = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "testdata", "filter")
}()

func filterGolden(t *testing.T, name, got string) {
	t.Helper()
	assertGolden(t, filepath.Join(filterGoldenDir, name+".golden"), got)
}

var filterT0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const filterProject = `project: shop
functions:
  ship-order:
    source: functions/ship
    runtime: provided.al2023
    events:
      - pattern: {source: [shop.orders], detail-type: [OrderPlaced]}
      - pattern: '{"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 100]}]}}'
  broken:
    source: functions/broken
    runtime: provided.al2023
    events:
      - pattern: {source: [shop.orders]}
`

type filterEnv struct {
	f           *cmdutil.Factory
	in          *strings.Builder
	out, errOut *syncBuf
	dir         string
}

func newFilterEnv(t *testing.T) *filterEnv {
	t.Helper()
	io, _, _, _ := cmdutil.Test()
	out, errOut := &syncBuf{}, &syncBuf{}
	io.Out, io.ErrOut = out, errOut
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte(filterProject), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"ship", "broken"} {
		if err := os.MkdirAll(filepath.Join(dir, "functions", fn), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := &cmdutil.Factory{
		IO:      io,
		Globals: &cmdutil.Globals{File: filepath.Join(dir, "evcli.yaml"), Output: "text", Color: "auto"},
		Now:     func() time.Time { return filterT0 },
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Getenv:  func(string) string { return "" },
		Environ: func() []string { return nil },
	}
	return &filterEnv{f: f, out: out, errOut: errOut, dir: dir}
}

func (e *filterEnv) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *filterEnv) run(t *testing.T, stdin string, args ...string) int {
	t.Helper()
	e.f.IO.In = strings.NewReader(stdin)
	return Run(context.Background(), e.f, args)
}

// rel replaces the temporary directory in s, for golden files.
func (e *filterEnv) rel(s string) string {
	return strings.ReplaceAll(s, e.dir+string(filepath.Separator), "")
}

const filterEvents = `{"id":"e1","source":"shop.orders","detail-type":"OrderPlaced","detail":{"total":250,"items":[{"sku":"A","qty":1},{"sku":"B","qty":3}]}}
{"id":"e2","source":"shop.orders","detail-type":"OrderPlaced","detail":{"total":"99","items":[{"sku":"A","qty":3},{"sku":"B","qty":1}]}}

{"id":"e3","source":"shop.payments","detail-type":"PaymentFailed","detail":{"reason":"card declined"}}
`

const filterPattern = `{
  "source": ["shop.orders"],
  "detail": {
    "total": [{"numeric": [">", 100]}],
    "items": {"sku": ["B"], "qty": [{"numeric": [">=", 2]}]}
  }
}`

func TestFilterTestText(t *testing.T) {
	e := newFilterEnv(t)
	p := e.file(t, "pattern.json", filterPattern)
	ev := e.file(t, "events.ndjson", filterEvents)
	code := e.run(t, "", "filter", "test", "--pattern", p, "--event", ev)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, e.errOut)
	}
	filterGolden(t, "text", e.rel(e.out.String())+"--- stderr ---\n"+e.rel(e.errOut.String()))
}

func TestFilterTestVerbose(t *testing.T) {
	e := newFilterEnv(t)
	p := e.file(t, "pattern.json", filterPattern)
	code := e.run(t, filterEvents, "filter", "test", "-p", p, "-v", "-p", `{"$or":[{"source":["shop.payments"]},{"detail":{"total":[250]}}]}`)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, e.errOut)
	}
	filterGolden(t, "verbose", e.rel(e.out.String()))
}

func TestFilterTestJSON(t *testing.T) {
	e2 := newFilterEnv(t)
	e2.f.Globals.Output = "json"
	arr := "[" + strings.Join(strings.Split(strings.TrimSpace(strings.ReplaceAll(filterEvents, "\n\n", "\n")), "\n"), ",\n") + "]"
	code := e2.run(t, arr, "filter", "test", "--pattern", e2.file(t, "p.json", filterPattern), "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, e2.errOut)
	}
	filterGolden(t, "json", e2.rel(e2.out.String()))
}

func TestFilterTestAllMatch(t *testing.T) {
	e := newFilterEnv(t)
	code := e.run(t, `{"source":"a","detail":{}}`, "filter", "test", "--pattern", `{"source":["a"]}`)
	if code != 0 || e.out.String() != "match stdin:1\n" {
		t.Fatalf("exit %d, out %q, err %q", code, e.out, e.errOut)
	}
}

func TestFilterTestTTYColour(t *testing.T) {
	e := newFilterEnv(t)
	e.f.IO.SetStdoutTTY(true)
	e.run(t, `{"source":"a"}`+"\n"+`{"source":"b"}`, "filter", "test", "--pattern", `{"source":["a"]}`)
	if got := e.out.String(); !strings.Contains(got, "\x1b[32mmatch\x1b[0m stdin:1") || !strings.Contains(got, "\x1b[31mno match\x1b[0m stdin:2") {
		t.Fatalf("no colour on a terminal: %q", got)
	}
}

func TestFilterTestErrors(t *testing.T) {
	cases := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"invalid inline pattern", `{}`, []string{"--pattern", `{"detail":{"price":[{"numeric":[">","1"]}]}}`}, 2,
			`evcli: --pattern 1: pattern: detail.price[0].numeric[1]: expected a number after ">", not "1" (numbers are not quoted)`},
		{"unknown operator", `{}`, []string{"--pattern", `{"a":[{"prefx":"x"}]}`}, 2, `did you mean "prefix"?`},
		{"missing pattern file", `{}`, []string{"--pattern", "nope.json"}, 2, `--pattern "nope.json": no such file`},
		{"no pattern", `{}`, nil, 2, "give at least one --pattern or --rule"},
		{"bad ndjson line", "{\"a\":1}\n{\"a\":1,}\n", []string{"--pattern", `{"a":[1]}`}, 2, "evcli: stdin:2:8: invalid JSON"},
		{"event not object", "{\"a\":1}\n[1]\n", []string{"--pattern", `{"a":[1]}`}, 2, "evcli: stdin:2:1: not an event"},
		{"array element not object", "[{\"a\":1}, 7]", []string{"--pattern", `{"a":[1]}`}, 2, "evcli: stdin:1:11: [1]: not an event"},
		{"no events", "", []string{"--pattern", `{"a":[1]}`}, 2, "no events in stdin"},
		{"since with event", "", []string{"--pattern", `{"a":[1]}`, "--since", "1h", "--event", "x"}, 2, "cannot be combined"},
		{"bad since", "", []string{"--pattern", `{"a":[1]}`, "--since", "yesterday"}, 2, `invalid --since "yesterday"`},
		{"unknown rule", "", []string{"--rule", "ship-ordr"}, 2, `did you mean "ship-order"?`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newFilterEnv(t)
			code := e.run(t, c.stdin, append([]string{"filter", "test"}, c.args...)...)
			if code != c.code || !strings.Contains(e.errOut.String(), c.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, e.errOut, c.code, c.stderr)
			}
		})
	}
}

func TestFilterTestRule(t *testing.T) {
	e := newFilterEnv(t)
	t.Chdir(e.dir)
	code := e.run(t, filterEvents, "filter", "test", "--rule", "ship-order")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, e.errOut)
	}
	want := "match stdin:1 (ship-order[0], ship-order[1])\nmatch stdin:2 (ship-order[0])\nno match stdin:4: "
	if got := e.out.String(); !strings.HasPrefix(got, want) {
		t.Fatalf("got\n%s\nwant prefix\n%s", got, want)
	}
}

func TestFilterCount(t *testing.T) {
	e := newFilterEnv(t)
	ev := e.file(t, "events.ndjson", filterEvents)
	code := e.run(t, "", "filter", "test", "--count", "--event", ev, "-p", `{"source":["shop.orders"]}`, "-p", `{"detail":{"total":[{"numeric":[">",0]}]}}`, "-p", `{"source":["nope"]}`)
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, e.errOut)
	}
	if got, want := e.out.String(), "2\tpattern 1\n1\tpattern 2\n0\tpattern 3\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !strings.HasPrefix(e.errOut.String(), "3 events read") {
		t.Fatalf("stderr %q", e.errOut)
	}

	e = newFilterEnv(t)
	code = e.run(t, filterEvents, "filter", "test", "--count", "-p", `{"source":["nope"]}`)
	if code != 1 || e.out.String() != "0\n" {
		t.Fatalf("exit %d, out %q: want 1 and 0", code, e.out)
	}

	e = newFilterEnv(t)
	e.f.Globals.Output = "json"
	e.run(t, filterEvents, "filter", "test", "--count", "-p", `{"source":["shop.orders"]}`, "-o", "json")
	want := `{"command":"filter test","schema":"1","type":"version"}
{"matched":2,"pattern":"pattern 1","type":"count"}
{"events":3,"matched":2,"type":"total"}
`
	if got := e.out.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// filterStore is an in-memory event store.
type filterStore struct{ evs []providers.StoredEvent }

func (s *filterStore) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		for _, ev := range s.evs {
			if !q.Since.IsZero() && ev.Time.Before(q.Since) {
				continue
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

func filterStoreEvents() *filterStore {
	s := &filterStore{}
	add := func(id, typ, detail string, ago time.Duration) {
		s.evs = append(s.evs, providers.StoredEvent{Event: providers.Event{
			Version: "0", ID: id, Source: "shop.orders", DetailType: typ, Account: "123456789012", Region: "us-east-1",
			Time: filterT0.Add(-ago), Detail: []byte(detail),
		}})
	}
	add("old", "OrderPlaced", `{"total":500}`, 48*time.Hour)
	for i, total := range []int{50, 150, 250, 350, 450} {
		add("op-"+string(rune('a'+i)), "OrderPlaced", `{"total":`+itoa3(total)+`}`, time.Duration(i+1)*time.Hour)
	}
	add("oc-a", "OrderCancelled", `{"total":300}`, 2*time.Hour)
	add("pf-a", "PaymentFailed", `{"reason":"declined"}`, 3*time.Hour)
	return s
}

func itoa3(n int) string {
	return strings.TrimLeft(string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)}), "0")
}

func TestFilterSince(t *testing.T) {
	e := newFilterEnv(t)
	store := filterStoreEvents()
	e.f.OpenProvider = openAs(func() *providers.Provider { return &providers.Provider{Store: store} })
	code := e.run(t, "", "filter", "test", "--since", "24h", "-p", `{"detail":{"total":[{"numeric":[">",100]}]}}`, "--samples", "2")
	if code != 0 {
		t.Fatalf("exit %d; stderr %s", code, e.errOut)
	}
	got := e.out.String()
	e = newFilterEnv(t)
	e.f.OpenProvider = openAs(func() *providers.Provider { return &providers.Provider{Store: store} })
	e.f.Globals.Output = "json"
	e.run(t, "", "filter", "test", "--since", "24h", "-p", `{"detail":{"total":[{"numeric":[">",100]}]}}`, "--samples", "2", "-o", "json")
	filterGolden(t, "since", got+"--- json ---\n"+e.out.String())

	e = newFilterEnv(t)
	e.f.OpenProvider = openAs(func() *providers.Provider { return &providers.Provider{Store: store} })
	if code := e.run(t, "", "filter", "test", "--since", "24h", "-p", `{"source":["none"]}`); code != 1 {
		t.Fatalf("nothing matched: exit %d, want 1", code)
	}
	e = newFilterEnv(t)
	e.f.OpenProvider = openAs(func() *providers.Provider { return &providers.Provider{Store: &filterStore{}} })
	if code := e.run(t, "", "filter", "test", "--since", "24h", "-p", `{"source":["none"]}`); code != 1 || !strings.Contains(e.errOut.String(), "no events stored since 2026-11-25T12:00:00Z") {
		t.Fatalf("empty store: exit %d, stderr %q", code, e.errOut)
	}
}

func TestFilterValidate(t *testing.T) {
	e := newFilterEnv(t)
	p := e.file(t, "p.json", `{"state":["a"],"detail":{"n":[1,1]}}`)
	code := e.run(t, "", "filter", "validate", p, `{"detail":{"x":[{"wildcard":"a**"}]}}`, `{"source":["a"]}`)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	got := e.rel(e.out.String()) + "--- stderr ---\n" + e.rel(e.errOut.String())
	e = newFilterEnv(t)
	e.f.Globals.Output = "json"
	e.run(t, "", "filter", "validate", `{"detail":{"x":[{"wildcard":"a**"}]}}`, `{"source":["a"]}`, "-o", "json")
	got += "--- json ---\n" + e.out.String()
	e = newFilterEnv(t)
	t.Chdir(e.dir)
	if code := e.run(t, "", "filter", "validate", "--rule", "ship-order"); code != 0 {
		t.Fatalf("--rule: exit %d, stderr %s", code, e.errOut)
	}
	got += "--- rule ---\n" + e.out.String()
	filterGolden(t, "validate", got)
}
