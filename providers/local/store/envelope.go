package store

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/evcli/evcli/internal/jsonvalid"
	"github.com/evcli/evcli/providers"
)

// The envelope is parsed and searched for keys on every publish, delivery
// and replay: this file does it by hand, byte for byte what encoding/json
// accepts (envelope_test.go and FuzzEnvelope compare the two), and falls
// back to encoding/json for anything unusual. It is written by
// providers.AppendEnvelope, the one renderer.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] == '"'
// and whether it holds a backslash; -1 when it does not end.
func skipString(b []byte, i int) (end int, escapes bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escapes = true
			j++
		case '"':
			return j + 1, escapes
		}
	}
	return -1, escapes
}

// skipValue returns the index after the JSON value starting at b[i], or -1
// when there is none. It relies on the value being valid JSON: it only
// balances brackets outside strings.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := skipString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// objectMembers calls f with each member of the JSON object at b[i] (key
// without quotes, value bytes) in order. ok is false when b[i] is not an
// object or a key needs more than byte comparison (escapes, non-ASCII): the
// caller then falls back to encoding/json.
func objectMembers(b []byte, i int, f func(key, value []byte)) (ok bool) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		if b[i] != '"' {
			return false
		}
		end, esc := skipString(b, i)
		if end < 0 || esc {
			return false
		}
		key := b[i+1 : end-1]
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return false // encoding/json folds some non-ASCII letters (ſ, K)
			}
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return false
		}
		f(key, b[i:vend])
		i = skipSpace(b, vend)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
	return false
}

// keyIs reports whether key equals name (lower case ASCII) ignoring ASCII
// case, as encoding/json matches a struct field's name.
func keyIs(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// derivedKeys are the members DeriveKeys reads, raw; the last of equal keys
// wins, as in encoding/json.
type derivedKeys struct {
	aggregateID, aggregateID2, version, aggregateVersion []byte
	correlationID, correlationID2, metaCorr, metaCorr2   []byte
}

// scanDerivedKeys finds the members DeriveKeys reads without decoding the
// detail. ok is false when it cannot tell exactly as encoding/json would,
// or when encoding/json would fail (metadata not an object).
func scanDerivedKeys(detail []byte) (k derivedKeys, ok bool) {
	i := skipSpace(detail, 0)
	if i >= len(detail) || detail[i] != '{' {
		return k, false
	}
	ok = true
	good := objectMembers(detail, i, func(key, v []byte) {
		if !ok {
			return
		}
		switch {
		case keyIs(key, "aggregateid"):
			k.aggregateID = v
		case keyIs(key, "aggregate_id"):
			k.aggregateID2 = v
		case keyIs(key, "version"):
			k.version = v
		case keyIs(key, "aggregateversion"):
			k.aggregateVersion = v
		case keyIs(key, "correlationid"):
			k.correlationID = v
		case keyIs(key, "correlation_id"):
			k.correlationID2 = v
		case keyIs(key, "metadata"):
			if string(v) == "null" {
				return
			}
			ok = objectMembers(v, 0, func(key, v []byte) {
				switch {
				case keyIs(key, "correlationid"):
					k.metaCorr = v
				case keyIs(key, "correlation_id"):
					k.metaCorr2 = v
				}
			})
		}
	})
	return k, ok && good
}

// scalarText is firstScalar for one raw value: a JSON string's contents
// (not empty) or a number's text; "" otherwise.
func scalarText(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	switch c := v[0]; {
	case c == '"':
		for _, c := range v[1 : len(v)-1] {
			if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				return providers.FirstScalar(json.RawMessage(v)) // unescape like encoding/json
			}
		}
		return string(v[1 : len(v)-1])
	case c == '-' || (c >= '0' && c <= '9'):
		return string(v)
	}
	return ""
}

func firstScalarOf(vs ...[]byte) string {
	for _, v := range vs {
		if s := scalarText(v); s != "" {
			return s
		}
	}
	return ""
}

// deriveKeysFast is DeriveKeys without encoding/json; ok is false when it
// could not decide and DeriveKeys must decode.
func deriveKeysFast(ev *providers.StoredEvent) bool {
	k, ok := scanDerivedKeys(ev.Detail)
	if !ok {
		return false
	}
	if ev.AggregateID == "" {
		ev.AggregateID = firstScalarOf(k.aggregateID, k.aggregateID2)
	}
	if ev.AggregateVersion == 0 {
		if s := firstScalarOf(k.aggregateVersion, k.version); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				ev.AggregateVersion = n
			}
		}
	}
	if ev.CorrelationID == "" {
		ev.CorrelationID = firstScalarOf(k.correlationID, k.correlationID2, k.metaCorr, k.metaCorr2)
	}
	return true
}

// parseEnvelope reads an envelope in the exact form appendEnvelope writes,
// with strings that need no unescaping; ok is false for anything else (then
// encoding/json decodes it). The detail aliases b.
func parseEnvelope(b []byte) (ev providers.Event, ok bool) {
	i := 0
	field := func(name string) bool {
		if len(b)-i < len(name) || string(b[i:i+len(name)]) != name {
			return false
		}
		i += len(name)
		return true
	}
	str := func() (string, bool) {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		end, esc := skipString(b, i)
		if end < 0 || esc {
			return "", false
		}
		s := b[i+1 : end-1]
		for _, c := range s {
			if c < 0x20 {
				return "", false
			}
		}
		if !utf8.Valid(s) {
			return "", false // encoding/json turns invalid bytes into U+FFFD
		}
		i = end
		return string(s), true
	}
	var t string
	var good bool
	if !field(`{"version":`) {
		return ev, false
	}
	if ev.Version, good = str(); !good || !field(`,"id":`) {
		return ev, false
	}
	if ev.ID, good = str(); !good || !field(`,"detail-type":`) {
		return ev, false
	}
	if ev.DetailType, good = str(); !good || !field(`,"source":`) {
		return ev, false
	}
	if ev.Source, good = str(); !good || !field(`,"account":`) {
		return ev, false
	}
	if ev.Account, good = str(); !good || !field(`,"time":`) {
		return ev, false
	}
	if t, good = str(); !good || !field(`,"region":`) {
		return ev, false
	}
	if ev.Region, good = str(); !good || !field(`,"resources":[`) {
		return ev, false
	}
	ev.Resources = []string{}
	for i < len(b) && b[i] != ']' {
		if len(ev.Resources) > 0 && !field(",") {
			return ev, false
		}
		r, good := str()
		if !good {
			return ev, false
		}
		ev.Resources = append(ev.Resources, r)
	}
	if !field(`],"detail":`) {
		return ev, false
	}
	end := len(b) - 1
	if i >= end || b[i] != '{' || b[end] != '}' || !jsonvalid.Valid(b[i:end]) {
		return ev, false
	}
	ev.Detail = json.RawMessage(b[i:end:end])
	if t != "" {
		tm, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return ev, false
		}
		ev.Time = tm.UTC()
	}
	return ev, true
}
