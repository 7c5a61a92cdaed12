package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/evcli/evcli/internal/suggest"
)

// EventInputError is a malformed event in an event file, with its place.
type EventInputError struct {
	File      string
	Line, Col int
	Path      string // e.g. [2].detail
	Msg       string
}

func (e *EventInputError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

var envelopeKeys = []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
var entryKeys = []string{"Source", "DetailType", "Detail", "EventBusName", "Resources", "Time", "TraceHeader"}

// ParseEvents reads events from data, named file in messages. It accepts one
// EventBridge envelope ({"source","detail-type","detail",...}), a JSON array
// of envelopes, NDJSON (one envelope per line), PutEvents' request
// ({"Entries":[{"Source","DetailType","Detail":"<json>",...}]}) or a JSON array
// of such entries. Every event is checked before any is returned, so a bad
// file publishes nothing. EventBusName of entries is kept in EventBusName.
func ParseEvents(file string, data []byte) ([]Event, error) {
	var out []Event
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n := 0
	for {
		start := skipSpace(data, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, syntaxError(file, data, start, err)
		}
		n++
		top := fmt.Sprintf("[%d]", n-1)
		switch raw[0] {
		case '{':
			var probe map[string]json.RawMessage
			_ = json.Unmarshal(raw, &probe)
			if entries, ok := probe["Entries"]; ok {
				if len(entries) == 0 || entries[0] != '[' {
					return nil, posError(file, data, start, "Entries", "must be an array of PutEvents entries")
				}
				evs, err := parseArray(file, data, start+bytes.IndexByte(raw, '['), entries, "Entries")
				if err != nil {
					return nil, err
				}
				out = append(out, evs...)
				continue
			}
			path := ""
			if n > 1 || dec.More() {
				path = top
			}
			ev, err := parseOne(file, data, start, raw, path)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		case '[':
			evs, err := parseArray(file, data, start, raw, "")
			if err != nil {
				return nil, err
			}
			out = append(out, evs...)
		default:
			return nil, posError(file, data, start, "", "an event must be a JSON object (an EventBridge envelope or a PutEvents entry)")
		}
	}
	if len(out) == 0 {
		return nil, &EventInputError{File: file, Msg: "no events: expected a JSON object, an array or NDJSON"}
	}
	return out, nil
}

func parseArray(file string, data []byte, base int, raw json.RawMessage, prefix string) ([]Event, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, posError(file, data, base, prefix, "must be an array of events")
	}
	var out []Event
	off := base + 1
	for i, item := range items {
		// find this item's offset: the next non-space, non-comma byte
		off = skipSpaceComma(data, off)
		ev, err := parseOne(file, data, off, item, fmt.Sprintf("%s[%d]", prefix, i))
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
		off += valueLen(data[off:])
	}
	return out, nil
}

