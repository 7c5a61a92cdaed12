package tail

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/evcli/evcli/providers"
)

// Kind says what a record is: an application line or one of the platform's
// START / END / REPORT lines.
type Kind uint8

const (
	KindLog Kind = iota
	KindStart
	KindEnd
	KindReport
)

func (k Kind) String() string {
	switch k {
	case KindStart:
		return "start"
	case KindEnd:
		return "end"
	case KindReport:
		return "report"
	}
	return "log"
}

// Level is a normalised log level: TRACE, DEBUG, INFO, WARN, ERROR, FATAL,
// or "" when the line does not say.
type Level string

const (
	LevelNone  Level = ""
	LevelTrace Level = "TRACE"
	LevelDebug Level = "DEBUG"
	LevelInfo  Level = "INFO"
	LevelWarn  Level = "WARN"
	LevelError Level = "ERROR"
	LevelFatal Level = "FATAL"
)

// Rank orders levels; a line without a level ranks as INFO.
func (l Level) Rank() int {
	switch l {
	case LevelTrace:
		return 0
	case LevelDebug:
		return 1
	case LevelWarn:
		return 3
	case LevelError:
		return 4
	case LevelFatal:
		return 5
	}
	return 2
}

// IsError reports whether l is ERROR or FATAL.
func (l Level) IsError() bool { return l.Rank() >= 4 }

// ParseLevel normalises a level name (case-insensitive; warning, err,
// critical and pino's numbers are understood). ok is false for an unknown
// name.
func ParseLevel(s string) (Level, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TRACE", "10":
		return LevelTrace, true
	case "DEBUG", "20":
		return LevelDebug, true
	case "INFO", "INFORMATION", "NOTICE", "30":
		return LevelInfo, true
	case "WARN", "WARNING", "40":
		return LevelWarn, true
	case "ERROR", "ERR", "50":
		return LevelError, true
	case "FATAL", "CRITICAL", "CRIT", "PANIC", "EMERGENCY", "ALERT", "60":
		return LevelFatal, true
	}
	return LevelNone, false
}

// Report holds the figures of a REPORT line (text or JSON platform.report).
type Report struct {
	DurationMs       float64
	BilledDurationMs float64
	MemorySizeMB     float64
	MaxMemoryUsedMB  float64
	InitDurationMs   float64
	// Status is "", "success", "error" or "timeout".
	Status string
}

// Record is one parsed log line.
type Record struct {
	Time      time.Time
	Provider  string
	Function  string
	RequestID string
	Stream    string
	Level     Level
	Kind      Kind
	// Message is the human message: the line itself, or the message field of
	// a JSON line, without the Lambda text prefix.
	Message string
	// Fields is the parsed JSON object of a JSON line (or of a JSON message
	// after the Lambda text prefix); nil for plain text.
	Fields        map[string]any
	CorrelationID string
	Report        *Report // REPORT lines only
	Token         string
}

// IsError reports whether the record counts as an error: an ERROR or FATAL
// line, or a REPORT whose status is error or timeout.
func (r *Record) IsError() bool {
	if r.Level.IsError() {
		return true
	}
	return r.Report != nil && (r.Report.Status == "error" || r.Report.Status == "timeout")
}

// Parser turns raw lines into Records and extracts correlation IDs. It is
// safe for concurrent use once built.
type Parser struct {
	paths   map[string]jsonPath // function -> compiled correlation path
	sources map[string]string   // function -> source dir (MapSources)
}

// MapSources makes the parser rewrite the paths of deployed code in
// messages (a local deploy runs each function from
// .evcli/functions/<fn>/<code hash>/, so tracebacks and stacks point there)
// back to the function's source directory: src[fn], or functions/<fn> when
// the project does not name it. Call it before the parser is shared.
func (p *Parser) MapSources(src map[string]string) {
	p.sources = map[string]string{}
	for fn, dir := range src {
		p.sources[fn] = strings.TrimRight(filepath.ToSlash(dir), "/")
	}
}

