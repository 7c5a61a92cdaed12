package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/evcli/evcli/providers"
)

// PutEventsTarget is the X-Amz-Target of EventBridge's PutEvents.
const PutEventsTarget = "AWSEvents.PutEvents"

// FlowHeader, on a PutEvents request, names the flow its events join (when
// the caller is not a running function); the response carries the flow used.
const FlowHeader = "X-Evcli-Flow-Id"

// MaxEntriesPerRequest is PutEvents' limit on entries per call.
const MaxEntriesPerRequest = 10

// maxRequestBody bounds what the endpoint reads (the entries may total 256 KB;
// JSON escaping can double that).
const maxRequestBody = 2 << 20

// PutEventsRequest is the body of a PutEvents call (AWS JSON 1.1).
type PutEventsRequest struct {
	Entries    []PutEventsRequestEntry `json:"Entries"`
	EndpointID string                  `json:"EndpointId,omitempty"`
}

// PutEventsRequestEntry is one entry of a PutEvents call. Detail is a string
// holding a JSON object; Time is epoch seconds (the protocol's timestamp).
type PutEventsRequestEntry struct {
	Source       *string         `json:"Source,omitempty"`
	DetailType   *string         `json:"DetailType,omitempty"`
	Detail       *string         `json:"Detail,omitempty"`
	EventBusName *string         `json:"EventBusName,omitempty"`
	Resources    []string        `json:"Resources,omitempty"`
	Time         json.RawMessage `json:"Time,omitempty"`
	TraceHeader  *string         `json:"TraceHeader,omitempty"`
}

// PutEventsResponse is the response to a PutEvents call.
type PutEventsResponse struct {
	Entries          []PutEventsResultEntry `json:"Entries"`
	FailedEntryCount int                    `json:"FailedEntryCount"`
}

// PutEventsResultEntry is the outcome of one entry: EventId, or ErrorCode
// and ErrorMessage.
type PutEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// PutEventsHandler serves EventBridge's PutEvents (AWS JSON 1.1: POST with
// X-Amz-Target: AWSEvents.PutEvents) on the bus, so that an AWS SDK whose
// EventBridge endpoint points here works unchanged. caller identifies the
// function invocation making the request (from its credentials); its events
// join the flow of the delivery that invocation serves (FlowOfInvocation).
// A request with a FlowHeader joins that flow (and the response names it);
// any other belongs to no flow.
// Signatures are not checked.
func (b *Bus) PutEventsHandler(caller func(r *http.Request) (fn, requestID string, ok bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeAWSError(w, http.StatusMethodNotAllowed, "UnknownOperationException", "PutEvents is called with POST /")
			return
		}
		if t := r.Header.Get("X-Amz-Target"); t != PutEventsTarget {
			writeAWSError(w, http.StatusBadRequest, "UnknownOperationException",
				fmt.Sprintf("operation %q is not supported by evcli's local EventBridge endpoint; it serves %s only", t, PutEventsTarget))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeAWSError(w, http.StatusRequestEntityTooLarge, "ValidationException", "Total size of the entries in the request is over the limit.")
				return
			}
			writeAWSError(w, http.StatusBadRequest, "SerializationException", "reading the request body: "+err.Error())
			return
		}
		var req PutEventsRequest
		if err := json.Unmarshal(body, &req); err != nil {
			writeAWSError(w, http.StatusBadRequest, "SerializationException", "the request body is not a valid PutEvents request: "+err.Error())
			return
		}
		if n := len(req.Entries); n < 1 || n > MaxEntriesPerRequest {
			bound := "greater than or equal to 1"
			if n > 0 {
				bound = fmt.Sprintf("less than or equal to %d", MaxEntriesPerRequest)
			}
			writeAWSError(w, http.StatusBadRequest, "ValidationException",
				fmt.Sprintf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length %s (got %d)", bound, n))
			return
		}
		results := make([]PutEventsResultEntry, len(req.Entries))
		var (
			evs   []providers.Event
			index []int
			total int
		)
		for i, e := range req.Entries {
			ev, err := e.event()
			if err != nil {
				results[i] = PutEventsResultEntry{ErrorCode: "InvalidArgument", ErrorMessage: err.Error()}
				continue
			}
			total += providers.EntrySize(&ev)
			evs = append(evs, ev)
			index = append(index, i)
		}
		if total > providers.MaxEntryBytes {
			writeAWSError(w, http.StatusBadRequest, "ValidationException",
				fmt.Sprintf("Total size of the entries in the request is over the limit (%d bytes; the limit is %d).", total, providers.MaxEntryBytes))
			return
		}
		ctx := r.Context()
		flow := r.Header.Get(FlowHeader)
		var publisher *deliveryScope
		if caller != nil {
			if fn, reqID, ok := caller(r); ok {
				ctx = context.WithValue(ctx, fromFunctionKey{}, true)
				if bd, ok := b.invocation(fn, reqID); ok {
					ctx = context.WithValue(ctx, depthKey{}, bd.depth+1)
					if flow == "" {
						flow = bd.flow
					}
					publisher = bd.scope
				}
			}
		}
		if len(evs) > 0 {
			pub, err := b.PublishInFlow(ctx, flow, "", evs)
			if err != nil {
				writeAWSError(w, http.StatusInternalServerError, "InternalException", err.Error())
				return
			}
			var published []string
			for k, p := range pub {
				results[index[k]] = PutEventsResultEntry{EventID: p.EventID, ErrorCode: p.ErrorCode, ErrorMessage: p.ErrorMsg}
				if p.ErrorCode == "" {
					published = append(published, evs[k].DetailType)
				}
			}
			if publisher != nil {
				publisher.addPublished(published)
			}
		}
		resp := PutEventsResponse{Entries: results}
		for _, e := range results {
			if e.ErrorCode != "" {
				resp.FailedEntryCount++
			}
		}
		if flow != "" {
			w.Header().Set(FlowHeader, flow)
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// event converts an entry; the only error is an unreadable Time.
func (e PutEventsRequestEntry) event() (providers.Event, error) {
	ev := providers.Event{Resources: e.Resources}
	if e.Source != nil {
		ev.Source = *e.Source
	}
	if e.DetailType != nil {
		ev.DetailType = *e.DetailType
	}
	if e.Detail != nil {
		ev.Detail = json.RawMessage(*e.Detail)
	}
	if e.EventBusName != nil {
		ev.EventBusName = *e.EventBusName
	}
	if len(e.Time) > 0 && string(e.Time) != "null" {
		t, err := parseAWSTime(e.Time)
		if err != nil {
			return ev, fmt.Errorf("Parameter Time is not valid. Reason: %v", err)
		}
		ev.Time = t
	}
	return ev, nil
}

// maxEpochSeconds is 9999-12-31T23:59:59Z.
const maxEpochSeconds = 253402300799

// parseAWSTime reads a JSON 1.1 timestamp: epoch seconds as a number, or
// (leniently) a string of epoch seconds or RFC 3339.
func parseAWSTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, err
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, fmt.Errorf("%s is neither epoch seconds nor an RFC 3339 time", raw)
	}
	if f < 0 || f > maxEpochSeconds {
		return time.Time{}, fmt.Errorf("%s is outside 1970-01-01 .. 9999-12-31", raw)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"__type":"InternalException","message":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", NewUUID())
	w.WriteHeader(status)
	w.Write(b)
}

func writeAWSError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ)
	writeJSON(w, status, map[string]string{"__type": typ, "message": msg})
}
