package store

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/evcli/evcli/providers"
)

// FuzzEnvelope: any detail derives keys without panicking, and an envelope
// that parses re-marshals to a form that parses back to the same bytes.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"version":"0","id":"1","detail-type":"T","source":"s","account":"1","time":"2026-11-26T10:00:00.5Z","region":"r","resources":[],"detail":{"aggregateId":"a","version":2}}`))
	f.Add([]byte(`{"detail":{"correlation_id":7,"metadata":{"correlationId":"m"}}}`))
	f.Add([]byte(`{"time":"nope"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		se := providers.StoredEvent{Event: providers.Event{Detail: json.RawMessage(b)}}
		DeriveKeys(&se)
		ev, err := UnmarshalEnvelope(b)
		if err != nil {
			return
		}
		if y := ev.Time.Year(); y < 1 || y > 9999 {
			return
		}
		if len(ev.Detail) > 0 && !json.Valid(ev.Detail) {
			return
		}
		once, err := providers.MarshalEnvelope(&ev)
		if err != nil {
			return // a detail that is not valid JSON on its own
		}
		ev2, err := UnmarshalEnvelope(once)
		if err != nil {
			t.Fatalf("re-marshalled envelope does not parse: %v\n%s", err, once)
		}
		twice, err := providers.MarshalEnvelope(&ev2)
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("not stable:\n%s\n%s", once, twice)
		}
	})
}
