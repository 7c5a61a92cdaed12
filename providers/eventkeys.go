package providers

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// DeriveEventKeys fills what ev lacks of its aggregate id (detail.aggregateId
// or aggregate_id), version (aggregateVersion or version; a number or a
// numeric string) and correlation id (correlationId or correlation_id, the
// same under metadata) from its detail, through encoding/json's struct
// decoding: names match case-insensitively, and a detail that does not
// decode gives nothing. Every evcli store reads an event's keys this way
// (the local store has a faster scanner that agrees with it).
func DeriveEventKeys(ev *StoredEvent) {
	var d struct {
		AggregateID      json.RawMessage `json:"aggregateId"`
		AggregateID2     json.RawMessage `json:"aggregate_id"`
		Version          json.RawMessage `json:"version"`
		AggregateVersion json.RawMessage `json:"aggregateVersion"`
		CorrelationID    json.RawMessage `json:"correlationId"`
		CorrelationID2   json.RawMessage `json:"correlation_id"`
		Metadata         struct {
			CorrelationID  json.RawMessage `json:"correlationId"`
			CorrelationID2 json.RawMessage `json:"correlation_id"`
		} `json:"metadata"`
	}
	if json.Unmarshal(ev.Detail, &d) != nil {
		return
	}
	if ev.AggregateID == "" {
		ev.AggregateID = FirstScalar(d.AggregateID, d.AggregateID2)
	}
	if ev.AggregateVersion == 0 {
		if s := FirstScalar(d.AggregateVersion, d.Version); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				ev.AggregateVersion = n
			}
		}
	}
	if ev.CorrelationID == "" {
		ev.CorrelationID = FirstScalar(d.CorrelationID, d.CorrelationID2, d.Metadata.CorrelationID, d.Metadata.CorrelationID2)
	}
}

// FirstScalar returns the first of vs that is a non-empty JSON string or a
// number, as text.
func FirstScalar(vs ...json.RawMessage) string {
	for _, v := range vs {
		v = bytes.TrimSpace(v)
		if len(v) == 0 {
			continue
		}
		switch {
		case v[0] == '"':
			var s string
			if json.Unmarshal(v, &s) == nil && s != "" {
				return s
			}
		case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
			return string(v)
		}
	}
	return ""
}
