package tail

import (
	"testing"

	"github.com/evcli/evcli/providers"
)

func TestLinesBetweenStartAndEndBelongToTheRequest(t *testing.T) {
	p, _ := NewParser(nil)
	inv := newInvocations()
	line := func(stream, msg string) Record {
		return inv.attribute(p.Parse(providers.LogLine{Function: "orders", Stream: stream, Message: msg}))
	}
	const a, b = "8f5e1a2b-0000-4000-8000-00000000000a", "8f5e1a2b-0000-4000-8000-00000000000b"
	var got []string
	for _, r := range []Record{
		line("s1", "before any request"),
		line("s1", "START RequestId: "+a+" Version: 3"),
		line("s2", "START RequestId: "+b+" Version: 3"),
		line("s1", "order placed"),
		line("s2", "payment taken"),
		line("s1", "END RequestId: "+a),
		line("s1", "REPORT RequestId: "+a+"\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB"),
		line("s1", "after the request"),
	} {
		got = append(got, r.RequestID)
	}
	want := []string{"", a, b, a, b, a, a, ""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: request %q, want %q", i, got[i], want[i])
		}
	}
}
