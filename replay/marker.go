package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/evcli/evcli/internal/jsonstr"
	"github.com/evcli/evcli/providers"
)

// MarkerKey is the detail field that marks a replayed event.
const MarkerKey = providers.ReplayMarkerKey

// Marker is the value of detail._replay in every replayed event:
//
//	"detail": {
//	  ...the original detail...,
//	  "_replay": {
//	    "replay-name": "orders-fix",
//	    "replayed": true,
//	    "originalId": "5f0e…",
//	    "originalTime": "2026-11-26T10:00:00Z",
//	    "aggregateId": "order-17",
//	    "version": 4
//	  }
//	}
//
// A rule matches only replays with {"detail":{"_replay":{"replayed":[true]}}}
// and ignores them with {"detail":{"_replay":{"replayed":[{"exists":false}]}}}.
type Marker struct {
	Name         string `json:"replay-name"`
	Replayed     bool   `json:"replayed"`
	OriginalID   string `json:"originalId"`
	OriginalTime string `json:"originalTime,omitempty"`
	AggregateID  string `json:"aggregateId,omitempty"`
	Version      int64  `json:"version,omitempty"`
}

// ReplayID is the envelope id that replay name, in the given order, gives
// the replay of se: a UUID-shaped function of the name and the event, the
// same in every run of the replay (a Record keeps its order), so that a
// batch published again after a crash carries the same ids and idempotent
// consumers drop it. (EventBridge assigns its own envelope ids; there the
// idempotency key is detail._replay's replay-name and originalId.)
//
// The ids are laid out for a store's id index (the local store's events):
//
//   - the first 32 bits hash the name, so one replay's ids share a range;
//   - the next 42 bits follow the replay's order: with OrderAggregate and
//     an aggregate id, 18 bits hashing the aggregate id, then its version
//     (24 bits, saturating); otherwise the event time in milliseconds. A
//     batch's inserts then land in a few runs of neighbouring ids, where
//     random ids took a page each all over an index as large as the replay
//     (at 1,000,000 events, 18,000 → 32,000 events/s into the local store);
//   - the last 48 bits hash the name and the original id, which keeps ids
//     of events with the same aggregate and version (or time) apart.
func ReplayID(name string, se *providers.StoredEvent, order Order) string {
	p := sha256.Sum256([]byte(name))
	h := sha256.Sum256([]byte(name + "\x00" + se.ID))
	var key uint64
	if order != OrderTime && se.AggregateID != "" {
		a := sha256.Sum256([]byte(se.AggregateID))
		v := uint64(max(se.AggregateVersion, 0))
		key = (uint64(a[0])<<10|uint64(a[1])<<2|uint64(a[2])>>6)<<24 | min(v, 1<<24-1)
	} else {
		key = uint64(max(se.Time.UnixMilli(), 0)) & (1<<42 - 1)
	}
	var u [32]byte
	copy(u[:4], p[:4])
	// The 42 bits go around the UUID's version (high nibble of byte 6)
	// and variant (top 2 bits of byte 8), so ids sort as their keys do.
	u[4] = byte(key >> 34)
	u[5] = byte(key >> 26)
	u[6] = byte(key>>22) & 0x0f
	u[7] = byte(key >> 14)
	u[8] = byte(key>>8) & 0x3f
	u[9] = byte(key)
	copy(u[10:16], h[:6])
	return uuidOf(u)
}

// prefixedReplayID is the id of replays recorded with Record.IDScheme 1:
// the name's hash, then 90 bits hashing the name and original id (random
// within the replay's range). Their resumed runs keep it.
func prefixedReplayID(name, originalID string) string {
	p := sha256.Sum256([]byte(name))
	h := sha256.Sum256([]byte(name + "\x00" + originalID))
	copy(h[:4], p[:4])
	return uuidOf(h)
}

// legacyReplayID is the id of replays recorded before ids had a prefix
// (Record.IDScheme 0): their resumed runs keep it.
func legacyReplayID(name, originalID string) string {
	return uuidOf(sha256.Sum256([]byte(name + "\x00" + originalID)))
}

