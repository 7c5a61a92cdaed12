package providers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/evcli/evcli/internal/jsonvalid"
	"github.com/evcli/evcli/internal/suggest"
)

// EventInputError is a malformed event in an event file, with its place:
// "file:line:col: path: what is wrong". It is the one error type of
// ReadEvents and ParseEvents; commands map it to a usage error (exit 2).
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
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
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
// of such entries; the file is framed by ReadEvents. Every event is checked
// before any is returned, so a bad file publishes nothing. EventBusName of
// entries is kept in EventBusName.
func ParseEvents(file string, data []byte) ([]Event, error) {
	var out []Event
	var raws []RawEvent
	err := ReadEvents(bytes.NewReader(data), file, true, func(ev RawEvent) error {
		ev.Data = append([]byte(nil), ev.Data...) // valid only during the call
		raws = append(raws, ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, ev := range raws {
		path := ev.Path
		if path == "" && len(raws) > 1 {
			path = fmt.Sprintf("[%d]", ev.Index)
		}
		start := skipSpace(ev.Data, 0)
		fields, offs := objectFields(ev.Data)
		if entries, ok := fields["Entries"]; ok {
			if len(entries) == 0 || entries[0] != '[' {
				return nil, ev.errorAt(file, start, "Entries", "must be an array of PutEvents entries")
			}
			evs, err := parseArray(file, ev, offs["Entries"]+bytes.IndexByte(ev.Data[offs["Entries"]:], '['), entries, path+"Entries")
			if err != nil {
				return nil, err
			}
			out = append(out, evs...)
			continue
		}
		one, err := parseOne(file, ev, start, ev.Data[start:], path)
		if err != nil {
			return nil, err
		}
		out = append(out, one)
	}
	if len(out) == 0 {
		return nil, &EventInputError{File: file, Msg: "no events: expected a JSON object, an array or NDJSON"}
	}
	return out, nil
}

// parseArray parses the array raw of PutEvents entries, which starts at
// ev.Data[base].
func parseArray(file string, ev RawEvent, base int, raw json.RawMessage, prefix string) ([]Event, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, ev.errorAt(file, base, prefix, "must be an array of events")
	}
	var out []Event
	off := base + 1
	for i, item := range items {
		// find this item's offset: the next non-space, non-comma byte
		off = skipSpaceComma(ev.Data, off)
		one, err := parseOne(file, ev, off, item, fmt.Sprintf("%s[%d]", prefix, i))
		if err != nil {
			return nil, err
		}
		out = append(out, one)
		off = jsonvalid.End(ev.Data, off)
	}
	return out, nil
}

// parseOne parses an envelope or a PutEvents entry that starts at
// ev.Data[start].
func parseOne(file string, in RawEvent, start int, raw json.RawMessage, path string) (Event, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return Event{}, in.errorAt(file, start, path, "an event must be a JSON object")
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
			return Event{}, in.errorAt(file, at(k), join(k), msg)
		}
	}
	str := func(key string, required bool) (string, error) {
		v, ok := fields[key]
		if !ok {
			if required {
				return "", in.errorAt(file, start, join(key), "is required: a non-empty string")
			}
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", in.errorAt(file, at(key), join(key), "must be a string, got "+kind(v))
		}
		if required && s == "" {
			return "", in.errorAt(file, at(key), join(key), "must not be empty")
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
			return Event{}, in.errorAt(file, at(timeKey), join(timeKey), fmt.Sprintf("%q is not an RFC 3339 time such as 2026-11-26T10:00:00Z", ts))
		}
		ev.Time = t.UTC()
	}
	if v, ok := fields[resKey]; ok {
		if err := json.Unmarshal(v, &ev.Resources); err != nil {
			return Event{}, in.errorAt(file, at(resKey), join(resKey), "must be an array of strings (ARNs)")
		}
	}
	d, ok := fields[detailKey]
	if !ok {
		return Event{}, in.errorAt(file, start, join(detailKey), "is required: a JSON object")
	}
	if isEntry {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return Event{}, in.errorAt(file, at(detailKey), join(detailKey), "must be a string holding a JSON object (PutEvents' Detail), got "+kind(d))
		}
		d = json.RawMessage(s)
		if !json.Valid(d) || firstByte(d) != '{' {
			return Event{}, in.errorAt(file, at(detailKey), join(detailKey), "must hold a JSON object")
		}
	} else if firstByte(d) != '{' {
		return Event{}, in.errorAt(file, at(detailKey), join(detailKey), "must be a JSON object, got "+kind(d))
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

// LineCol converts a byte offset in data to a 1-based line and column.
func LineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// RawEvent is one event framed by ReadEvents: a JSON object, not yet
// interpreted.
type RawEvent struct {
	Index     int    // 0-based position in the input
	Line, Col int    // 1-based line and column where the event starts
	Path      string // JSON path within the input ("[3]" in an array), "" otherwise
	Data      []byte // the event's JSON; valid until the callback returns
}

// Where names the event's place in the input named file: "file:12" or
// "file:12: [3]".
func (e RawEvent) Where(file string) string {
	if e.Path != "" {
		return fmt.Sprintf("%s:%d: %s", file, e.Line, e.Path)
	}
	return fmt.Sprintf("%s:%d", file, e.Line)
}

// Error is an *EventInputError about this event, at its start.
func (e RawEvent) Error(file, msg string) error {
	return &EventInputError{File: file, Line: e.Line, Col: e.Col, Path: e.Path, Msg: msg}
}

// errorAt is an *EventInputError at e.Data[off], path appended to the
// event's own path.
func (e RawEvent) errorAt(file string, off int, path, msg string) error {
	line, col := LineCol(e.Data, off)
	if line == 1 {
		col += e.Col - 1
	}
	return &EventInputError{File: file, Line: e.Line + line - 1, Col: col, Path: path, Msg: msg}
}

// ReadEvents reads events from r: one JSON object, a JSON array of objects,
// or newline-delimited JSON objects (one per line; objects spanning several
// lines are accepted too), and calls fn for each in order. When validate is
// true each event is checked to be a complete, valid JSON object; otherwise
// only NDJSON framing is checked (the fast path for counting: a large NDJSON
// file streams through a 1 MiB buffer). file names the input in errors,
// which are *EventInputError with file:line:col, or fn's own errors.
func ReadEvents(r io.Reader, file string, validate bool, fn func(RawEvent) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	// Skip to the first non-blank byte, counting lines.
	base := 0
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if b[0] != ' ' && b[0] != '\t' && b[0] != '\r' && b[0] != '\n' {
			if b[0] == '[' {
				data, err := io.ReadAll(br)
				if err != nil {
					return err
				}
				return readArray(data, file, base, fn)
			}
			return readStream(br, file, base, validate, fn)
		}
		if _, err := br.ReadByte(); err != nil {
			return err
		}
		if b[0] == '\n' {
			base++
		}
	}
}

