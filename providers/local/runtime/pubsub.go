package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// A Cloud Functions handler publishes follow-up events to Pub/Sub. Locally
// each gcp instance gets its own Pub/Sub endpoint (PUBSUB_EMULATOR_HOST,
// the variable Google's client libraries honour for the emulator) that
// takes the REST publish call
//
//	POST /v1/projects/P/topics/T:publish
//	{"messages": [{"data": base64(detail JSON), "attributes": {"source": S, "type": DETAIL-TYPE}}]}
//
// and puts each message on the local bus T as an event (source, detail-type
// and detail from the message) through the PutEvents endpoint, signed with
// the instance's own credentials: the bus sees the calling function and
// invocation exactly as for a Lambda handler's PutEvents, so chains, send
// --wait and tail's flows work the same. The answer is Pub/Sub's:
// {"messageIds": [...]}, or {"error": {"code", "message", "status"}}.

type pubsubMessage struct {
	Data       string            `json:"data"`
	Attributes map[string]string `json:"attributes"`
}

// servePubSub answers in's publish calls on h.pubsub until ctx ends.
func (h *hostBridge) servePubSub(ctx context.Context, in *instance) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.publish(w, r, in)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(h.pubsub) }()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
}

func pubsubError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func (h *hostBridge) publish(w http.ResponseWriter, r *http.Request, in *instance) {
	// /v1/projects/P/topics/T:publish
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	if r.Method != http.MethodPost || len(parts) != 4 || parts[0] != "projects" || parts[2] != "topics" || !strings.HasSuffix(parts[3], ":publish") {
		pubsubError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("evcli's local Pub/Sub serves POST /v1/projects/PROJECT/topics/TOPIC:publish only, not %s %s", r.Method, r.URL.Path))
		return
	}
	topic := strings.TrimSuffix(parts[3], ":publish")
	var req struct {
		Messages []pubsubMessage `json:"messages"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 10<<20)).Decode(&req); err != nil || len(req.Messages) == 0 {
		pubsubError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("the body is not a publish request with messages: %v", err))
		return
	}
	entries := make([]putEntry, len(req.Messages))
	for i, m := range req.Messages {
		data, err := base64.StdEncoding.DecodeString(m.Data)
		if err != nil {
			pubsubError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("messages[%d].data is not base64: %v", i, err))
			return
		}
		if m.Attributes["source"] == "" || m.Attributes["type"] == "" {
			pubsubError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
				fmt.Sprintf("messages[%d]: the attributes source and type are the event's source and detail-type; set both", i))
			return
		}
		entries[i] = putEntry{Source: m.Attributes["source"], DetailType: m.Attributes["type"], Detail: string(data), EventBusName: topic}
	}
	ids, status, msg := h.putEvents(r.Context(), in, entries)
	switch status {
	case http.StatusOK:
		writeJSON(w, http.StatusOK, map[string]any{"messageIds": ids})
	case http.StatusBadRequest:
		pubsubError(w, status, "INVALID_ARGUMENT", strings.ReplaceAll(msg, "entries[", "messages["))
	case http.StatusServiceUnavailable:
		pubsubError(w, status, "UNAVAILABLE", msg)
	default:
		pubsubError(w, status, "INTERNAL", msg)
	}
}

// putEntry is one PutEvents entry.
type putEntry struct {
	Source       string   `json:"Source"`
	DetailType   string   `json:"DetailType"`
	Detail       string   `json:"Detail"`
	Resources    []string `json:"Resources,omitempty"`
	EventBusName string   `json:"EventBusName"`
}

// putEvents puts entries on the local bus through the PutEvents endpoint,
// signed with in's own credentials, so the bus sees the calling function
// and invocation as for a Lambda handler's PutEvents. It returns the event
// ids, or an HTTP status for the cloud's own error answer (400: the bus
// refused an entry, named as entries[i]; 503: no bus) and the message.
func (h *hostBridge) putEvents(ctx context.Context, in *instance, entries []putEntry) (ids []string, status int, msg string) {
	body, _ := json.Marshal(map[string]any{"Entries": entries})
	endpoint := in.spec.Env["AWS_ENDPOINT_URL_EVENTBRIDGE"]
	if endpoint == "" {
		endpoint = in.m.o.BaseEnv["AWS_ENDPOINT_URL_EVENTBRIDGE"]
	}
	if endpoint == "" {
		return nil, http.StatusServiceUnavailable, "no local bus to publish to (this runtime has no PutEvents endpoint)"
	}
	put, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", bytes.NewReader(body))
	put.Header.Set("Content-Type", "application/x-amz-json-1.1")
	put.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: in.accessKey, SecretAccessKey: "evcli-local-secret-" + in.id[:8]}
	if err := v4.NewSigner().SignHTTP(ctx, creds, put, hex.EncodeToString(sum[:]), "events", in.m.region(), time.Now()); err != nil {
		return nil, http.StatusInternalServerError, "signing the PutEvents request: " + err.Error()
	}
	resp, err := h.client.Do(put)
	if err != nil {
		return nil, http.StatusServiceUnavailable, "the local bus did not answer: " + err.Error()
	}
	defer resp.Body.Close()
	var out struct {
		Entries []struct {
			EventID      string `json:"EventId"`
			ErrorCode    string `json:"ErrorCode"`
			ErrorMessage string `json:"ErrorMessage"`
		} `json:"Entries"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK {
		return nil, http.StatusBadRequest, fmt.Sprintf("the local bus refused the events (%s): %s", resp.Status, out.Message)
	}
	ids = make([]string, 0, len(out.Entries))
	for i, e := range out.Entries {
		if e.ErrorCode != "" {
			return nil, http.StatusBadRequest, fmt.Sprintf("entries[%d]: %s: %s", i, e.ErrorCode, e.ErrorMessage)
		}
		ids = append(ids, e.EventID)
	}
	return ids, http.StatusOK, ""
}
