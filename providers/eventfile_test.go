package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseEvents(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"envelope", `{"source":"shop","detail-type":"OrderCreated","detail":{"orderId":"1"}}`, 1, ""},
		{"array", `[{"source":"a","detail-type":"X","detail":{}},{"source":"b","detail-type":"Y","detail":{}}]`, 2, ""},
		{"ndjson", "{\"source\":\"a\",\"detail-type\":\"X\",\"detail\":{}}\n{\"source\":\"b\",\"detail-type\":\"Y\",\"detail\":{}}\n", 2, ""},
		{"entries", `{"Entries":[{"Source":"a","DetailType":"X","Detail":"{\"k\":1}","EventBusName":"bus"}]}`, 1, ""},
		{"entries array", `[{"Source":"a","DetailType":"X","Detail":"{}"}]`, 1, ""},
		{"bad json", "{\"source\":\"a\",\n  \"detail-type\": }", 0, "ev.json:2:18: invalid JSON"},
		{"truncated", "{\"source\":\"a\"", 0, "ev.json:1:14: invalid JSON: unexpected end of file"},
		{"missing source", `{"detail-type":"X","detail":{}}`, 0, "ev.json:1:1: source: is required"},
		{"detail not object", "{\"source\":\"a\",\"detail-type\":\"X\",\n \"detail\":\"nope\"}", 0, "ev.json:2:2: detail: must be a JSON object, got a string"},
		{"typo", `{"source":"a","detailType":"X","detail":{}}`, 0, `ev.json:1:15: detailType: unknown field "detailType"; did you mean "detail-type"?`},
		{"second ndjson line bad", "{\"source\":\"a\",\"detail-type\":\"X\",\"detail\":{}}\n{\"source\":\"\",\"detail-type\":\"X\",\"detail\":{}}\n", 0, "ev.json:2:2: [1].source: must not be empty"},
		{"array item path", `[{"source":"a","detail-type":"X","detail":{}}, {"source":"a","detail-type":"X","detail":[]}]`, 0, "ev.json:1:80: [1].detail: must be a JSON object, got an array"},
		{"entry detail not json", `{"Entries":[{"Source":"a","DetailType":"X","Detail":"{oops"}]}`, 0, "Entries[0].Detail: must hold a JSON object"},
		{"bad time", `{"source":"a","detail-type":"X","detail":{},"time":"yesterday"}`, 0, `time: "yesterday" is not an RFC 3339 time`},
		{"scalar", `42`, 0, "ev.json:1:1: not an event: an event must be a JSON object"},
		{"empty", ``, 0, "ev.json: no events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := ParseEvents("ev.json", []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tt.want {
				t.Fatalf("got %d events, want %d", len(evs), tt.want)
			}
		})
	}
}