// checkEvent reports what is wrong with an event's JSON: the offset within
// data and a message, or ok.
func checkEvent(data []byte) (off int, msg string, ok bool) {
	i := skipSpace(data, 0)
	if jsonvalid.Valid(data) {
		if data[i] != '{' {
			return i, "not an event: an event must be a JSON object", false
		}
		return 0, "", true
	}
	off, msg = jsonError(data)
	return off, "invalid JSON: " + msg, false
}

// jsonError explains why data is not one valid JSON value: the offset of
// the offending byte (len(data) when it ends too soon) and encoding/json's
// words for it. Only ever on the error path.
func jsonError(data []byte) (int, string) {
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return 0, "not a single JSON value"
	}
	if se.Error() == "unexpected end of JSON input" {
		return len(data), "unexpected end of file: a JSON value is not closed"
	}
	return max(int(se.Offset)-1, 0), strings.TrimPrefix(se.Error(), "json: ")
}

// complete reports whether buf holds exactly one complete JSON value
// (surrounding white space allowed); incomplete is true when more input
// could complete it.
func complete(buf []byte) (ok, incomplete bool) {
	if jsonvalid.Valid(buf) {
		return true, false
	}
	off, _ := jsonError(buf)
	return false, off >= len(buf)
}

func readArray(data []byte, file string, base int, fn func(RawEvent) error) error {
	at := func(off int, path, msg string) error {
		line, col := LineCol(data, off)
		return &EventInputError{File: file, Line: base + line, Col: col, Path: path, Msg: msg}
	}
	i := skipSpace(data, 1)
	if i < len(data) && data[i] == ']' {
		return trailing(data, i+1, at)
	}
	for idx := 0; ; idx++ {
		start := skipSpace(data, i)
		path := fmt.Sprintf("[%d]", idx)
		end := jsonvalid.End(data, start)
		if end < 0 {
			// The first bad byte is within the item: encoding/json,
			// reading from the item on, stops there.
			off, msg := jsonError(data[start:])
			return at(start+off, path, "invalid JSON: "+msg)
		}
		line, col := LineCol(data, start)
		ev := RawEvent{Index: idx, Line: base + line, Col: col, Path: path, Data: data[start:end]}
		if off, msg, ok := checkEvent(ev.Data); !ok {
			return ev.errorAt(file, off, path, msg)
		}
		if err := fn(ev); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return at(i, "", "unexpected end of input, expected ',' or ']'")
		}
		switch data[i] {
		case ',':
			i++
		case ']':
			return trailing(data, i+1, at)
		default:
			return at(i, "", "expected ',' or ']' between events")
		}
	}
}

