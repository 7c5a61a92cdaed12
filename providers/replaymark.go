package providers

import (
	"bytes"
	"encoding/json"
)

// ReplayMarkerKey is the top-level detail member that marks an event
// `evcli replay` published again (see package replay for its content).
const ReplayMarkerKey = "_replay"

// IsReplayDetail reports whether detail (a JSON object) has a top-level
// ReplayMarkerKey member: whether the event is a replay. replay.Mark puts
// the marker first, which is checked without parsing; elsewhere the object's
// members are decoded.
func IsReplayDetail(detail []byte) bool {
	d := bytes.TrimSpace(detail)
	if !bytes.Contains(d, []byte(`"`+ReplayMarkerKey+`"`)) {
		return false
	}
	if bytes.HasPrefix(d, []byte(`{"`+ReplayMarkerKey+`":`)) {
		return true
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(d, &m) != nil {
		return false
	}
	_, ok := m[ReplayMarkerKey]
	return ok
}