// parseOne parses an envelope or a PutEvents entry that starts at data[start].
func parseOne(file string, data []byte, start int, raw json.RawMessage, path string) (Event, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return Event{}, posError(file, data, start, path, "an event must be a JSON object")
	}
	fields, offs := objectFields(raw)
	at := func(key string) int {
		if o, ok := offs[key]; ok {
			return start + o
		}
		return start
	}
	join := func(key string) string {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	_, isEntry := fields["Source"]
	if _, ok := fields["DetailType"]; ok {
		isEntry = true
	}
	keys := envelopeKeys
	if isEntry {
		keys = entryKeys
	}
	for k := range fields {
		if !contains(keys, k) {
			msg := fmt.Sprintf("unknown field %q", k)
			if s := closest(k, keys); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; an event has " + strings.Join(keys, ", ")
			}
			return Event{}, posError(file, data, at(k), join(k), msg)
		}
	}
	str := func(key string, required bool) (string, error) {
		v, ok := fields[key]
		if !ok {
			if required {
				return "", posError(file, data, start, join(key), "is required: a non-empty string")
			}
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", posError(file, data, at(key), join(key), "must be a string, got "+kind(v))
		}
		if required && s == "" {
			return "", posError(file, data, at(key), join(key), "must not be empty")
		}
		return s, nil
	}
	var ev Event
	var err error
	srcKey, typeKey, detailKey, resKey, timeKey := "source", "detail-type", "detail", "resources", "time"
	if isEntry {
		srcKey, typeKey, detailKey, resKey, timeKey = "Source", "DetailType", "Detail", "Resources", "Time"
	}
	if ev.Source, err = str(srcKey, true); err != nil {
		return Event{}, err
	}
	if ev.DetailType, err = str(typeKey, true); err != nil {
		return Event{}, err
	}
	if !isEntry {
		for _, k := range []string{"id", "version", "account", "region"} {
			s, err := str(k, false)
			if err != nil {
				return Event{}, err
			}
			switch k {
			case "id":
				ev.ID = s
			case "version":
				ev.Version = s
			case "account":
				ev.Account = s
			case "region":
				ev.Region = s
			}
		}
	} else if ev.EventBusName, err = str("EventBusName", false); err != nil {
		return Event{}, err
	}
	if ts, err := str(timeKey, false); err != nil {
		return Event{}, err
	} else if ts != "" {
		t, perr := time.Parse(time.RFC3339Nano, ts)
		if perr != nil {
			return Event{}, posError(file, data, at(timeKey), join(timeKey), fmt.Sprintf("%q is not an RFC 3339 time such as 2026-11-26T10:00:00Z", ts))
		}
		ev.Time = t.UTC()
	}
	if v, ok := fields[resKey]; ok {
		if err := json.Unmarshal(v, &ev.Resources); err != nil {
			return Event{}, posError(file, data, at(resKey), join(resKey), "must be an array of strings (ARNs)")
		}
	}
	d, ok := fields[detailKey]
	if !ok {
		return Event{}, posError(file, data, start, join(detailKey), "is required: a JSON object")
	}
	if isEntry {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return Event{}, posError(file, data, at(detailKey), join(detailKey), "must be a string holding a JSON object (PutEvents' Detail), got "+kind(d))
		}
		d = json.RawMessage(s)
		if !json.Valid(d) || firstByte(d) != '{' {
			return Event{}, posError(file, data, at(detailKey), join(detailKey), "must hold a JSON object")
		}
	} else if firstByte(d) != '{' {
		return Event{}, posError(file, data, at(detailKey), join(detailKey), "must be a JSON object, got "+kind(d))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, d); err == nil {
		d = buf.Bytes()
	}
	ev.Detail = append(json.RawMessage(nil), d...)
	return ev, nil
}

// objectFields returns the fields of a JSON object and each key's offset
// within raw.
func objectFields(raw json.RawMessage) (map[string]json.RawMessage, map[string]int) {
	fields := map[string]json.RawMessage{}
	offs := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return fields, offs
	}
	for dec.More() {
		off := skipSpaceComma(raw, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		fields[key] = v
		offs[key] = off
	}
	return fields, offs
}

func firstByte(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func kind(v json.RawMessage) string {
	switch firstByte(v) {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func closest(s string, candidates []string) string { return suggest.Closest(s, candidates) }

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

func skipSpaceComma(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r' || data[i] == ',' || data[i] == ':') {
		i++
	}
	return i
}

// valueLen is the length of the JSON value at the start of data.
func valueLen(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return len(data)
	}
	return int(dec.InputOffset())
}

// LineCol converts a byte offset in data to a 1-based line and column.
func LineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

func posError(file string, data []byte, off int, path, msg string) error {
	l, c := LineCol(data, off)
	return &EventInputError{File: file, Line: l, Col: c, Path: path, Msg: msg}
}

func syntaxError(file string, data []byte, start int, err error) error {
	off := start
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = int(se.Offset) - 1
		if off < 0 {
			off = 0
		}
	} else if errors.Is(err, io.ErrUnexpectedEOF) {
		off = len(data)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of file: a JSON value is not closed"
	}
	return posError(file, data, off, "", "invalid JSON: "+msg)
}
