package tail

import (
	"testing"
	"time"

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

// TestPythonExceptionBeforeTheCorrelationIDStaysInItsFlow: on a stream
// (one instance: one request at a time), an invocation logs its
// correlation id; the next raises before it logs one. Python's uncaught
// exception line ("[ERROR] ValueError: …\rTraceback …") carries no request
// id of its own where the platform does not tag lines (CloudWatch), and
// only the request id on the local store: either way it goes to the flow
// of the invocation that raised, keyed by that request id, counted as an
// error there, and never to the flow of the invocation before it.
func TestPythonExceptionBeforeTheCorrelationIDStaysInItsFlow(t *testing.T) {
	const ok, raised = "8f5e1a2b-0000-4000-8000-0000000000a1", "8f5e1a2b-0000-4000-8000-0000000000b2"
	const exception = "[ERROR] ValueError: bad sku s-2\rTraceback (most recent call last):\r  File \"/var/task/app.py\", line 6, in handler\r    raise ValueError(\"bad sku \" + d.get(\"sku\", \"\"))"
	report := func(id string) string {
		return "REPORT RequestId: " + id + "\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB"
	}
	for _, tagged := range []bool{false, true} {
		p, _ := NewParser(nil)
		inv := newInvocations()
		m := NewMerger(MergerOptions{})
		fs := NewFlows(0, 0)
		at := t0
		var out []Record
		line := func(req, msg string) {
			at = at.Add(time.Millisecond)
			l := providers.LogLine{Time: at, Function: "stock", Stream: "s1", Message: msg}
			if tagged {
				l.RequestID = req
			}
			out = m.Push(inv.attribute(p.Parse(l)), at, out)
		}
		line(ok, "START RequestId: "+ok+" Version: $LATEST")
		line(ok, `{"msg":"reserved","sku":"s-1","correlationId":"c-ok"}`)
		line(ok, "END RequestId: "+ok)
		line(ok, report(ok))
		line(raised, "START RequestId: "+raised+" Version: $LATEST")
		line(raised, exception)
		line(raised, "END RequestId: "+raised)
		line(raised, report(raised))
		for _, r := range m.Flush(out) {
			fs.Add(r)
		}
		okFlow, raisedFlow := fs.Get("c-ok"), fs.Get(raised)
		if okFlow == nil || okFlow.Lines != 4 || okFlow.Errors != 0 {
			t.Fatalf("tagged=%v: flow c-ok = %+v; want its 4 lines and no error", tagged, okFlow)
		}
		if raisedFlow == nil || !raisedFlow.ByRequest || raisedFlow.Lines != 4 || raisedFlow.Errors != 1 {
			t.Fatalf("tagged=%v: flow of request %s = %+v; want its 4 lines, keyed by request id, with 1 error", tagged, raised, raisedFlow)
		}
		if r := raisedFlow.Records[1]; r.Message != exception || r.Level != LevelError {
			t.Fatalf("tagged=%v: the exception's record = %+v", tagged, r)
		}
		if fs.Len() != 2 {
			t.Fatalf("tagged=%v: %d flows, want 2", tagged, fs.Len())
		}
	}
}
