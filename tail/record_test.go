package tail

import (
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

const rid = "3604209a-e9a3-11e6-939a-754dd98c7be3"

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	p, err := NewParser(map[string]string{"billing": "detail.meta['trace']"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		fn      string
		msg     string
		reqID   string // LogLine.RequestID given by the source
		kind    Kind
		wantReq string
		level   Level
		message string
		corr    string
		dur     float64
		isErr   bool
	}{
		{name: "start", msg: "START RequestId: " + rid + " Version: $LATEST\n", kind: KindStart, wantReq: rid, message: "START RequestId: " + rid + " Version: $LATEST"},
		{name: "end", msg: "END RequestId: " + rid, kind: KindEnd, wantReq: rid, message: "END RequestId: " + rid},
		{name: "report", msg: "REPORT RequestId: " + rid + "\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 101.20 ms\t",
			kind: KindReport, wantReq: rid, dur: 12.34},
		{name: "report timeout", msg: "REPORT RequestId: " + rid + "\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tStatus: timeout",
			kind: KindReport, wantReq: rid, dur: 3000, level: LevelError, isErr: true},
		{name: "node text", msg: "2024-01-01T00:00:00.000Z\t" + rid + "\tINFO\thello world", wantReq: rid, level: LevelInfo, message: "hello world"},
		{name: "node text json message", msg: "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\t{\"correlationId\":\"c-1\",\"err\":\"boom\"}", wantReq: rid, level: LevelError, message: "{\"correlationId\":\"c-1\",\"err\":\"boom\"}", corr: "c-1", isErr: true},
		{name: "python text", msg: "[WARNING]\t2024-01-01T00:00:00.000Z\t" + rid + "\tlow stock", wantReq: rid, level: LevelWarn, message: "low stock"},
		{name: "timed out", msg: "2024-01-01T00:00:03.000Z " + rid + " Task timed out after 3.00 seconds", wantReq: rid, level: LevelError, message: "Task timed out after 3.00 seconds", isErr: true},
		{name: "lambda json", msg: `{"timestamp":"2024-01-01T00:00:00.000Z","level":"INFO","requestId":"` + rid + `","message":"order placed","correlation_id":"c-2"}`, wantReq: rid, level: LevelInfo, message: "order placed", corr: "c-2"},
		{name: "powertools", msg: `{"level":"ERROR","location":"h:1","message":"failed","timestamp":"2024-01-01 00:00:00,000+0000","service":"orders","function_request_id":"` + rid + `","correlation_id":"c-3"}`, wantReq: rid, level: LevelError, message: "failed", corr: "c-3", isErr: true},
		{name: "x-correlation-id nested in headers", msg: `{"msg":"in","headers":{"X-Correlation-Id":"c-4"}}`, message: "in", corr: "c-4"},
		{name: "detail.correlationId", msg: `{"msg":"event","level":"debug","detail":{"correlationId":"c-5","x":1}}`, level: LevelDebug, message: "event", corr: "c-5"},
		{name: "numeric correlation", msg: `{"correlationId":42}`, message: `{"correlationId":42}`, corr: "42"},
		{name: "function path wins", fn: "billing", msg: `{"correlationId":"generic","detail":{"meta":{"trace":"t-9"}}}`, message: `{"correlationId":"generic","detail":{"meta":{"trace":"t-9"}}}`, corr: "t-9"},
		{name: "function path missing falls back", fn: "billing", msg: `{"correlationId":"generic"}`, message: `{"correlationId":"generic"}`, corr: "generic"},
		{name: "pino numeric level", msg: `{"level":50,"msg":"db down","reqId":"x"}`, level: LevelError, message: "db down", isErr: true},
		{name: "json message string holding json", msg: `{"level":"INFO","message":"{\"correlationId\":\"c-6\"}"}`, level: LevelInfo, message: `{"correlationId":"c-6"}`, corr: "c-6"},
		{name: "platform.start", msg: `{"time":"2024-01-01T00:00:00.000Z","type":"platform.start","record":{"requestId":"` + rid + `","version":"$LATEST"}}`, kind: KindStart, wantReq: rid},
		{name: "platform.report", msg: `{"time":"2024-01-01T00:00:00.000Z","type":"platform.report","record":{"requestId":"` + rid + `","metrics":{"durationMs":5.5,"billedDurationMs":6,"memorySizeMB":128,"maxMemoryUsedMB":30},"status":"error"}}`, kind: KindReport, wantReq: rid, dur: 5.5, level: LevelError, isErr: true},
		{name: "plain text kept", msg: "just text", message: "just text"},
		{name: "source request id wins", reqID: "from-source", msg: "START RequestId: " + rid, kind: KindStart, wantReq: "from-source"},
		{name: "broken json is text", msg: `{"a":`, message: `{"a":`},
		{name: "python uncaught exception", msg: "[ERROR] ValueError: bad sku\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 3, in handler", level: LevelError, isErr: true},
		{name: "python traceback alone", msg: "Traceback (most recent call last):\n  File \"app.py\"", level: LevelError, isErr: true},
		{name: "python bracket not a level", msg: "[cart] 3 items", message: "[cart] 3 items"},
		{name: "node console.error", msg: "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\tError: no carrier\n    at handler (/x/index.js:3:9)", wantReq: rid, level: LevelError, isErr: true},
		{name: "node outside an invocation", msg: "2024-01-01T00:00:00.000Z\tundefined\tWARN\tcold", level: LevelWarn, message: "cold"},
		{name: "node invoke error", msg: "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\tInvoke Error \t{\"errorType\":\"Error\",\"errorMessage\":\"boom\"}", wantReq: rid, level: LevelError, isErr: true},
		{name: "runtime error body", msg: `{"errorMessage":"no carrier","errorType":"errorString"}`, level: LevelError, isErr: true},
		{name: "go panic", msg: "panic: runtime error: index out of range\n\ngoroutine 1 [running]:", level: LevelFatal, isErr: true},
		{name: "go slog default", msg: "2024/01/01 00:00:00 ERROR charge failed sku=42", level: LevelError, isErr: true},
		{name: "go log lowercase word is no level", msg: "2024/01/01 00:00:00 error count is 0", message: "2024/01/01 00:00:00 error count is 0"},
		{name: "go slog text", msg: `time=2024-01-01T00:00:00Z level=WARN msg="low stock"`, level: LevelWarn},
		{name: "runtime exited", msg: "RequestId: " + rid + " Error: Runtime exited with error: exit status 2", level: LevelError, isErr: true},
		{name: "init report error", msg: "INIT_REPORT Init Duration: 219.33 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError", level: LevelError, isErr: true},
		{name: "init report ok", msg: "INIT_REPORT Init Duration: 219.33 ms\tPhase: init\tStatus: success"},
		{name: "node uncaught exception", msg: "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\tUncaught Exception \t{\"errorType\":\"Runtime.ImportModuleError\",\"errorMessage\":\"x\"}", wantReq: rid, level: LevelError, isErr: true},
		{name: "runtime error type", msg: "Runtime.ExitError", level: LevelError, isErr: true},
		{name: "go log with source request id", reqID: rid, msg: "2024/01/01 00:00:00 hello", wantReq: rid, message: "2024/01/01 00:00:00 hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := tt.fn
			if fn == "" {
				fn = "orders"
			}
			r := p.Parse(providers.LogLine{Time: t0, Function: fn, RequestID: tt.reqID, Message: tt.msg})
			if r.Kind != tt.kind {
				t.Errorf("kind = %v, want %v", r.Kind, tt.kind)
			}
			if r.RequestID != tt.wantReq {
				t.Errorf("request id = %q, want %q", r.RequestID, tt.wantReq)
			}
			if r.Level != tt.level {
				t.Errorf("level = %q, want %q", r.Level, tt.level)
			}
			if tt.message != "" && r.Message != tt.message {
				t.Errorf("message = %q, want %q", r.Message, tt.message)
			}
			if r.CorrelationID != tt.corr {
				t.Errorf("correlation = %q, want %q", r.CorrelationID, tt.corr)
			}
			if tt.dur != 0 && (r.Report == nil || r.Report.DurationMs != tt.dur) {
				t.Errorf("report = %+v, want duration %v", r.Report, tt.dur)
			}
			if r.IsError() != tt.isErr {
				t.Errorf("IsError = %v, want %v", r.IsError(), tt.isErr)
			}
		})
	}
}

