package tail

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func rec(fn string, at time.Duration, req, corr, msg string) Record {
	return Record{Time: t0.Add(at), Function: fn, RequestID: req, CorrelationID: corr, Message: msg}
}

func msgs(rs []Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Message+"|"+r.CorrelationID)
	}
	return out
}

func eq(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestMergeOrdersWithinWindow(t *testing.T) {
	m := NewMerger(MergerOptions{Window: 500 * time.Millisecond})
	now := t0.Add(time.Second)
	var out []Record
	out = m.Push(rec("b", 300*time.Millisecond, "", "", "b1"), now, out)
	out = m.Push(rec("a", 100*time.Millisecond, "", "", "a1"), now, out)
	out = m.Push(rec("c", 200*time.Millisecond, "", "", "c1"), now, out)
	if len(out) != 0 {
		t.Fatalf("released before the window: %q", msgs(out))
	}
	// A record 500ms newer than a1 moves the watermark past a1 only.
	out = m.Push(rec("a", 700*time.Millisecond, "", "", "a2"), now, out)
	eq(t, msgs(out), []string{"a1|", "c1|"})
	// Waiting the window releases the rest by arrival time.
	out = m.Pop(now.Add(500*time.Millisecond), out[:0])
	eq(t, msgs(out), []string{"b1|", "a2|"})
	if m.Len() != 0 {
		t.Fatalf("held %d after release", m.Len())
	}
}

func TestMergeEqualTimesKeepArrivalOrder(t *testing.T) {
	m := NewMerger(MergerOptions{})
	var out []Record
	for i := 0; i < 5; i++ {
		out = m.Push(rec("f", 0, "", "", fmt.Sprint(i)), t0, out)
	}
	out = m.Flush(out)
	eq(t, msgs(out), []string{"0|", "1|", "2|", "3|", "4|"})
}

func TestMergeLateRecordIsStillPrinted(t *testing.T) {
	m := NewMerger(MergerOptions{Window: 100 * time.Millisecond})
	out := m.Push(rec("a", time.Second, "", "", "new"), t0, nil)
	out = m.Pop(t0.Add(time.Second), out)
	out = m.Push(rec("b", 0, "", "", "late"), t0.Add(time.Second), out)
	out = m.Pop(t0.Add(2*time.Second), out)
	eq(t, msgs(out), []string{"new|", "late|"})
}

func TestPropagationWithinWindow(t *testing.T) {
	m := NewMerger(MergerOptions{Window: time.Second})
	var out []Record
	// The request's START and first line come before the line that names
	// the correlation id; END and REPORT after it. Another request
	// interleaves.
	in := []Record{
		rec("orders", 0, "r1", "", "START r1"),
		rec("orders", 10*time.Millisecond, "r1", "", "validating"),
		rec("stock", 15*time.Millisecond, "r2", "", "START r2"),
		rec("orders", 20*time.Millisecond, "r1", "c-1", "placed"),
		rec("stock", 25*time.Millisecond, "r2", "c-2", "reserved"),
		rec("orders", 30*time.Millisecond, "r1", "", "END r1"),
		rec("orders", 31*time.Millisecond, "r1", "", "REPORT r1"),
		rec("stock", 40*time.Millisecond, "", "", "no request"),
	}
	for _, r := range in {
		out = m.Push(r, t0, out)
	}
	out = m.Flush(out)
	eq(t, msgs(out), []string{"START r1|c-1", "validating|c-1", "START r2|c-2", "placed|c-1", "reserved|c-2", "END r1|c-1", "REPORT r1|c-1", "no request|"})
}

func TestPropagationAfterWindowOnlyForward(t *testing.T) {
	m := NewMerger(MergerOptions{Window: 100 * time.Millisecond})
	out := m.Push(rec("orders", 0, "r1", "", "early"), t0, nil)
	out = m.Pop(t0.Add(time.Second), out) // released uncorrelated: its id was not known in time
	out = m.Push(rec("orders", time.Second, "r1", "c-1", "named"), t0.Add(time.Second), out)
	out = m.Push(rec("orders", time.Second+time.Millisecond, "r1", "", "later"), t0.Add(time.Second), out)
	out = m.Flush(out)
	eq(t, msgs(out), []string{"early|", "named|c-1", "later|c-1"})
}

func TestMergeMemoryBound(t *testing.T) {
	const maxBuf, maxReq = 100, 1000
	m := NewMerger(MergerOptions{Window: time.Hour, MaxBuffered: maxBuf, MaxRequests: maxReq})
	var out []Record
	released := 0
	for i := 0; i < 200_000; i++ {
		// Times go backwards and nothing is due by the clock: only the
		// bound releases records.
		r := rec("f", -time.Duration(i)*time.Millisecond, fmt.Sprintf("req-%d", i), fmt.Sprintf("c-%d", i), "x")
		out = m.Push(r, t0, out[:0])
		released += len(out)
		if m.Len() > maxBuf || m.Requests() > maxReq {
			t.Fatalf("after %d records: %d held, %d requests remembered; caps %d and %d", i+1, m.Len(), m.Requests(), maxBuf, maxReq)
		}
	}
	if released != 200_000-maxBuf {
		t.Fatalf("released %d, want %d", released, 200_000-maxBuf)
	}
	// The newest requests are remembered, the oldest forgotten.
	if _, ok := m.reqs.Get("req-199999"); !ok {
		t.Error("newest request forgotten")
	}
	if _, ok := m.reqs.Get("req-0"); ok {
		t.Error("oldest request still remembered")
	}
}

func TestBoundedMapKeepsFirstValue(t *testing.T) {
	b := newBoundedMap(2)
	b.Put("a", "1")
	b.Put("a", "2")
	b.Put("b", "3")
	b.Put("c", "4")
	if _, ok := b.Get("a"); ok {
		t.Error("a not evicted")
	}
	if v, _ := b.Get("b"); v != "3" {
		t.Errorf("b = %q", v)
	}
	if b.Len() != 2 {
		t.Errorf("len = %d", b.Len())
	}
}

func TestPlainPrinterTimes(t *testing.T) {
	var b strings.Builder
	p := NewPlainPrinter(&b, false)
	for _, tm := range []time.Time{
		t0, t0.Add(999 * time.Millisecond), t0.Add(time.Second + 5*time.Millisecond), t0.Add(time.Second + 5*time.Millisecond + 999*time.Microsecond),
		time.Date(2024, 12, 31, 23, 59, 59, 1e6, time.FixedZone("x", 3600)),
	} {
		_ = p.Write(Record{Time: tm, Function: "f", Message: "m"})
		want := tm.UTC().Format(TimeFormat) + " f m\n"
		_ = p.Flush()
		if got := b.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		b.Reset()
	}
}

func TestMergeOddTimes(t *testing.T) {
	m := NewMerger(MergerOptions{})
	var out []Record
	out = m.Push(Record{Message: "no time"}, t0, out) // placed at its arrival
	out = m.Push(Record{Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), Message: "year 1"}, t0, out)
	out = m.Push(Record{Time: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), Message: "year 9999"}, t0, out)
	// The bogus future line does not end reordering for the others.
	out = m.Push(Record{Time: t0.Add(200 * time.Millisecond), Message: "b"}, t0, out)
	out = m.Push(Record{Time: t0.Add(100 * time.Millisecond), Message: "a"}, t0, out)
	out = m.Flush(out)
	eq(t, msgs(out), []string{"year 1|", "no time|", "a|", "b|", "year 9999|"})
}
