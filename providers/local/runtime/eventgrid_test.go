package runtime

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestEventGridPublish: an Azure Functions handler's publish to its topic
// (Event Grid's data plane at EVENTGRID_TOPIC_ENDPOINT, CloudEvents 1.0,
// aeg-sas-key EVENTGRID_TOPIC_KEY) reaches the PutEvents endpoint as one
// entry per event, mapped as the azure driver maps a delivered CloudEvent
// back (source, type -> detail-type, data -> detail, subject ->
// resources), on the function's EVENT_BUS_NAME, signed with the calling
// instance's access key; what Event Grid refuses gets its status and error
// code and reaches no bus.
func TestEventGridPublish(t *testing.T) {
	needInterpreter(t, "node")
	var (
		mu     sync.Mutex
		auths  []string
		bodies []string
	)
	bus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		bodies = append(bodies, string(b))
		mu.Unlock()
		if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
			http.Error(w, "not PutEvents", http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"FailedEntryCount":0,"Entries":[{"EventId":"ev-42"},{"EventId":"ev-43"}]}`))
	}))
	defer bus.Close()
	m, _ := newTestManager(t, Options{BaseEnv: map[string]string{"AWS_ENDPOINT_URL_EVENTBRIDGE": bus.URL}})
	code := `
const { app } = require('@azure/functions');
async function publish(name, body, opts = {}) {
  const headers = { 'Content-Type': 'application/cloudevents-batch+json; charset=utf-8' };
  if (opts.key !== false) headers['aeg-sas-key'] = opts.key || process.env.EVENTGRID_TOPIC_KEY;
  const res = await fetch(process.env.EVENTGRID_TOPIC_ENDPOINT + (opts.query ?? '?api-version=2018-01-01'),
    { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let code = '';
  try { code = JSON.parse(text).error.code; } catch {}
  return { name, status: res.status, code, empty: text === '' };
}
const ce = (type, data, extra = {}) => ({ specversion: '1.0', id: 'ce-' + type, source: 'shop.payment', type, time: '2026-01-02T03:04:05Z', datacontenttype: 'application/json', data, ...extra });
app.eventGrid('pub', { handler: async () => {
  const out = [];
  out.push(await publish('batch', [ce('PaymentCompleted', { orderId: 'o-1', correlationId: 'c-1' }, { subject: 'orders/o-1' }), ce('PaymentNoted', null)]));
  out.push(await publish('single', ce('PaymentCompleted', { orderId: 'o-2' })));
  out.push(await publish('no key', [ce('X', {})], { key: false }));
  out.push(await publish('wrong key', [ce('X', {})], { key: 'nope' }));
  out.push(await publish('no api-version', [ce('X', {})], { query: '' }));
  out.push(await publish('no type', [ce('X', {}), { specversion: '1.0', id: 'x', source: 's' }]));
  out.push(await publish('spec 0.3', [ce('X', {}, { specversion: '0.3' })]));
  out.push(await publish('binary', [ce('X', undefined, { data_base64: 'AAE=' })]));
  out.push(await publish('not events', 'hello'));
  out.push(await publish('too large', [ce('X', { blob: 'x'.repeat(1100000) })]));
  console.log(JSON.stringify(out));
} });
`
	deploy(t, m, FunctionSpec{Name: "pub", Runtime: "nodejs20.x", Handler: "index.pub", TimeoutS: 30,
		CodeDir: writeFiles(t, map[string]string{"index.js": code}),
		Env: map[string]string{"FUNCTIONS_WORKER_RUNTIME": "node", EnvEventBus: "shop-bus",
			EnvEventGridEndpoint: "https://shop-bus.westeurope-1.eventgrid.azure.net/api/events"}})
	r := invoke(t, m, "pub", `{"id":"ev-1","source":"shop.orders","detail-type":"OrderCreated","detail":{}}`)
	if r.FunctionError != "" {
		t.Fatalf("invocation failed: %s\n%s", r.Payload, strings.Join(r.Logs, "\n"))
	}
	type answer struct {
		Name   string `json:"name"`
		Status int    `json:"status"`
		Code   string `json:"code"`
		Empty  bool   `json:"empty"`
	}
	var got []answer
	for _, l := range r.Logs {
		if strings.HasPrefix(l, "[") {
			_ = json.Unmarshal([]byte(l), &got)
		}
	}
	want := []answer{
		{"batch", 200, "", true},
		{"single", 200, "", true},
		{"no key", 401, "Unauthorized", false},
		{"wrong key", 401, "Unauthorized", false},
		{"no api-version", 400, "BadRequest", false},
		{"no type", 400, "BadRequest", false},
		{"spec 0.3", 400, "BadRequest", false},
		{"binary", 400, "BadRequest", false},
		{"not events", 400, "BadRequest", false},
		{"too large", 413, "PayloadTooLarge", false},
	}
	if len(got) != len(want) {
		t.Fatalf("the handler saw %d answers, want %d:\n%s", len(got), len(want), strings.Join(r.Logs, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: answered %+v, want %+v", want[i].Name, got[i], want[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	wantBodies := []string{
		`{"Entries":[{"Source":"shop.payment","DetailType":"PaymentCompleted","Detail":"{\"orderId\":\"o-1\",\"correlationId\":\"c-1\"}","Resources":["orders/o-1"],"EventBusName":"shop-bus"},` +
			`{"Source":"shop.payment","DetailType":"PaymentNoted","Detail":"{}","EventBusName":"shop-bus"}]}`,
		`{"Entries":[{"Source":"shop.payment","DetailType":"PaymentCompleted","Detail":"{\"orderId\":\"o-2\"}","EventBusName":"shop-bus"}]}`,
	}
	if len(bodies) != len(wantBodies) {
		t.Fatalf("PutEvents got %d requests, want %d: %v", len(bodies), len(wantBodies), bodies)
	}
	for i := range wantBodies {
		if bodies[i] != wantBodies[i] {
			t.Errorf("PutEvents body %d\n%s\nwant\n%s", i, bodies[i], wantBodies[i])
		}
	}
	fn, _, ok := m.CallerOf(accessKeyIn(auths[0]))
	if !strings.HasPrefix(auths[0], "AWS4-HMAC-SHA256 Credential=") || !ok || fn != "pub" {
		t.Errorf("PutEvents Authorization %q does not name the calling instance (caller %q, %v)", auths[0], fn, ok)
	}
}