func TestParseMapsStagedSourcePaths(t *testing.T) {
	p, _ := NewParser(nil)
	p.MapSources(map[string]string{"payment": "services/pay/"})
	for _, tt := range []struct{ fn, msg, want string }{
		{"shipment", "[ERROR] ValueError: x\n  File \"/tmp/demo/.evcli/functions/shipment/0123456789abcdef/app.py\", line 17, in handler",
			"[ERROR] ValueError: x\n  File \"functions/shipment/app.py\", line 17, in handler"},
		{"payment", "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\tError: no\n    at handler (/home/u/demo/.evcli/functions/payment/fedcba9876543210/index.js:3:9)",
			"Error: no\n    at handler (services/pay/index.js:3:9)"},
		{"x", `C:\demo\.evcli\functions\x\0123456789abcdef\app.py`, "functions/x/app.py"},
		{"x", "no path here", "no path here"},
	} {
		if got := p.Parse(providers.LogLine{Function: tt.fn, Message: tt.msg}).Message; got != tt.want {
			t.Errorf("%q\n got %q\nwant %q", tt.msg, got, tt.want)
		}
	}
	// Node's error body after the tab is parsed into fields.
	r := p.Parse(providers.LogLine{Function: "payment", Message: "2024-01-01T00:00:00.000Z\t" + rid + "\tERROR\tUncaught Exception \t" +
		`{"errorType":"Runtime.ImportModuleError","errorMessage":"Cannot find module 'x'","stack":["Error: no","    at /h/.evcli/functions/payment/fedcba9876543210/index.js:1:1"]}`})
	if r.Fields["errorType"] != "Runtime.ImportModuleError" || r.Level != LevelError || !strings.HasPrefix(r.Message, "Uncaught Exception") ||
		!strings.Contains(r.Message, " at services/pay/index.js:1:1") || r.Fields["stack"].([]any)[1] != "    at services/pay/index.js:1:1" {
		t.Errorf("node error body: %+v", r)
	}
	// Without MapSources the message is left alone.
	q, _ := NewParser(nil)
	if got := q.Parse(providers.LogLine{Message: "/d/.evcli/functions/a/0123456789abcdef/x.py"}).Message; got != "/d/.evcli/functions/a/0123456789abcdef/x.py" {
		t.Errorf("mapped without MapSources: %q", got)
	}
}

