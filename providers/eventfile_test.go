package providers

import (
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
		{"scalar", `42`, 0, "ev.json:1:1: an event must be a JSON object"},
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
