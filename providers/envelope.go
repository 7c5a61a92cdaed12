package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/evcli/evcli/internal/jsonstr"
	"github.com/evcli/evcli/internal/jsonvalid"
)

// The EventBridge envelope is rendered on every publish, delivery and
// replay: AppendEnvelope does it by hand, byte for byte what encoding/json
// renders for Event's fields in EventBridge's order (envelope_test.go and
// the local store's FuzzEnvelopeCodec compare the two).

// MarshalEnvelope renders ev as the EventBridge envelope a target (and an
// event pattern) sees: the fields in EventBridge's order, time in UTC RFC
// 3339 (with fractional seconds only when the time has them), resources
// never null, an empty detail as {}. A detail that is not valid JSON is
// encoding/json's error.
func MarshalEnvelope(ev *Event) ([]byte, error) {
	d := jsonTrimSpace(ev.Detail)
	if len(d) > 0 && !jsonvalid.Valid(d) {
		if len(bytes.TrimSpace(d)) == 0 { // only Unicode spaces such as \f: {}, as encoding/json would have it
			e := *ev
			e.Detail = nil
			ev = &e
		} else {
			_, err := json.Marshal(json.RawMessage(d)) // for encoding/json's words
			return nil, fmt.Errorf("envelope detail: %w", err)
		}
	}
	// The buffer is sized for the usual envelope: the fixed members and
	// times take under 200 bytes.
	return AppendEnvelope(make([]byte, 0, 200+len(ev.ID)+len(ev.Source)+len(ev.DetailType)+len(ev.Detail)), ev), nil
}

const hexDigits = "0123456789abcdef"

// AppendEnvelope appends MarshalEnvelope's rendering of ev to dst. ev's
// detail must be valid JSON or empty (the local store checks it once, on the
// way in, and renders without checking again).
func AppendEnvelope(dst []byte, ev *Event) []byte {
	dst = append(dst, `{"version":`...)
	dst = jsonstr.Append(dst, ev.Version)
	dst = append(dst, `,"id":`...)
	dst = jsonstr.Append(dst, ev.ID)
	dst = append(dst, `,"detail-type":`...)
	dst = jsonstr.Append(dst, ev.DetailType)
	dst = append(dst, `,"source":`...)
	dst = jsonstr.Append(dst, ev.Source)
	dst = append(dst, `,"account":`...)
	dst = jsonstr.Append(dst, ev.Account)
	dst = append(dst, `,"time":"`...)
	dst = ev.Time.UTC().AppendFormat(dst, time.RFC3339Nano) // digits and -:.TZ only
	dst = append(dst, `","region":`...)
	dst = jsonstr.Append(dst, ev.Region)
	dst = append(dst, `,"resources":[`...)
	for i, r := range ev.Resources {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, r)
	}
	dst = append(dst, `],"detail":`...)
	if d := jsonTrimSpace(ev.Detail); len(d) == 0 {
		dst = append(dst, '{', '}')
	} else {
		dst = appendCompactJSON(dst, d)
	}
	return append(dst, '}')
}

// appendCompactJSON appends the valid JSON value src as json.Marshal renders
// a json.RawMessage: without insignificant white space, with <, >, &, U+2028
// and U+2029 escaped. Other bytes are copied as they are.
func appendCompactJSON(dst, src []byte) []byte {
	start := 0
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case escaped:
				escaped = false
				continue
			case c == '\\':
				escaped = true
				continue
			case c == '"':
				inString = false
				continue
			}
		} else {
			switch c {
			case ' ', '\t', '\n', '\r':
				dst = append(dst, src[start:i]...)
				start = i + 1
				continue
			case '"':
				inString = true
				continue
			}
		}
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			start = i + 1
		case c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8:
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xf])
			i += 2
			start = i + 1
		}
	}
	return append(dst, src[start:]...)
}

func jsonTrimSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