// stagedPath matches a path into a local deploy's code directory: anything
// before .evcli/functions/<fn>/, then an optional 16-hex code hash.
var stagedPath = regexp.MustCompile(`[^\s"'(]*?\.evcli[/\\]functions[/\\]([^/\\\s"']+)[/\\](?:[0-9a-f]{16}[/\\])?`)

// mapFields maps the staged paths in a JSON line's string values (a stack
// trace in an error body), in place.
func (p *Parser) mapFields(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				x[k] = p.mapSources(s)
			} else {
				p.mapFields(e)
			}
		}
	case []any:
		for i, e := range x {
			if s, ok := e.(string); ok {
				x[i] = p.mapSources(s)
			} else {
				p.mapFields(e)
			}
		}
	}
}

func (p *Parser) mapSources(msg string) string {
	return stagedPath.ReplaceAllStringFunc(msg, func(m string) string {
		fn := stagedPath.FindStringSubmatch(m)[1]
		dir := p.sources[fn]
		if dir == "" || dir == "." {
			dir = "functions/" + fn
		}
		return dir + "/"
	})
}

// NewParser returns a parser that looks up each function's correlation ID at
// the JSON path paths[function] first (e.g. "detail.correlationId" or
// "$.headers['x-correlation-id']"), then at the usual field names. An
// invalid path is an error that names the function and the position.
func NewParser(paths map[string]string) (*Parser, error) {
	p := &Parser{paths: map[string]jsonPath{}}
	for fn, s := range paths {
		if strings.TrimSpace(s) == "" {
			continue
		}
		jp, err := parseJSONPath(s)
		if err != nil {
			return nil, &PathError{Function: fn, Path: s, Err: err}
		}
		p.paths[fn] = jp
	}
	return p, nil
}

// Parse parses one line. Its correlation ID is the one the message names;
// when it names none, the one the source knows for the line's invocation
// (LogLine.CorrelationID: the local bus's delivery), so that START, END,
// REPORT and plain-text lines join their flow at once rather than through
// the Merger's window. A function with its own correlation path names its
// flows by that path: the source's ID (the event's correlationId) is not
// given to its lines, which would split each invocation between two flows.
func (p *Parser) Parse(l providers.LogLine) Record {
	r := p.parse(l)
	if r.CorrelationID == "" && l.CorrelationID != "" {
		if _, own := p.paths[l.Function]; !own {
			r.CorrelationID = l.CorrelationID
		}
	}
	return r
}

func (p *Parser) parse(l providers.LogLine) Record {
	r := Record{
		Time:      l.Time,
		Provider:  l.Provider,
		Function:  l.Function,
		RequestID: l.RequestID,
		Stream:    l.Stream,
		Token:     l.Token,
	}
	msg := strings.TrimRight(l.Message, "\r\n")
	r.Message = msg
	switch {
	case strings.HasPrefix(msg, "START RequestId: "):
		r.Kind = KindStart
		r.setRequestID(firstWord(msg[len("START RequestId: "):]))
		return r
	case strings.HasPrefix(msg, "END RequestId: "):
		r.Kind = KindEnd
		r.setRequestID(firstWord(msg[len("END RequestId: "):]))
		return r
	case strings.HasPrefix(msg, "REPORT RequestId: "):
		r.Kind = KindReport
		r.setRequestID(firstWord(msg[len("REPORT RequestId: "):]))
		r.Report = parseTextReport(msg)
		if r.Report.Status == "error" || r.Report.Status == "timeout" {
			r.Level = LevelError
		}
		return r
	}
	body := msg
	if len(body) > 0 && body[0] != '{' {
		body = r.parseTextPrefix(body)
	}
	if len(body) > 1 && body[0] == '{' && body[len(body)-1] == '}' {
		if m := decodeObject(body); m != nil {
			r.Fields = m
			r.fromJSON(m, body != msg)
		}
	} else if i := strings.Index(body, "\t{"); i > 0 && body[len(body)-1] == '}' {
		// Node's "Invoke Error \t{...}" and "Uncaught Exception \t{...}":
		// the error body's fields (errorType, errorMessage, stack), with the
		// line's message and level left as they are.
		if m := decodeObject(body[i+1:]); m != nil {
			r.Fields = m
		}
	}
	if r.Level == LevelNone {
		r.Level = runtimeLevel(r.Message, r.Fields)
	}
	if p.sources != nil && strings.Contains(msg, ".evcli") {
		r.Message = p.mapSources(r.Message)
		if r.Fields != nil {
			p.mapFields(r.Fields)
		}
	}
	if r.CorrelationID == "" && r.Fields != nil {
		r.CorrelationID = p.correlation(r.Function, r.Fields)
	}
	return r
}