func trailing(data []byte, i int, at func(int, string, string) error) error {
	if j := skipSpace(data, i); j < len(data) {
		return at(j, "", "unexpected data after the array of events")
	}
	return nil
}

func readStream(br *bufio.Reader, file string, base int, validate bool, fn func(RawEvent) error) error {
	line := base
	idx := 0
	ndjson := false // set once the first event fitted on one line
	var acc []byte
	accLine := 0
	for {
		raw, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long := append([]byte(nil), raw...)
			for err == bufio.ErrBufferFull {
				raw, err = br.ReadSlice('\n')
				long = append(long, raw...)
			}
			raw = long
		}
		if len(raw) > 0 {
			line++
			text := bytes.TrimRight(raw, "\r\n")
			if acc == nil && len(bytes.TrimSpace(text)) == 0 {
				// blank line between events
			} else if acc == nil && (ndjson || func() bool { ok, _ := complete(text); return ok }()) {
				ndjson = true
				ev := RawEvent{Index: idx, Line: line, Col: 1, Data: text}
				if validate {
					if off, msg, ok := checkEvent(text); !ok {
						return ev.errorAt(file, off, "", msg)
					}
				}
				if ferr := fn(ev); ferr != nil {
					return ferr
				}
				idx++
			} else {
				if acc == nil {
					accLine = line
				}
				acc = append(acc, raw...)
				ok, incomplete := complete(acc)
				ev := RawEvent{Index: idx, Line: accLine, Col: 1, Data: acc}
				if ok {
					if off, msg, ok := checkEvent(acc); !ok {
						return ev.errorAt(file, off, "", msg)
					}
					if ferr := fn(ev); ferr != nil {
						return ferr
					}
					idx++
					acc = nil
				} else if !incomplete {
					off, msg, _ := checkEvent(acc)
					if end := jsonvalid.End(acc, 0); end >= 0 {
						off, msg = skipSpace(acc, end), "more than one JSON value; put one event per line (NDJSON) or use an array"
					}
					return ev.errorAt(file, off, "", msg)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if acc != nil {
		off, msg, _ := checkEvent(acc)
		return RawEvent{Line: accLine, Col: 1, Data: acc}.errorAt(file, off, "", msg)
	}
	return nil
}
