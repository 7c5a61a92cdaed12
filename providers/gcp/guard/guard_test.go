package guard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers/internal/guardwasm"
)

// TestGuardAgreesWithFilter: the generated entrypoint, under node, gives
// package filter's verdict on every (pattern, event) of filter's oracle
// corpus (the engine is the same code; this checks the glue: memory,
// lengths, the verdict codes), and wraps handlers so that only matching
// events reach them.
func TestGuardAgreesWithFilter(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Skip(t, "node", "install Node.js 20 or later: the guard's entrypoint runs under it")
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{EntryFile: EntryJS(), WasmFile: WasmGz(), guardwasm.EngineFile: guardwasm.EngineJS(),
		"index.js": []byte(`exports.handler = (req, res) => { console.log("HANDLED " + JSON.parse(req.rawBody).id); res.status(200).send("ok"); };` + "\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open("../../../filter/testdata/oracle/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var in bytes.Buffer
	var want []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c struct{ Pattern, Event string }
		if json.Unmarshal(sc.Bytes(), &c) != nil {
			continue
		}
		p, err := filter.Parse([]byte(c.Pattern))
		if err != nil {
			continue // refused at load: never deployed
		}
		ok, err := p.Match([]byte(c.Event))
		verdict := "0"
		if ok && err == nil {
			verdict = "1"
		}
		want = append(want, verdict)
		line, _ := json.Marshal([]string{c.Pattern, c.Event})
		in.Write(append(line, '\n'))
	}
	const script = `const g = require(process.argv[1] + "/evcli_guard.js").__evcliGuard;
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
const out = lines.map((l) => { const [p, e] = JSON.parse(l); return g.matches(p, Buffer.from(e)) ? "1" : "0"; });
console.log(out.join(""));`
	cmd := exec.Command("node", "--no-warnings", "-e", script, dir)
	cmd.Stdin = &in
	cmd.Env = append(os.Environ(), "EVCLI_RULES=[]", "EVCLI_GUARD_MAIN=index.js")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	if got != strings.Join(want, "") {
		n := 0
		for i := range min(len(got), len(want)) {
			if string(got[i]) != want[i] && n < 10 {
				n++
				t.Errorf("case %d: guard %c, filter %s", i, got[i], want[i])
			}
		}
		t.Fatalf("guard and filter disagree (%d verdicts, %d cases)", len(got), len(want))
	}
	t.Logf("%d cases agree", len(want))

	// The wrapped handler runs only for what a rule matches.
	const run = `const m = require(process.argv[1] + "/evcli_guard.js");
for (const ev of [{id: "big", source: "shop", detail: {amount: 500}}, {id: "small", source: "shop", detail: {amount: 5}}]) {
  const raw = Buffer.from(JSON.stringify(ev));
  m.handler({ rawBody: raw, headers: {} }, { status(c) { this.c = c; return this; }, send() { console.log("STATUS " + ev.id + " " + this.c); } });
}`
	cmd = exec.Command("node", "--no-warnings", "-e", run, dir)
	cmd.Env = append(os.Environ(), `EVCLI_RULES=[{"id":"r0","pattern":{"source":["shop"],"detail":{"amount":[{"numeric":[">",100]}]}}}]`,
		"EVCLI_GUARD_MAIN=index.js", "EVCLI_FUNCTION=big")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	for _, w := range []string{"HANDLED big", "STATUS big 200", "event small matches no rule of big", "STATUS small 204"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(string(out), "HANDLED small") {
		t.Errorf("the handler ran for an event no rule matches:\n%s", out)
	}
}
