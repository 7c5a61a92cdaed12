package cmd

import (
	"strings"
	"testing"
)

func TestRollbackAWS(t *testing.T) {
	e := newAWSCmdEnv(t)
	a := newFakeAWS()
	useAWSDriver(t, a)
	for range 3 { // versions 1..3 of inventory
		if code := e.run("deploy", "--function", "inventory"); code != 0 {
			t.Fatalf("exit %d\n%s", code, e.errOut)
		}
		delete(a.fns, "inventory") // so that the next deploy publishes again
	}

	if code := e.run("rollback", "inventory"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	if e.out.String() != "inventory: live 3 -> 2\n" || a.live["inventory"] != 2 {
		t.Fatalf("stdout %q, live %d", e.out, a.live["inventory"])
	}
	if code := e.run("rollback", "inventory", "--to", "1", "-o", "json"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	want := `{"command":"rollback","schema":"1","type":"version"}` + "\n" +
		`{"alias":"live","from":"2","function":"inventory","to":"1","type":"rollback"}` + "\n"
	if e.out.String() != want || a.live["inventory"] != 1 {
		t.Fatalf("stdout %q, live %d", e.out, a.live["inventory"])
	}
}

func TestRollbackErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no version before", []string{"rollback", "inventory"}, 1, "evcli: function inventory: no version 0\n"},
		{"not deployed", []string{"rollback", "shipping"}, 1, "evcli: function shipping: no alias live\n  deploy it first: evcli deploy\n"},
		{"unknown function", []string{"rollback", "inventroy"}, 2, `did you mean "inventory"?`},
		{"bad version", []string{"rollback", "inventory", "--to", "v2"}, 2, `--to "v2": name a published version number, e.g. --to 6`},
		{"no function", []string{"rollback"}, 2, "accepts 1 arg(s), received 0"},
		{"local", []string{"rollback", "inventory", "--provider", "local"}, 2,
			"evcli: rollback is not available on local: it keeps no earlier versions; deploy the earlier code again\n"},
		// azure is registered: it opens and refuses this AWS project's store.
		{"azure", []string{"rollback", "inventory", "--provider", "azure"}, 1, "the azure provider reads a cosmos event store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAWSCmdEnv(t)
			a := newFakeAWS()
			useAWSDriver(t, a)
			if code := e.run("deploy", "--function", "inventory"); code != 0 {
				t.Fatalf("exit %d\n%s", code, e.errOut)
			}
			if code := e.run(tc.args...); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, e.errOut)
			}
			if !strings.Contains(e.errOut.String(), tc.want) {
				t.Fatalf("stderr %q lacks %q", e.errOut, tc.want)
			}
			if a.live["inventory"] != 1 {
				t.Fatalf("live moved to %d", a.live["inventory"])
			}
		})
	}
}