// replayIDFunc returns how a replay recorded with id scheme makes ids.
func replayIDFunc(scheme int, order Order) func(name string, se *providers.StoredEvent) string {
	switch scheme {
	case 0:
		return func(name string, se *providers.StoredEvent) string { return legacyReplayID(name, se.ID) }
	case idSchemePrefixed:
		return func(name string, se *providers.StoredEvent) string { return prefixedReplayID(name, se.ID) }
	}
	return func(name string, se *providers.StoredEvent) string { return ReplayID(name, se, order) }
}

// uuidOf formats the first 16 bytes of h as a version 8 (custom) UUID.
func uuidOf(h [32]byte) string {
	h[6] = h[6]&0x0f | 0x80 // version 8: custom
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	var b [36]byte
	hex.Encode(b[0:8], h[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], h[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], h[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], h[8:10])
	b[23] = '-'
	hex.Encode(b[24:], h[10:16])
	return string(b[:])
}

// Mark returns the event to publish for se: the original envelope with a
// replay id (ReplayID in aggregate order), the bus, and detail._replay
// added (replacing one a replayed event already carried). The rest of the
// detail is kept byte for byte.
func Mark(name, bus string, se *providers.StoredEvent) (providers.Event, error) {
	return mark(name, bus, se, replayIDFunc(idSchemeOrdered, OrderAggregate))
}

func mark(name, bus string, se *providers.StoredEvent, replayID func(name string, se *providers.StoredEvent) string) (providers.Event, error) {
	ev := se.Event
	ev.ID = replayID(name, se)
	ev.EventBusName = bus
	m := Marker{Name: name, Replayed: true, OriginalID: se.ID, AggregateID: se.AggregateID, Version: se.AggregateVersion}
	if !se.Time.IsZero() {
		m.OriginalTime = se.Time.UTC().Format(time.RFC3339Nano)
	}
	d, err := withMarker(se.Detail, m.appendJSON(make([]byte, 0, 160)))
	if err != nil {
		return ev, fmt.Errorf("event %s: detail: %w", se.ID, err)
	}
	ev.Detail = d
	return ev, nil
}

func withMarker(detail, marker []byte) (json.RawMessage, error) {
	d := bytes.TrimSpace(detail)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		d = []byte("{}")
	}
	if d[0] != '{' {
		return nil, fmt.Errorf("is not a JSON object (EventBridge needs one); it starts with %q", string(d[:1]))
	}
	if bytes.Contains(d, []byte(`"`+MarkerKey+`"`)) {
		// Replaying a replay: replace the marker, keep every other member.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(d, &m); err != nil {
			return nil, fmt.Errorf("is not valid JSON: %v", err)
		}
		m[MarkerKey] = marker
		return json.Marshal(m)
	}
	out := make([]byte, 0, len(d)+len(marker)+12)
	out = append(out, `{"`+MarkerKey+`":`...)
	out = append(out, marker...)
	rest := bytes.TrimSpace(d[1:])
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	out = append(out, rest...)
	if out[len(out)-1] != '}' {
		// The rest of the detail is kept as stored: the bus rejects it
		// (MalformedDetail) if it is not valid JSON.
		return nil, fmt.Errorf("is not valid JSON: it does not end with '}'")
	}
	return out, nil
}

// appendJSON is json.Marshal(m), without reflection: it runs once per
// replayed event.
func (m *Marker) appendJSON(b []byte) []byte {
	b = append(b, `{"replay-name":`...)
	b = jsonstr.Append(b, m.Name)
	b = append(b, `,"replayed":`...)
	b = strconv.AppendBool(b, m.Replayed)
	b = append(b, `,"originalId":`...)
	b = jsonstr.Append(b, m.OriginalID)
	if m.OriginalTime != "" {
		b = append(b, `,"originalTime":`...)
		b = jsonstr.Append(b, m.OriginalTime)
	}
	if m.AggregateID != "" {
		b = append(b, `,"aggregateId":`...)
		b = jsonstr.Append(b, m.AggregateID)
	}
	if m.Version != 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, m.Version, 10)
	}
	return append(b, '}')
}