func (r *Record) setRequestID(id string) {
	if r.RequestID == "" {
		r.RequestID = id
	}
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// parseTextPrefix recognises Lambda's text formats and returns the message
// body after the prefix, setting the request id, level and (if the source
// gave none) time:
//
//	2024-01-01T00:00:00.000Z\t<request id>\tINFO\tmessage      (Node.js)
//	[INFO]\t2024-01-01T00:00:00.000Z\t<request id>\tmessage    (Python)
//	2024-01-01T00:00:00.000Z <request id> Task timed out ...   (platform)
func (r *Record) parseTextPrefix(msg string) string {
	if strings.HasPrefix(msg, "[") {
		end := strings.IndexByte(msg, ']')
		if end > 1 && end+1 < len(msg) && msg[end+1] == '\t' {
			if lv, ok := ParseLevel(msg[1:end]); ok {
				parts := strings.SplitN(msg[end+2:], "\t", 3)
				if len(parts) == 3 {
					if t, err := time.Parse(time.RFC3339Nano, parts[0]); err == nil {
						r.Level = lv
						r.setTime(t)
						r.setRequestID(parts[1])
						r.Message = parts[2]
						return parts[2]
					}
				}
			}
		}
		return msg
	}
	if len(msg) < 20 || msg[4] != '-' || msg[10] != 'T' {
		return msg
	}
	sep := strings.IndexAny(msg, "\t ")
	if sep < 0 {
		return msg
	}
	t, err := time.Parse(time.RFC3339Nano, msg[:sep])
	if err != nil {
		return msg
	}
	rest := msg[sep+1:]
	if msg[sep] == '\t' {
		parts := strings.SplitN(rest, "\t", 3)
		if len(parts) == 3 {
			if lv, ok := ParseLevel(parts[1]); ok {
				r.setTime(t)
				if parts[0] != "undefined" { // Node, outside an invocation
					r.setRequestID(parts[0])
				}
				r.Level = lv
				r.Message = parts[2]
				return parts[2]
			}
		}
		if len(parts) >= 2 && looksLikeRequestID(parts[0]) {
			r.setTime(t)
			r.setRequestID(parts[0])
			r.Message = strings.Join(parts[1:], "\t")
			return r.Message
		}
		return msg
	}
	// "time reqid message" (platform lines such as Task timed out).
	id := firstWord(rest)
	if looksLikeRequestID(id) {
		r.setTime(t)
		r.setRequestID(id)
		r.Message = strings.TrimLeft(rest[len(id):], " ")
		return r.Message
	}
	return msg
}

func (r *Record) setTime(t time.Time) {
	if r.Time.IsZero() {
		r.Time = t
	}
}

// looksLikeRequestID accepts UUID-like ids (hex digits and dashes, 32+ long).
func looksLikeRequestID(s string) bool {
	if len(s) < 32 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-') {
			return false
		}
	}
	return true
}

// parseTextReport reads a text REPORT line with the one parser,
// providers.ParseReportLine.
func parseTextReport(msg string) *Report {
	rec, _ := providers.ParseReportLine(msg)
	rep := &Report{
		DurationMs:       rec.DurationMs,
		BilledDurationMs: float64(rec.BilledDurationMs),
		MemorySizeMB:     float64(rec.MemorySizeMB),
		MaxMemoryUsedMB:  float64(rec.MaxMemoryUsedMB),
		InitDurationMs:   rec.InitDurationMs,
	}
	switch rec.Outcome {
	case "error", "oom":
		rep.Status = "error"
	case "timeout":
		rep.Status = "timeout"
	}
	return rep
}

