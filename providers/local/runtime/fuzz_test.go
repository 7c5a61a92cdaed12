package runtime

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzFunctionErrorPayload: whatever a runtime posts to /error, the caller
// gets a JSON document and a non-empty error type.
func FuzzFunctionErrorPayload(f *testing.F) {
	f.Add([]byte(`{"errorMessage":"boom","errorType":"errorString"}`), "")
	f.Add([]byte(`plain text`), "Custom.Failure")
	f.Add([]byte(``), "")
	f.Add([]byte(`[1,2]`), "X")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		out, typ := functionErrorPayload(body, header)
		if !json.Valid(out) {
			t.Fatalf("payload %q is not JSON", out)
		}
		if typ == "" && header == "" && !json.Valid(body) {
			t.Fatalf("no error type for %q", body)
		}
	})
}

// FuzzLogLines: however the output is chunked, lines come out whole,
// without newlines at their end, and nothing is lost.
func FuzzLogLines(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), uint8(1))
	f.Add([]byte("multi\rline\n\n"), uint8(3))
	f.Add([]byte(strings.Repeat("x", 300)+"\n"), uint8(7))
	f.Fuzz(func(t *testing.T, out []byte, chunk uint8) {
		if len(out) >= maxLineBytes {
			t.Skip("long lines are split")
		}
		var got []string
		m := &Manager{o: Options{Now: timeNowForTest, Logs: func(l LogLine) { got = append(got, l.Text) }}}
		p := &logPipe{in: &instance{m: m}}
		size := int(chunk)%16 + 1
		for i := 0; i < len(out); i += size {
			p.consumeLocked(out[i:min(len(out), i+size)])
		}
		p.flushPartialLocked()
		var want []string
		text := string(out)
		if text != "" {
			text = strings.TrimSuffix(text, "\n")
			for _, l := range strings.Split(text, "\n") {
				l = strings.TrimSuffix(l, "\r")
				want = append(want, strings.ReplaceAll(l, "\r", "\n"))
			}
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("lines %q, want %q", got, want)
		}
	})
}
