package asl

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics, reports offsets inside the source, and a
// definition it accepts has every transition pointing at a state.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/invalid/*.asl.json")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Map","ItemProcessor":{"StartAt":"B","States":{"B":{"Type":"Succeed"}}},"End":true}}}`))
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsNull":true},"Next":"A"}],"Default":"B"},"B":{"Type":"Fail"}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		sm, diags := Parse(src, Options{Functions: []string{"payment"}})
		for _, d := range diags {
			if d.Off < 0 || d.Off > len(src) {
				t.Fatalf("offset %d outside a %d-byte source: %s", d.Off, len(src), d.Msg)
			}
		}
		if sm == nil {
			if len(diags) == 0 {
				t.Fatal("no machine and no diagnostics")
			}
			return
		}
		checkTargets(t, sm)
	})
}

func checkTargets(t *testing.T, sm *StateMachine) {
	if sm.States[sm.StartAt] == nil {
		t.Fatalf("StartAt %q is no state", sm.StartAt)
	}
	for name, st := range sm.States {
		for _, next := range []string{st.Next, st.Default} {
			if next != "" && sm.States[next] == nil {
				t.Fatalf("%s leads to %q, no state", name, next)
			}
		}
		if st.Type != "Choice" && st.Type != "Succeed" && st.Type != "Fail" && st.Next == "" && !st.End {
			t.Fatalf("%s has neither Next nor End", name)
		}
		for _, b := range st.Branches {
			checkTargets(t, b)
		}
		if st.Processor != nil {
			checkTargets(t, st.Processor)
		}
	}
}

// FuzzPath: ParsePath never panics; a parsed path prints as written,
// reparses, and selects from a document without panicking.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"$", "$$.Execution.Id", "$.a.b[0]", "$['a b'][-1]", "$..c", "$.a[*]", "$.a[1:3:2]", "$.a[0,2]", "$.a[?(@.p < 10 && @.q)]", "$.a[?(@.s == 'x' || @.n != null)]"} {
		f.Add(s)
	}
	doc := map[string]any{"a": []any{map[string]any{"p": 1.0, "q": true, "s": "x"}, 2.0, []any{"y"}}, "b": map[string]any{"c": nil}}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if _, ok := err.(*PathError); !ok {
				t.Fatalf("error is %T", err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("String() = %q, want %q", p.String(), s)
		}
		if _, err := ParsePath(p.String()); err != nil {
			t.Fatalf("does not reparse: %v", err)
		}
		_, _ = p.Select(doc, doc)
		if p.IsReference() && !p.Context() {
			_, _ = p.Set(doc, 1.0)
		}
	})
}

// FuzzIntrinsic: ParseCall never panics, and evaluating what parses does
// not either.
func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{"States.Format('a {} b', $.x)", "States.Array(1, 'x', States.UUID())", "States.ArrayRange(1, 5, 2)", "States.Hash($.x, 'MD5')", "States.StringSplit('a b', ' ')", "States.JsonMerge($.o, $.o, false)"} {
		f.Add(s)
	}
	in := map[string]any{"x": "v", "o": map[string]any{"k": 1.0}}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCall(s)
		if err != nil {
			return
		}
		_, _ = c.Eval(&Env{Input: in})
	})
}
