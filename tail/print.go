package tail

import (
	"bufio"
	"hash/fnv"
	"io"
	"strings"
	"time"
)

// Sink receives the records Run emits, in order, from one goroutine.
// Flush is called after each batch, so that a follower sees lines promptly.
type Sink interface {
	Write(r Record) error
	Flush() error
}

// TimeFormat is the time layout of plain output: RFC 3339 in UTC with
// milliseconds, fixed width.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// palette is the ANSI colours functions are given (stern's choice: the
// readable ones on both dark and light backgrounds, normal then bright).
var palette = [...]int{32, 33, 34, 35, 36, 31, 92, 93, 94, 95, 96, 91}

// ColorIndex returns the palette index of a function: an FNV-1a hash of its
// name, so a function has the same colour on every run and machine.
func ColorIndex(function string) int {
	h := fnv.New32a()
	_, _ = io.WriteString(h, function)
	return int(h.Sum32() % uint32(len(palette)))
}

// ANSIColor returns the ANSI 16-colour number (0-15) of a function's colour,
// for lipgloss.
func ANSIColor(function string) int {
	c := palette[ColorIndex(function)]
	if c >= 90 {
		return c - 90 + 8
	}
	return c - 30
}

// PlainPrinter writes one line per record:
//
//	2024-01-01T00:00:00.000Z function [correlation] message
//
// The correlation is left out when unknown; newlines inside a message are
// written as \n so that every record stays on one line. With colour, the
// function name has its colour and error lines are red.
type PlainPrinter struct {
	w     *bufio.Writer
	color bool
	buf   []byte
	// The formatted "2006-01-02T15:04:05" of the last second printed.
	sec    int64
	secFmt []byte
}

// NewPlainPrinter returns a PlainPrinter writing to w.
func NewPlainPrinter(w io.Writer, color bool) *PlainPrinter {
	return &PlainPrinter{w: bufio.NewWriterSize(w, 64<<10), color: color}
}

func (p *PlainPrinter) Write(r Record) error {
	b := p.appendTime(p.buf[:0], r.Time)
	b = append(b, ' ')
	if p.color {
		b = appendColor(b, palette[ColorIndex(r.Function)])
		b = append(b, r.Function...)
		b = append(b, "\x1b[0m"...)
	} else {
		b = append(b, r.Function...)
	}
	b = append(b, ' ')
	if r.CorrelationID != "" {
		b = append(b, '[')
		b = append(b, r.CorrelationID...)
		b = append(b, "] "...)
	}
	errLine := p.color && r.IsError()
	if errLine {
		b = appendColor(b, 31)
	}
	b = appendOneLine(b, r.Message)
	if errLine {
		b = append(b, "\x1b[0m"...)
	}
	b = append(b, '\n')
	p.buf = b
	_, err := p.w.Write(b)
	return err
}

// appendTime appends t in TimeFormat, formatting the date and the second
// only when they change (the printer's hottest path).
func (p *PlainPrinter) appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	sec := t.Unix()
	if p.secFmt == nil || sec != p.sec {
		p.sec = sec
		p.secFmt = t.AppendFormat(p.secFmt[:0], "2006-01-02T15:04:05")
	}
	b = append(b, p.secFmt...)
	ms := t.Nanosecond() / 1e6
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// Flush writes buffered output.
func (p *PlainPrinter) Flush() error { return p.w.Flush() }

func appendColor(b []byte, c int) []byte {
	b = append(b, "\x1b["...)
	if c >= 10 {
		b = append(b, byte('0'+c/10))
	}
	b = append(b, byte('0'+c%10))
	return append(b, 'm')
}

func appendOneLine(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\n\r") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, s[i])
		}
	}
	return b
}

// JSONRecord is the -o json shape of a record.
type JSONRecord struct {
	Type          string         `json:"type"` // "log"
	Time          string         `json:"time"` // RFC 3339 with nanoseconds
	Provider      string         `json:"provider"`
	Function      string         `json:"function"`
	RequestID     string         `json:"requestId"`
	Level         string         `json:"level"`
	CorrelationID string         `json:"correlationId"`
	Message       string         `json:"message"`
	Fields        map[string]any `json:"fields,omitempty"`
}

// ToJSON returns r's -o json shape.
func ToJSON(r Record) JSONRecord {
	return JSONRecord{
		Type:          "log",
		Time:          r.Time.UTC().Format(time.RFC3339Nano),
		Provider:      r.Provider,
		Function:      r.Function,
		RequestID:     r.RequestID,
		Level:         string(r.Level),
		CorrelationID: r.CorrelationID,
		Message:       r.Message,
		Fields:        r.Fields,
	}
}

// JSONPrinter writes each record as one JSON object through write (cmd
// passes its JSON-lines writer, which also wrote the version line).
type JSONPrinter struct {
	write func(v any) error
	flush func() error
}

// NewJSONPrinter returns a JSONPrinter; flush may be nil.
func NewJSONPrinter(write func(v any) error, flush func() error) *JSONPrinter {
	return &JSONPrinter{write: write, flush: flush}
}

func (p *JSONPrinter) Write(r Record) error { return p.write(ToJSON(r)) }

func (p *JSONPrinter) Flush() error {
	if p.flush != nil {
		return p.flush()
	}
	return nil
}

// ChanSink sends records to a channel (for the TUI). Write blocks while the
// channel is full, which holds back the pipeline rather than dropping lines.
type ChanSink struct {
	C    chan Record
	Done <-chan struct{}
}

func (s ChanSink) Write(r Record) error {
	select {
	case s.C <- r:
		return nil
	case <-s.Done:
		return errSinkClosed
	}
}

func (s ChanSink) Flush() error { return nil }
