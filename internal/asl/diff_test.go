package asl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// oracleDir is the npm package aws-local-stepfunctions: EVCLI_ASL_ORACLE,
// else .ci's node_modules (.ci/run installs it).
func oracleDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not in PATH: the differential test runs aws-local-stepfunctions (install Node.js 20+)")
	}
	dir := os.Getenv("EVCLI_ASL_ORACLE")
	if dir == "" {
		dir, _ = filepath.Abs("../../.ci/node_modules/aws-local-stepfunctions")
	}
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		t.Skipf("aws-local-stepfunctions is not installed at %s: run (cd .ci && npm ci), or set EVCLI_ASL_ORACLE to its directory", dir)
	}
	return dir
}

// differential says, per case of testdata/run, what the comparison leaves
// out and why.
var differential = map[string]struct {
	skip   string            // why the case is not compared
	ignore map[string]string // top-level output members left out, and why
}{
	"lambda-invoke": {skip: "the package's Task override replaces the whole lambda:invoke integration, so the wrapping is not its to compare"},
	"intrinsics": {ignore: map[string]string{
		"uuid":   "States.UUID is random",
		"random": "States.MathRandom's seeded generator is each implementation's own",
		"split":  "the package splits on the whole delimiter string; Step Functions (and here) on each of its characters: 'a,b;c' by ',;' is [a b c]",
	}},
	"choice-ispresent":   {skip: `the package's "IsPresent": false does not match an absent field (Step Functions: it does); here it does`},
	"intrinsic-failure":  {skip: "the package's States.ArrayGetItem returns null past the array's end; Step Functions fails with States.IntrinsicFailure, as here"},
	"paths-slices":       {skip: "the package's path validator refuses slices with a step ([1:5:2], [::-2]), and fails with States.Runtime where a filter matches nothing (Step Functions, and here: [])"},
	"resultpath-failure": {skip: "the package applies a ResultPath to a non-object input without failing (Step Functions fails with States.ResultPathMatchFailure)"},
}

// TestDifferential runs every state machine of testdata/run with this
// executor and with the npm package aws-local-stepfunctions (v3, on Node
// 20 with a Promise.withResolvers polyfill) over the same fake functions,
// and checks that both give the same output, or fail with the same error
// name. The package runs every case in one Node process: a process per
// case was most of this test's time.
func TestDifferential(t *testing.T) {
	oracle := oracleDir(t)
	files, _ := filepath.Glob("testdata/run/*.json")
	type compared struct {
		name string
		ours map[string]any
	}
	var cases []compared
	var reqs []json.RawMessage
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		if d := differential[name]; d.skip != "" {
			t.Run(name, func(t *testing.T) { t.Skip(d.skip) })
			continue
		}
		data, _ := os.ReadFile(file)
		var c runCase
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		sm, err := ParseFile(file, c.Definition, Options{})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var events []Event
		e := newExecutor(newClock(), &events)
		out, err := e.Run(context.Background(), sm, testExecution, "", c.Input)
		ours := map[string]any{}
		var f *Failure
		switch {
		case err == nil:
			ours["output"] = out
		case errors.As(err, &f):
			ours["error"] = f.Name
		default:
			t.Fatalf("%s: %v", file, err)
		}
		ctxObj := map[string]any{"Execution": map[string]any{"Id": testExecution.ID, "Name": testExecution.Name,
			"StartTime": "2026-01-01T00:00:00.000Z", "Input": c.Input}}
		req, _ := json.Marshal(map[string]any{"definition": json.RawMessage(c.Definition), "input": c.Input, "context": ctxObj})
		cases = append(cases, compared{name, ours})
		reqs = append(reqs, req)
	}
	body, _ := json.Marshal(reqs)
	cmd := exec.Command("node", "testdata/oracle/run.cjs")
	cmd.Env = append(os.Environ(), "ORACLE="+oracle)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	var results []map[string]any
	if err := json.Unmarshal(raw, &results); err != nil || len(results) != len(cases) {
		t.Fatalf("oracle said %.300s (%d results for %d cases): %v", raw, len(results), len(cases), err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ours, theirs := c.ours, results[i]
			for k := range differential[c.name].ignore {
				for _, m := range []map[string]any{ours, theirs} {
					if o, ok := m["output"].(map[string]any); ok {
						delete(o, k)
					}
				}
			}
			if ours["error"] != nil || theirs["error"] != nil {
				if ours["error"] != theirs["error"] {
					t.Errorf("error: ours %v, aws-local-stepfunctions %v (%v)", ours["error"], theirs["error"], theirs["cause"])
				}
				return
			}
			if !jsonEqual(normalize(ours["output"]), normalize(theirs["output"])) {
				a, _ := json.Marshal(ours["output"])
				b, _ := json.Marshal(theirs["output"])
				t.Errorf("output differs\nours:   %s\ntheirs: %s", a, b)
			}
		})
	}
}

// normalize round-trips v through JSON, so both sides have the same types.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
