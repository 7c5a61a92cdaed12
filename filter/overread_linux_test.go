package filter

import (
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

// TestNoOverRead places events (whole and cut at every length) so that they
// end exactly at an unreadable page: a scanner load past the end of the
// event faults instead of reading a neighbour's bytes.
func TestNoOverRead(t *testing.T) {
	mem, page := guardedPage(t)
	rs := overReadRules()
	events := []string{
		`{"type":"Feature","properties":{"MAPBLKLOT":"4980173","BLKLOT":"4980173","BLOCK_NUM":"4980","LOT_NUM":"173","FROM_ST":"3543","TO_ST":"3547","STREET":"MISSION","ST_TYPE":"AVE","ODD_EVEN":"O"},"geometry":{"type":"Polygon","coordinates":[[{"x":-122.4617594966547,"y":37.73635855475701,"z":0.0}]],"firstCoordinates":{"x":-122.4617594966547,"y":37.73635855475701,"z":0.0}}}`,
		`{"ip":"10.19.116.173","abcdefghijklmnop":"v","a_long_member_name_over_16":"value","arr":[{"k":"v","n":12345678901234567},{"k":"w\"x","n":1}]}`,
	}
	for _, c := range matchCases {
		events = append(events, c.event)
	}
	for _, ev := range events {
		for n := 1; n <= len(ev) && n < page; n++ {
			b := mem[page-n : page : page]
			copy(b, ev[:n])
			_, _ = rs.Match(b) // must not fault; cut events are errors or partial reads
		}
	}
}

// TestNoReadPastLen is TestNoOverRead with slices whose capacity runs
// into the unreadable page: the event's length, not its capacity, bounds
// every load.
func TestNoReadPastLen(t *testing.T) {
	mem, page := guardedPage(t)
	rs := overReadRules()
	events := []string{
		`{"properties":{"STREET":"AB","ST_TYPE":"S","MAPBLKLOT":"1","LOT_NUM":"9","ODD_EVEN":"E"},"a":"x","bb":"y"}`,
		`{"a":"x","bb":"y","properties":{"STREET":"a\"b","ST_TYPE":"","MAPBLKLOT":"12345678"}}`,
		`{"properties":{"ODD_EVEN":"E","STREET":"AB"}}`,
	}
	for _, ev := range events {
		for n := 1; n <= len(ev); n++ {
			full := unsafe.Slice(&mem[page-n], n+16) // the capacity runs past the readable page
			b := full[:n]
			copy(b, ev[:n])
			_, _ = rs.Match(b) // must not fault
		}
	}
}

// guardedPage maps two pages and makes the second unreadable: mem[:page]
// ends exactly where a load faults. The mapping goes away with the test.
func guardedPage(t *testing.T) (mem []byte, page int) {
	t.Helper()
	page = syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		t.Skip(err)
	}
	return mem, page
}

// overReadRules is a rule set that reads every kind of value.
func overReadRules() *RuleSet {
	rs := NewRuleSet()
	for i, r := range append(append([]string(nil), scanRules...), allKinds().rules...) {
		rs.Add(strconv.Itoa(i), MustParse(r))
	}
	return rs
}
