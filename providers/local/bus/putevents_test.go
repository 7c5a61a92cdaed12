package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/evcli/evcli/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (go test -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// credentialRE pulls the access key id out of a SigV4 Authorization header.
var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/`)

// sdkClient is an EventBridge client of the real AWS SDK pointed at url.
func sdkClient(url, accessKey string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		BaseEndpoint:     aws.String(url),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// recordingHandler keeps the last request body seen.
type recordingHandler struct {
	next http.Handler
	mu   sync.Mutex
	body []byte
	hdr  http.Header
}

func (h *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.body, h.hdr = b, r.Header.Clone()
	h.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(b))
	h.next.ServeHTTP(w, r)
}

// TestPutEventsWithAWSSDK proves wire compatibility: the real SDK's request
// is understood and its parser accepts our response, per-entry failures
// included. The request and response bodies are golden files.
func TestPutEventsWithAWSSDK(t *testing.T) {
	h := newHarness(t, map[string]string{"audit": `{"source":["shop.orders"]}`})
	rec := &recordingHandler{next: h.bus.PutEventsHandler(nil)}
	var respBody bytes.Buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &captureWriter{ResponseWriter: w, buf: &respBody}
		rec.ServeHTTP(cw, r)
	}))
	defer srv.Close()
	client := sdkClient(srv.URL, "AKIDLOCAL")
	out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("shop.orders"), DetailType: aws.String("OrderCreated"), Detail: aws.String(`{"orderId":"o-1"}`),
			Time: aws.Time(time.Date(2026, 11, 26, 9, 30, 15, 250e6, time.UTC)), Resources: []string{"arn:aws:x"}},
		{DetailType: aws.String("OrderCreated"), Detail: aws.String(`{}`)},
		{Source: aws.String("shop.orders"), DetailType: aws.String("OrderCreated"), Detail: aws.String(`not json`)},
		{Source: aws.String("shop.orders"), DetailType: aws.String("Other"), Detail: aws.String(`{"n":1}`), EventBusName: aws.String("default")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 2 || len(out.Entries) != 4 {
		t.Fatalf("FailedEntryCount %d, %d entries", out.FailedEntryCount, len(out.Entries))
	}
	if aws.ToString(out.Entries[0].EventId) != "id-0001" || out.Entries[0].ErrorCode != nil {
		t.Fatalf("entry 0: %+v", out.Entries[0])
	}
	if aws.ToString(out.Entries[1].ErrorCode) != "InvalidArgument" || aws.ToString(out.Entries[2].ErrorCode) != "MalformedDetail" {
		t.Fatalf("entries 1, 2: %s / %s", aws.ToString(out.Entries[1].ErrorCode), aws.ToString(out.Entries[2].ErrorCode))
	}
	if got := rec.hdr.Get("X-Amz-Target"); got != PutEventsTarget {
		t.Fatalf("X-Amz-Target %q", got)
	}
	stored, ok, _ := h.db.Event(context.Background(), "id-0001")
	if !ok || !stored.Time.Equal(time.Date(2026, 11, 26, 9, 30, 15, 250e6, time.UTC)) || !slices.Equal(stored.Resources, []string{"arn:aws:x"}) {
		t.Fatalf("stored %+v", stored)
	}
	golden(t, "PutEvents_request", indentJSON(t, rec.body))
	golden(t, "PutEvents_response", indentJSON(t, respBody.Bytes()))
	h.bus.Drain(context.Background())
	if n := len(h.inv.callsOf("audit")); n != 2 {
		t.Fatalf("audit called %d times; want 2", n)
	}
}

type captureWriter struct {
	http.ResponseWriter
	buf *bytes.Buffer
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.buf.Write(b)
	return c.ResponseWriter.Write(b)
}

func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func TestPutEventsRequestErrorsWithAWSSDK(t *testing.T) {
	h := newHarness(t, nil)
	srv := httptest.NewServer(h.bus.PutEventsHandler(nil))
	defer srv.Close()
	client := sdkClient(srv.URL, "AKID")
	entry := types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}
	big := types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(`{"x":"` + strings.Repeat("y", 100_000) + `"}`)}
	tests := []struct {
		name    string
		entries []types.PutEventsRequestEntry
		code    string
		msg     string
	}{
		{"too many entries", slices.Repeat([]types.PutEventsRequestEntry{entry}, 11), "ValidationException", "less than or equal to 10"},
		{"over 256 KB in total", []types.PutEventsRequestEntry{big, big, big}, "ValidationException", "Total size of the entries in the request is over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: tt.entries})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || !strings.Contains(ae.ErrorMessage(), tt.msg) {
				t.Fatalf("err = %v; want %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
	n := 0
	for range h.db.Events(context.Background(), providers.EventQuery{}) {
		n++
	}
	if n != 0 {
		t.Fatalf("a refused request stored %d events", n)
	}
}

func TestPutEventsRawHTTP(t *testing.T) {
	h := newHarness(t, map[string]string{"f": matchAll})
	srv := httptest.NewServer(h.bus.PutEventsHandler(nil))
	defer srv.Close()
	post := func(method, target, body string, hdr map[string]string) (int, http.Header, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, resp.Header, m
	}
	cases := []struct {
		name, method, target, body string
		status                     int
		typ                        string
	}{
		{"GET", "GET", PutEventsTarget, "", 405, "UnknownOperationException"},
		{"other operation", "POST", "AWSEvents.PutRule", `{}`, 400, "UnknownOperationException"},
		{"bad JSON", "POST", PutEventsTarget, `{"Entries":`, 400, "SerializationException"},
		{"detail not a string", "POST", PutEventsTarget, `{"Entries":[{"Source":"s","DetailType":"t","Detail":{}}]}`, 400, "SerializationException"},
		{"no entries", "POST", PutEventsTarget, `{"Entries":[]}`, 400, "ValidationException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, m := post(c.method, c.target, c.body, nil)
			if status != c.status || m["__type"] != c.typ || m["message"] == "" || hdr.Get("Content-Type") != "application/x-amz-json-1.1" {
				t.Fatalf("status %d body %v; want %d %s", status, m, c.status, c.typ)
			}
		})
	}
	// A bad time is that entry's failure only; string times are accepted.
	status, hdr, m := post("POST", PutEventsTarget,
		`{"Entries":[{"Source":"s","DetailType":"t","Detail":"{}","Time":"yesterday"},{"Source":"s","DetailType":"t","Detail":"{}","Time":"2026-11-26T08:00:00Z"},{"Source":"s","DetailType":"t","Detail":"{}","Time":1795000000.5}]}`,
		map[string]string{FlowHeader: "my-flow"})
	if status != 200 || m["FailedEntryCount"] != 1.0 || hdr.Get(FlowHeader) != "my-flow" {
		t.Fatalf("status %d body %v flow %q", status, m, hdr.Get(FlowHeader))
	}
	entries := m["Entries"].([]any)
	if e := entries[0].(map[string]any); e["ErrorCode"] != "InvalidArgument" || !strings.Contains(e["ErrorMessage"].(string), "Parameter Time is not valid") {
		t.Fatalf("entry 0 %v", e)
	}
	id2 := entries[2].(map[string]any)["EventId"].(string)
	ev, _, _ := h.db.Event(context.Background(), id2)
	if !ev.Time.Equal(time.Unix(1795000000, 500e6)) {
		t.Fatalf("epoch time stored as %v", ev.Time)
	}
	if ds := waitFlow(t, h.bus, "my-flow"); len(ds) != 2 {
		t.Fatalf("flow from header: %d deliveries; want 2", len(ds))
	}
}

// TestWaitFollowsTransitivePublishes runs a chain through the PutEvents
// endpoint, as deployed handlers do: start -> a; a publishes Step ->
// b and c (fan-out); b publishes Final -> d. Wait on the flow returns only
// when d is done, with all four deliveries, and a second flow started at the
// same time keeps its own.
func TestWaitFollowsTransitivePublishes(t *testing.T) {
	h := newHarness(t, map[string]string{
		"a": `{"detail-type":["Start"]}`,
		"b": `{"detail-type":["Step"]}`,
		"c": `{"detail-type":["Step"]}`,
		"d": `{"detail-type":["Final"]}`,
	})
	// The runtime gives every invocation its own access key; the caller
	// resolver maps it back to (function, request id).
	var (
		keys  sync.Map // access key -> [2]string{fn, requestID}
		reqNo atomic.Int64
	)
	caller := func(r *http.Request) (string, string, bool) {
		m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil {
			return "", "", false
		}
		v, ok := keys.Load(m[1])
		if !ok {
			return "", "", false
		}
		fr := v.([2]string)
		return fr[0], fr[1], true
	}
	srv := httptest.NewServer(h.bus.PutEventsHandler(caller))
	defer srv.Close()

	publisher := func(fn, next string) func(context.Context, []byte, int) (InvokeOutcome, error) {
		return func(ctx context.Context, payload []byte, _ int) (InvokeOutcome, error) {
			reqID := fmt.Sprintf("req-%d", reqNo.Add(1))
			key := "AKID" + strings.ReplaceAll(reqID, "-", "")
			keys.Store(key, [2]string{fn, reqID})
			BindRequest(ctx, reqID) // what the runtime adapter does when it assigns the request id
			var env providers.Event
			json.Unmarshal(payload, &env)
			_, err := sdkClient(srv.URL, key).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
				Source: aws.String(fn), DetailType: aws.String(next), Detail: aws.String(string(env.Detail)),
			}}})
			return InvokeOutcome{}, err
		}
	}
	h.inv.on("a", publisher("a", "Step"))
	h.inv.on("b", publisher("b", "Final"))

	ctx := context.Background()
	flow1, flow2 := h.bus.NewFlow(), h.bus.NewFlow()
	if _, err := h.bus.PublishInFlow(ctx, flow1, "", []providers.Event{{Source: "test", DetailType: "Start", Detail: json.RawMessage(`{"correlationId":"one"}`)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.bus.PublishInFlow(ctx, flow2, "", []providers.Event{{Source: "test", DetailType: "Start", Detail: json.RawMessage(`{"correlationId":"two"}`)}}); err != nil {
		t.Fatal(err)
	}
	for flow, corr := range map[string]string{flow1: "one", flow2: "two"} {
		ds := waitFlow(t, h.bus, flow)
		var fns []string
		for _, d := range ds {
			if d.Status != "ok" || d.CorrelationID != corr {
				t.Fatalf("flow %s: delivery %+v", corr, d)
			}
			fns = append(fns, d.Function)
		}
		slices.Sort(fns)
		if !slices.Equal(fns, []string{"a", "b", "c", "d"}) {
			t.Fatalf("flow %s delivered to %v; want a b c d", corr, fns)
		}
	}
}

// FuzzPutEventsBody: any body gets a well-formed answer, never a 5xx; a 200
// has one result per entry and a FailedEntryCount that counts the failures.
func FuzzPutEventsBody(f *testing.F) {
	f.Add(`{"Entries":[{"Source":"s","DetailType":"t","Detail":"{}"}]}`)
	f.Add(`{"Entries":[{"Time":"2026-01-01T00:00:00Z"}]}`)
	f.Add(`{}`)
	h := newHarness(f, map[string]string{"f": matchAll})
	handler := h.bus.PutEventsHandler(nil)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", PutEventsTarget)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if rec.Code != 200 {
			var e struct {
				Type string `json:"__type"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Type == "" {
				t.Fatalf("error without __type: %s", rec.Body)
			}
			return
		}
		var in PutEventsRequest
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatalf("200 for a body that does not parse: %v", err)
		}
		var out PutEventsResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, e := range out.Entries {
			if (e.ErrorCode == "") == (e.EventID == "") {
				t.Fatalf("entry must have an id or an error: %+v", e)
			}
			if e.ErrorCode != "" {
				failed++
			}
		}
		if len(out.Entries) != len(in.Entries) || failed != out.FailedEntryCount {
			t.Fatalf("%d entries for %d; FailedEntryCount %d, counted %d", len(out.Entries), len(in.Entries), out.FailedEntryCount, failed)
		}
	})
}