func TestParseTakesTimeFromLineWhenSourceHasNone(t *testing.T) {
	p, _ := NewParser(nil)
	r := p.Parse(providers.LogLine{Message: "2024-01-01T00:00:05.250Z\t" + rid + "\tINFO\thi"})
	if want := t0.Add(5250 * time.Millisecond); !r.Time.Equal(want) {
		t.Fatalf("time = %v, want %v", r.Time, want)
	}
}

func TestReportFields(t *testing.T) {
	p, _ := NewParser(nil)
	r := p.Parse(providers.LogLine{Message: "REPORT RequestId: " + rid + "\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 101.20 ms\t"})
	want := Report{DurationMs: 12.34, BilledDurationMs: 13, MemorySizeMB: 128, MaxMemoryUsedMB: 40, InitDurationMs: 101.2}
	if r.Report == nil || *r.Report != want {
		t.Fatalf("report = %+v, want %+v", r.Report, want)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"warning": LevelWarn, "Err": LevelError, "CRITICAL": LevelFatal, "info": LevelInfo, "trace": LevelTrace, "20": LevelDebug} {
		if got, ok := ParseLevel(in); !ok || got != want {
			t.Errorf("ParseLevel(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := ParseLevel("loud"); ok {
		t.Error(`ParseLevel("loud") succeeded`)
	}
}

func TestJSONPath(t *testing.T) {
	good := map[string]string{
		"correlationId":               "$.correlationId",
		"$.detail.correlationId":      "$.detail.correlationId",
		"headers['x-correlation-id']": "$.headers.x-correlation-id",
		`$["a.b"][0].c`:               "$['a.b'][0].c",
		"$[2]":                        "$[2]",
	}
	for in, want := range good {
		p, err := parseJSONPath(in)
		if err != nil {
			t.Errorf("parseJSONPath(%q): %v", in, err)
			continue
		}
		if p.String() != want {
			t.Errorf("parseJSONPath(%q) = %s, want %s", in, p, want)
		}
	}
	bad := map[string]string{
		"":        "column 1: the path is empty",
		"a..b":    "column 3: empty name between dots",
		"a.":      "column 2: the path ends with '.'",
		"a[x]":    `column 3: "x" is neither an index nor a quoted name`,
		"a[0":     "column 2: '[' is not closed",
		"$x":      "column 2: expected '.' or '['",
		"$.a[-1]": `column 5: "-1" is neither`,
	}
	for in, want := range bad {
		_, err := parseJSONPath(in)
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("parseJSONPath(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
	_, err := NewParser(map[string]string{"orders": "a..b"})
	if err == nil || err.Error() != `functions.orders.correlation: "a..b": column 3: empty name between dots` {
		t.Errorf("NewParser error = %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{"a.b", "$.detail.correlationId", "$['x-y'][0]", `["a'b"]`, "$[1].c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseJSONPath(s)
		if err != nil {
			return
		}
		q, err := parseJSONPath(p.String())
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", p.String(), s, err)
		}
		if q.String() != p.String() {
			t.Fatalf("unstable: %q -> %q -> %q", s, p.String(), q.String())
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"START RequestId: " + rid + " Version: $LATEST",
		"REPORT RequestId: " + rid + "\tDuration: 1.00 ms\tStatus: error",
		"2024-01-01T00:00:00.000Z\t" + rid + "\tINFO\thello",
		"[ERROR]\t2024-01-01T00:00:00.000Z\t" + rid + "\toops",
		`{"level":"INFO","message":"x","detail":{"correlationId":"c"}}`,
		`{"type":"platform.report","record":{"requestId":"r","metrics":{"durationMs":1}}}`,
		"[ERROR] ValueError: x\nTraceback (most recent call last):\n  File \"/d/.evcli/functions/f/0123456789abcdef/app.py\", line 1",
		"panic: boom\n\ngoroutine 1 [running]:",
		"2024/01/01 00:00:00 ERROR x",
		`time=2024-01-01T00:00:00Z level=WARN msg="x"`,
		"INIT_REPORT Init Duration: 1 ms\tPhase: init\tStatus: error",
	} {
		f.Add(s)
	}
	p, _ := NewParser(map[string]string{"f": "a.b[0]"})
	p.MapSources(map[string]string{"f": "src/f"})
	f.Fuzz(func(t *testing.T, s string) {
		r := p.Parse(providers.LogLine{Function: "f", Message: s})
		if strings.Contains(r.Message, "/.evcli/functions/f/0123456789abcdef/") {
			t.Fatalf("staged path left in %q", r.Message)
		}
		if r.Kind == KindReport && r.Report == nil {
			t.Fatal("REPORT without report figures")
		}
		if r.Fields != nil && r.Message == "" && s != "" && s[0] == '{' {
			t.Fatalf("message of JSON line %q lost", s)
		}
	})
}
