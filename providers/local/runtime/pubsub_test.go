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

// TestPubSubPublish: a Cloud Functions handler's Pub/Sub publish (REST, to
// PUBSUB_EMULATOR_HOST) reaches the PutEvents endpoint as one entry per
// message (the topic as the bus, source and detail-type from the
// attributes, the data as detail), signed with the calling instance's
// access key so the bus knows the caller; the handler gets the message
// ids, and a bad message is Pub/Sub's INVALID_ARGUMENT.
func TestPubSubPublish(t *testing.T) {
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
		w.Write([]byte(`{"FailedEntryCount":0,"Entries":[{"EventId":"ev-42"}]}`))
	}))
	defer bus.Close()
	m, _ := newTestManager(t, Options{BaseEnv: map[string]string{"AWS_ENDPOINT_URL_EVENTBRIDGE": bus.URL}})
	code := `
const functions = require('@google-cloud/functions-framework');
async function publish(topic, message) {
  const res = await fetch('http://' + process.env.PUBSUB_EMULATOR_HOST + '/v1/' + topic + ':publish', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ messages: [message] }) });
  return { status: res.status, body: await res.json() };
}
functions.cloudEvent('pub', async (ce) => {
  const ok = await publish('projects/shop/topics/shop-bus', {
    data: Buffer.from(JSON.stringify({ orderId: 'o-1', correlationId: 'c-1' })).toString('base64'),
    attributes: { source: 'shop.payment', type: 'PaymentCompleted' } });
  const bad = await publish('projects/shop/topics/shop-bus', { data: 'e30=', attributes: {} });
  console.log(JSON.stringify({ ok, bad }));
});
`
	deploy(t, m, FunctionSpec{Name: "pub", Runtime: "nodejs20.x", Handler: "index.pub", TimeoutS: 30,
		CodeDir: writeFiles(t, map[string]string{"index.js": code}),
		Env:     map[string]string{"FUNCTION_SIGNATURE_TYPE": "cloudevent", "FUNCTION_TARGET": "pub"}})
	r := invoke(t, m, "pub", `{"id":"ev-1","source":"shop.orders","detail-type":"OrderCreated","detail":{}}`)
	if r.FunctionError != "" {
		t.Fatalf("invocation failed: %s\n%s", r.Payload, strings.Join(r.Logs, "\n"))
	}
	var got struct {
		OK, Bad struct {
			Status int            `json:"status"`
			Body   map[string]any `json:"body"`
		}
	}
	for _, l := range r.Logs {
		if strings.HasPrefix(l, "{") {
			_ = json.Unmarshal([]byte(l), &got)
		}
	}
	if got.OK.Status != 200 || jsonText(got.OK.Body) != `{"messageIds":["ev-42"]}` {
		t.Errorf("publish answered %d %v, want 200 with the message id", got.OK.Status, got.OK.Body)
	}
	if got.Bad.Status != 400 || !strings.Contains(jsonText(got.Bad.Body), "INVALID_ARGUMENT") {
		t.Errorf("a message without attributes: %d %v, want 400 INVALID_ARGUMENT", got.Bad.Status, got.Bad.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("PutEvents got %d requests, want 1: %v", len(bodies), bodies)
	}
	want := `{"Entries":[{"Source":"shop.payment","DetailType":"PaymentCompleted","Detail":"{\"orderId\":\"o-1\",\"correlationId\":\"c-1\"}","EventBusName":"shop-bus"}]}`
	if bodies[0] != want {
		t.Errorf("PutEvents body\n%s\nwant\n%s", bodies[0], want)
	}
	fn, _, ok := m.CallerOf(accessKeyIn(auths[0]))
	if !strings.HasPrefix(auths[0], "AWS4-HMAC-SHA256 Credential=") || !ok || fn != "pub" {
		t.Errorf("PutEvents Authorization %q does not name the calling instance (caller %q, %v)", auths[0], fn, ok)
	}
}

func accessKeyIn(auth string) string {
	_, cred, _ := strings.Cut(auth, "Credential=")
	key, _, _ := strings.Cut(cred, "/")
	return key
}