// TestRecursiveChainIsStopped: a function whose rule matches what it
// publishes (through the PutEvents endpoint) runs MaxDepth+1 times; the next
// delivery is recorded as failed, and Wait returns.
func TestRecursiveChainIsStopped(t *testing.T) {
	h := newHarness(t, map[string]string{"loop": `{"detail-type":["Tick"]}`}, func(o *Options) { o.MaxDepth = 5 })
	srv := httptest.NewServer(h.bus.PutEventsHandler(func(r *http.Request) (string, string, bool) {
		return "loop", r.Header.Get("X-Test-Request"), true
	}))
	defer srv.Close()
	var n atomic.Int64
	h.inv.on("loop", func(ctx context.Context, _ []byte, _ int) (InvokeOutcome, error) {
		reqID := fmt.Sprint("r", n.Add(1))
		BindRequest(ctx, reqID)
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader(`{"Entries":[{"Source":"loop","DetailType":"Tick","Detail":"{}"}]}`))
		req.Header.Set("X-Amz-Target", PutEventsTarget)
		req.Header.Set("X-Test-Request", reqID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return InvokeOutcome{}, err
		}
		resp.Body.Close()
		return InvokeOutcome{}, nil
	})
	flow := h.bus.NewFlow()
	h.bus.PublishInFlow(context.Background(), flow, "", []providers.Event{{Source: "t", DetailType: "Tick", Detail: json.RawMessage(matchAll)}})
	ds := waitFlow(t, h.bus, flow)
	var ok, failed int
	for _, d := range ds {
		switch d.Status {
		case "ok":
			ok++
		case "failed":
			failed++
			if !strings.Contains(d.Error, "recursive chain stopped") {
				t.Fatalf("failure %q", d.Error)
			}
		}
	}
	if ok != 5 || failed != 1 || n.Load() != 5 {
		t.Fatalf("%d ok, %d failed, %d invocations; want 5, 1, 5", ok, failed, n.Load())
	}
	stored := 0
	for range h.db.Events(context.Background(), providers.EventQuery{}) {
		stored++
	}
	if stored != 6 {
		t.Fatalf("%d events stored; want 6 (the stopped one is kept)", stored)
	}
}
