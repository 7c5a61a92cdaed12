package runtime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// An Azure Functions handler publishes follow-up events to the bus's Event
// Grid topic through the topic's data plane, as the Event Grid SDKs do:
//
//	POST {EVENTGRID_TOPIC_ENDPOINT}?api-version=2018-01-01
//	aeg-sas-key: {EVENTGRID_TOPIC_KEY}   (or Authorization: Bearer <AAD token>)
//	Content-Type: application/cloudevents-batch+json
//	[{"specversion": "1.0", "id": I, "source": S, "type": DETAIL-TYPE, "data": DETAIL}, ...]
//
// Locally each azure instance gets its own such endpoint and key (the two
// variables, which replace any evcli.yaml gives for the cloud), and the
// endpoint puts each CloudEvent on the local bus as the azure driver maps
// a delivered CloudEvent back to an EventBridge envelope: source -> source,
// type -> detail-type, data -> detail, subject -> resources[0]. The bus is
// the function's EVENT_BUS_NAME (the default bus without it): on Azure the
// topic endpoint names it. Like the Pub/Sub endpoint (pubsub.go) it goes
// through the PutEvents endpoint with the instance's own credentials, so
// chains, send --wait and tail's flows work the same. The answers are
// Event Grid's: 200 with an empty body; 400 (a batch with an event that is
// not a CloudEvent 1.0: the whole batch is refused), 401 (no or a wrong
// key), 413 (over 1 MB) with {"error": {"code", "message"}}.

// Variables an azure instance gets for its topic.
const (
	EnvEventGridEndpoint = "EVENTGRID_TOPIC_ENDPOINT"
	EnvEventGridKey      = "EVENTGRID_TOPIC_KEY"
	// EnvEventBus names the local bus the instance's topic stands for.
	EnvEventBus = "EVENT_BUS_NAME"
)

const eventGridMaxBatch = 1 << 20

// newTopicKey returns a fresh key for an instance's local topic.
func newTopicKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// serveEventGrid answers in's publishes on h.eventGrid until ctx ends.
func (h *hostBridge) serveEventGrid(ctx context.Context, in *instance) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.publishEventGrid(w, r, in)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(h.eventGrid) }()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
}

func eventGridError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// gridCloudEvent is a CloudEvent as a publisher sends it to a topic.
type gridCloudEvent struct {
	SpecVersion string          `json:"specversion"`
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Data        json.RawMessage `json:"data"`
	DataBase64  string          `json:"data_base64"`
}

func (h *hostBridge) publishEventGrid(w http.ResponseWriter, r *http.Request, in *instance) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/events" {
		eventGridError(w, http.StatusNotFound, "NotFound",
			fmt.Sprintf("evcli's local Event Grid topic serves POST /api/events only, not %s %s", r.Method, r.URL.Path))
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		eventGridError(w, http.StatusBadRequest, "BadRequest", "the api-version query parameter is missing (api-version=2018-01-01)")
		return
	}
	key := r.Header.Get("aeg-sas-key")
	bearer := strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")
	if key != h.topicKey && !bearer {
		eventGridError(w, http.StatusUnauthorized, "Unauthorized",
			"the request has no valid aeg-sas-key header or Authorization bearer token (set aeg-sas-key to "+EnvEventGridKey+")")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, eventGridMaxBatch+1))
	if err != nil {
		eventGridError(w, http.StatusBadRequest, "BadRequest", "reading the body: "+err.Error())
		return
	}
	if len(body) > eventGridMaxBatch {
		eventGridError(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge", "the batch is over 1 MB (1,048,576 bytes)")
		return
	}
	var evs []gridCloudEvent
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' { // application/cloudevents+json: one event
		var ev gridCloudEvent
		err = json.Unmarshal(body, &ev)
		evs = []gridCloudEvent{ev}
	} else {
		err = json.Unmarshal(body, &evs)
	}
	if err != nil || len(evs) == 0 {
		eventGridError(w, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("the body is not a CloudEvents 1.0 event or batch (a JSON array of events): %v", err))
		return
	}
	bus := in.spec.Env[EnvEventBus]
	entries := make([]putEntry, len(evs))
	for i, ev := range evs {
		var missing []string
		for _, f := range []struct{ name, v string }{{"specversion", ev.SpecVersion}, {"id", ev.ID}, {"source", ev.Source}, {"type", ev.Type}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		switch {
		case len(missing) > 0:
			eventGridError(w, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("[%d]: the CloudEvent has no %s (source is the event's source, type its detail-type)", i, strings.Join(missing, ", ")))
			return
		case ev.SpecVersion != "1.0":
			eventGridError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("[%d].specversion is %q; the topic takes CloudEvents 1.0", i, ev.SpecVersion))
			return
		case ev.DataBase64 != "":
			eventGridError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("[%d]: binary data (data_base64) cannot be an event's detail; send JSON as data", i))
			return
		}
		detail := string(bytes.TrimSpace(ev.Data))
		if detail == "" || detail == "null" {
			detail = "{}"
		}
		e := putEntry{Source: ev.Source, DetailType: ev.Type, Detail: detail, EventBusName: bus}
		if ev.Subject != "" {
			e.Resources = []string{ev.Subject}
		}
		entries[i] = e
	}
	_, status, msg := h.putEvents(r.Context(), in, entries)
	switch status {
	case http.StatusOK:
		w.WriteHeader(http.StatusOK)
	case http.StatusBadRequest:
		eventGridError(w, status, "BadRequest", strings.ReplaceAll(msg, "entries[", "["))
	case http.StatusServiceUnavailable:
		eventGridError(w, status, "ServiceUnavailable", msg)
	default:
		eventGridError(w, status, "InternalServerError", msg)
	}
}
