package filter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// InputEvent is one event read by ReadEvents.
type InputEvent struct {
	Index int    // 0-based position in the input
	Line  int    // 1-based line where the event starts
	Path  string // JSON path within the input ("[3]" in an array), "" otherwise
	Data  []byte // the event's JSON; valid until the callback returns
}

// Where names the event's place in the input named name: "name:12" or
// "name: [3]".
func (e InputEvent) Where(name string) string {
	if e.Path != "" {
		return fmt.Sprintf("%s:%d: %s", name, e.Line, e.Path)
	}
	return fmt.Sprintf("%s:%d", name, e.Line)
}

// InputError is an input that is not a JSON object, an array of objects, or
// NDJSON; Name:Line:Col says where.
type InputError struct {
	Name      string
	Line, Col int
	Path      string
	Msg       string
}

func (e *InputError) Error() string {
	loc := fmt.Sprintf("%s:%d", e.Name, e.Line)
	if e.Col > 0 {
		loc += fmt.Sprintf(":%d", e.Col)
	}
	if e.Path != "" {
		loc += ": " + e.Path
	}
	return loc + ": " + e.Msg
}

// ReadEvents reads events from r: one JSON object, a JSON array of objects,
// or newline-delimited JSON objects (one per line; objects spanning several
// lines are accepted too), and calls fn for each in order. When validate is
// true each event is checked to be a complete, valid JSON object; otherwise
// only NDJSON framing is checked (the fast path for counting). name labels
// positions in errors.
func ReadEvents(r io.Reader, name string, validate bool, fn func(InputEvent) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	// Peek at the first non-blank byte.
	first := byte(0)
	blank := 0
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' {
			first = b[0]
			if _, err := br.ReadByte(); err != nil {
				return err
			}
			if first == '\n' {
				blank++
			}
			continue
		}
		first = b[0]
		break
	}
	base := blank
	if first == '[' {
		data, err := io.ReadAll(br)
		if err != nil {
			return err
		}
		return readArray(data, name, base, fn)
	}
	return readStream(br, name, base, validate, fn)
}

func lineCol(data []byte, off int) (int, int) {
	line, col := 1, 1
	for _, c := range data[:min(off, len(data))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

func readArray(data []byte, name string, base int, fn func(InputEvent) error) error {
	s := &state{ev: data}
	i := skipWS(data, 1)
	idx := 0
	if i < len(data) && data[i] == ']' {
		return trailing(data, i+1, name, base)
	}
	for {
		i = skipWS(data, i)
		start := i
		end := s.skip(i)
		if end < 0 {
			var se *SyntaxError
			if errors.As(s.err, &se) {
				line, col := lineCol(data, se.Offset)
				return &InputError{Name: name, Line: base + line, Col: col, Msg: "invalid JSON: " + se.Msg}
			}
			return s.err
		}
		line, col := lineCol(data, start)
		ev := InputEvent{Index: idx, Line: base + line, Path: fmt.Sprintf("[%d]", idx), Data: data[start:end]}
		if _, err := decodeEvent(ev.Data); err != nil {
			return eventError(name, ev, col, err)
		}
		if err := fn(ev); err != nil {
			return err
		}
		idx++
		i = skipWS(data, end)
		if i >= len(data) {
			line, col := lineCol(data, i)
			return &InputError{Name: name, Line: base + line, Col: col, Msg: "unexpected end of input, expected ',' or ']'"}
		}
		switch data[i] {
		case ',':
			i++
		case ']':
			return trailing(data, i+1, name, base)
		default:
			line, col := lineCol(data, i)
			return &InputError{Name: name, Line: base + line, Col: col, Msg: "expected ',' or ']' between events"}
		}
	}
}

func trailing(data []byte, i int, name string, base int) error {
	if j := skipWS(data, i); j < len(data) {
		line, col := lineCol(data, j)
		return &InputError{Name: name, Line: base + line, Col: col, Msg: "unexpected data after the array of events"}
	}
	return nil
}

// eventError turns a decodeEvent error into an InputError at the event's
// position (col is the column where the event starts).
func eventError(name string, ev InputEvent, col int, err error) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		line, c := se.Line, se.Col
		if line == 1 {
			c += col - 1
		}
		return &InputError{Name: name, Line: ev.Line + line - 1, Col: c, Path: ev.Path, Msg: "invalid JSON: " + se.Msg}
	}
	msg := err.Error()
	if errors.Is(err, ErrNotObject) {
		msg = "not an event: " + msg
	}
	return &InputError{Name: name, Line: ev.Line, Col: col, Path: ev.Path, Msg: msg}
}

// complete reports whether buf holds exactly one complete JSON value
// (surrounding white space allowed); incomplete is true when more input
// could complete it.
func complete(buf []byte) (ok, incomplete bool) {
	s := &state{ev: buf}
	i := skipWS(buf, 0)
	end := s.skip(i)
	if end < 0 {
		var se *SyntaxError
		return false, errors.As(s.err, &se) && se.Offset >= len(buf)
	}
	return skipWS(buf, end) == len(buf), false
}

func readStream(br *bufio.Reader, name string, base int, validate bool, fn func(InputEvent) error) error {
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
				ev := InputEvent{Index: idx, Line: line, Data: text}
				if validate {
					if _, verr := decodeEvent(text); verr != nil {
						return eventError(name, ev, 1, verr)
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
				if ok {
					ev := InputEvent{Index: idx, Line: accLine, Data: acc}
					if _, verr := decodeEvent(acc); verr != nil {
						return eventError(name, ev, 1, verr)
					}
					if ferr := fn(ev); ferr != nil {
						return ferr
					}
					idx++
					acc = nil
				} else if !incomplete {
					_, verr := decodeEvent(acc)
					if verr == nil {
						verr = errors.New("more than one JSON value; put one event per line (NDJSON) or use an array")
					}
					return eventError(name, InputEvent{Index: idx, Line: accLine}, 1, verr)
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
		_, verr := decodeEvent(acc)
		if verr == nil {
			verr = errors.New("incomplete event at end of input")
		}
		return eventError(name, InputEvent{Index: idx, Line: accLine}, 1, verr)
	}
	return nil
}