func decodeObject(s string) map[string]any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil
	}
	if dec.More() {
		return nil
	}
	return m
}

// fromJSON fills the record from a JSON line: Lambda's JSON log format
// (timestamp, level, requestId, message), its platform events (type
// platform.start / platform.runtimeDone / platform.report with record), and
// common logger shapes (msg, levelname, severity, Powertools'
// function_request_id).
func (r *Record) fromJSON(m map[string]any, prefixed bool) {
	if typ, _ := m["type"].(string); strings.HasPrefix(typ, "platform.") {
		rec, _ := m["record"].(map[string]any)
		if id, _ := rec["requestId"].(string); id != "" {
			r.setRequestID(id)
		}
		if ts, _ := m["time"].(string); ts != "" {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				r.setTime(t)
			}
		}
		status, _ := rec["status"].(string)
		switch typ {
		case "platform.start":
			r.Kind = KindStart
		case "platform.runtimeDone":
			r.Kind = KindEnd
		case "platform.report":
			r.Kind = KindReport
			rep := &Report{Status: status}
			mt, _ := rec["metrics"].(map[string]any)
			rep.DurationMs = num(mt["durationMs"])
			rep.BilledDurationMs = num(mt["billedDurationMs"])
			rep.MemorySizeMB = num(mt["memorySizeMB"])
			rep.MaxMemoryUsedMB = num(mt["maxMemoryUsedMB"])
			rep.InitDurationMs = num(mt["initDurationMs"])
			r.Report = rep
		}
		if status == "error" || status == "timeout" || status == "failure" {
			r.Level = LevelError
		}
		return
	}
	if !prefixed {
		for _, k := range [...]string{"requestId", "AWSRequestId", "function_request_id", "aws_request_id", "request_id"} {
			if id, ok := m[k].(string); ok && id != "" {
				r.setRequestID(id)
				break
			}
		}
		for _, k := range [...]string{"timestamp", "time", "ts"} {
			if ts, ok := m[k].(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
					r.setTime(t)
					break
				}
			}
		}
	}
	if r.Level == LevelNone {
		for _, k := range [...]string{"level", "levelname", "severity", "log.level", "lvl"} {
			switch v := m[k].(type) {
			case string:
				if lv, ok := ParseLevel(v); ok {
					r.Level = lv
				}
			case json.Number:
				if lv, ok := ParseLevel(v.String()); ok {
					r.Level = lv
				}
			}
			if r.Level != LevelNone {
				break
			}
		}
	}
	if !prefixed {
		for _, k := range [...]string{"message", "msg"} {
			if s, ok := m[k].(string); ok {
				r.Message = s
				break
			}
		}
	}
}

func num(v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	}
	return 0
}

// correlation finds the correlation ID of a JSON line: the function's
// configured path first, then the well-known names at the top level, then
// the same names nested (detail.correlationId, headers, metadata, a JSON
// message...), breadth first, up to depth 4.
func (p *Parser) correlation(fn string, m map[string]any) string {
	if jp, ok := p.paths[fn]; ok {
		if v, ok := jp.lookup(m); ok {
			if s := scalarString(v); s != "" {
				return s
			}
		}
	}
	level := []map[string]any{m}
	for depth := 0; depth < 4 && len(level) > 0; depth++ {
		var next []map[string]any
		best, bestKey := "", ""
		for _, obj := range level {
			for k, v := range obj {
				if isCorrelationKey(k) {
					if s := scalarString(v); s != "" && (bestKey == "" || k < bestKey) {
						best, bestKey = s, k
					}
					continue
				}
				switch c := v.(type) {
				case map[string]any:
					next = append(next, c)
				case string:
					// A JSON document inside a string (console.log of
					// JSON.stringify under the JSON log format).
					if depth == 0 && len(c) > 2 && c[0] == '{' && strings.Contains(c, "orrelation") {
						if inner := decodeObject(c); inner != nil {
							next = append(next, inner)
						}
					}
				}
			}
		}
		if best != "" {
			return best
		}
		level = next
	}
	return ""
}