func TestParseEventsFields(t *testing.T) {
	evs, err := ParseEvents("e", []byte(`{"Entries":[{"Source":"s","DetailType":"T","Detail":"{ \"a\" : 1 }","EventBusName":"b","Time":"2026-01-02T03:04:05Z","Resources":["r"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	if e.Source != "s" || e.DetailType != "T" || string(e.Detail) != `{"a":1}` || e.EventBusName != "b" ||
		e.Time.Format("2006-01-02T15:04:05Z") != "2026-01-02T03:04:05Z" || len(e.Resources) != 1 {
		t.Fatalf("got %+v", e)
	}
}

func FuzzParseEvents(f *testing.F) {
	for _, s := range []string{
		`{"source":"shop","detail-type":"OrderCreated","detail":{"orderId":"1"}}`,
		`[{"source":"a","detail-type":"X","detail":{}}]`,
		`{"Entries":[{"Source":"a","DetailType":"X","Detail":"{}"}]}`,
		"{\"source\":\"a\",\"detail-type\":\"X\",\"detail\":{}}\n{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := ParseEvents("f", data)
		if err != nil {
			if _, ok := err.(*EventInputError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, e := range evs {
			if e.Source == "" || e.DetailType == "" || len(e.Detail) == 0 || e.Detail[0] != '{' {
				t.Fatalf("invalid event accepted: %+v", e)
			}
		}
	})
}

func TestReadEvents(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // "line path data"
		err      string
	}{
		{"single", `{"a":1}`, []string{`1  {"a":1}`}, ""},
		{"pretty single", "\n{\n  \"a\": 1\n}\n", []string{"2  {\n  \"a\": 1\n}\n"}, ""},
		{"ndjson", "{\"a\":1}\n\n{\"a\":2}\r\n{\"a\":3}", []string{`1  {"a":1}`, `3  {"a":2}`, `4  {"a":3}`}, ""},
		{"array", "[{\"a\":1},\n {\"a\":2}]", []string{`1 [0] {"a":1}`, `2 [1] {"a":2}`}, ""},
		{"empty array", "[ ]", nil, ""},
		{"empty", "  \n", nil, ""},
		{"ndjson bad line", "{\"a\":1}\n{\"a\":}\n", nil, "in:2:6: invalid JSON"},
		{"ndjson not object", "{\"a\":1}\n[1]\n", nil, "in:2:1: not an event"},
		{"array not object", "[{\"a\":1},\n 5]", nil, "in:2:2: [1]: not an event"},
		{"array bad json", "[{\"a\":1},\n {\"a\" 2}]", nil, "in:2:7: [1]: invalid JSON"},
		{"array trailing", "[{\"a\":1}] x", nil, "in:1:11: unexpected data"},
		{"incomplete", "{\"a\":\n1", nil, "in:2:2: invalid JSON: unexpected end"},
		{"two on a line", "{\"a\":1} {\"b\":2}\n", nil, "in:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			err := ReadEvents(strings.NewReader(c.in), "in", true, func(e RawEvent) error {
				got = append(got, strings.Join([]string{strconv.Itoa(e.Line), e.Path, string(e.Data)}, " "))
				return nil
			})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want it to contain %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

// FuzzReadEvents: no panic; errors are *EventInputError; with validate
// every event is a JSON object; the events, compacted and written back as
// NDJSON, read back as the same events.
func FuzzReadEvents(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, "\n{\n  \"a\": 1\n}\n", "{\"a\":1}\n\n{\"a\":2}\r\n{\"a\":3}", "[{\"a\":1},\n {\"a\":2}]", "[ ]",
		"{\"a\":1}\n{\"a\":}\n", "[{\"a\":1},\n 5]", "[{\"a\":1}] x", "{\"a\":\n1", "{\"a\":1} {\"b\":2}\n",
		`{"Entries":[{"Source":"a","DetailType":"X","Detail":"{}"}]}`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, validate bool) {
		var got [][]byte
		err := ReadEvents(bytes.NewReader(data), "f", validate, func(ev RawEvent) error {
			if ev.Line < 1 || ev.Col < 1 {
				t.Fatalf("event %d at %d:%d", ev.Index, ev.Line, ev.Col)
			}
			got = append(got, append([]byte(nil), ev.Data...))
			return nil
		})
		if err != nil {
			var ie *EventInputError
			if !errors.As(err, &ie) || ie.Line < 1 {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if !validate {
			return
		}
		var nd bytes.Buffer
		for _, d := range got {
			if !json.Valid(d) || bytes.TrimSpace(d)[0] != '{' {
				t.Fatalf("accepted %q", d)
			}
			if err := json.Compact(&nd, d); err != nil {
				t.Fatal(err)
			}
			nd.WriteByte('\n')
		}
		var again [][]byte
		if err := ReadEvents(&nd, "f", true, func(ev RawEvent) error {
			again = append(again, append([]byte(nil), ev.Data...))
			return nil
		}); err != nil || len(again) != len(got) {
			t.Fatalf("%q: read back %d of %d events, %v", data, len(again), len(got), err)
		}
	})
}