// isCorrelationKey matches correlationId, correlation_id, x-correlation-id,
// X-Correlation-ID, correlationID... : lower-cased with - and _ removed it is
// "correlationid" or "xcorrelationid".
func isCorrelationKey(k string) bool {
	if len(k) < 13 || len(k) > 16 {
		return false
	}
	var buf [16]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c == '-' || c == '_' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	b := buf[:n]
	return bytes.Equal(b, []byte("correlationid")) || bytes.Equal(b, []byte("xcorrelationid"))
}

func scalarString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case json.Number:
		return s.String()
	case bool:
		return strconv.FormatBool(s)
	}
	return ""
}

// runtimeLevel reads the level of a line that did not say it in a known
// prefix or field, from what the runtimes print on their own:
//
//	[ERROR] ValueError: bad sku\nTraceback (most recent call last): ...   (Python's uncaught exception)
//	Traceback (most recent call last): ...                                 (Python, printed by hand)
//	{"errorMessage":"...","errorType":"..."}                               (any runtime's error body)
//	panic: ... / fatal error: ...                                          (Go)
//	2024/01/01 00:00:00 ERROR msg, time=... level=ERROR msg=...            (Go's log/slog)
//	RequestId: <id> Error: Runtime exited with error: exit status 2        (the platform)
//	Task timed out after 3.00 seconds                                      (the platform)
//	INIT_REPORT Init Duration: 219.33 ms	Phase: init	Status: error …     (the platform)
func runtimeLevel(msg string, fields map[string]any) Level {
	if fields != nil {
		if _, ok := fields["errorType"].(string); ok {
			if _, ok := fields["errorMessage"]; ok {
				return LevelError
			}
		}
		return LevelNone
	}
	if strings.HasPrefix(msg, "[") {
		if end := strings.IndexByte(msg, ']'); end > 1 && end < 12 && end+1 < len(msg) && msg[end+1] == ' ' {
			if lv, ok := ParseLevel(msg[1:end]); ok {
				return lv
			}
		}
	}
	switch {
	case strings.HasPrefix(msg, "Traceback (most recent call last):"):
		return LevelError
	case strings.HasPrefix(msg, "panic: "), strings.HasPrefix(msg, "fatal error: "):
		return LevelFatal
	case strings.HasPrefix(msg, "RequestId: ") && strings.Contains(msg, " Error: "):
		return LevelError
	case strings.HasPrefix(msg, "Runtime.") && !strings.ContainsAny(msg, " \t"):
		return LevelError // the error type the platform prints under a crash
	case strings.Contains(msg, "Task timed out after"):
		return LevelError
	case strings.HasPrefix(msg, "INIT_REPORT ") && (strings.Contains(msg, "Status: error") || strings.Contains(msg, "Status: timeout")):
		return LevelError // an init that failed (Runtime.ImportModuleError…)
	}
	// Go's log package prefix, then slog's default handler level.
	if len(msg) > 20 && msg[4] == '/' && msg[7] == '/' && msg[10] == ' ' && msg[13] == ':' && msg[16] == ':' {
		rest := msg[20:]
		if i := strings.IndexByte(rest, ' '); i > 0 {
			if lv, ok := ParseLevel(rest[:i]); ok && rest[:i] == strings.ToUpper(rest[:i]) {
				return lv
			}
		}
	}
	// slog's TextHandler and other logfmt loggers.
	if i := strings.Index(msg, "level="); i == 0 || i > 0 && msg[i-1] == ' ' {
		v := msg[i+len("level="):]
		if j := strings.IndexByte(v, ' '); j >= 0 {
			v = v[:j]
		}
		if lv, ok := ParseLevel(strings.Trim(v, `"`)); ok {
			return lv
		}
	}
	return LevelNone
}
