package local

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/bus"
)

// The evcli endpoints (besides the AWS-compatible ones) under this prefix.
const apiPrefix = "/evcli/v1/"

// sendRequest is the body of POST /evcli/v1/send.
type sendRequest struct {
	Bus    string            `json:"bus,omitempty"`
	Buses  []string          `json:"buses,omitempty"` // per event, parallel to Events
	Events []json.RawMessage `json:"events"`          // EventBridge envelopes
	Wait   bool              `json:"wait,omitempty"`
	// Flow, when set, publishes into that flow (see POST wait).
	Flow string `json:"flow,omitempty"`
}

type waitRequest struct {
	Flow string `json:"flow"`
}

// adoptRequest is the body of POST /evcli/v1/adopt: the deliveries an
// evcli process gave up so that this server delivers them (HandOff).
type adoptRequest struct {
	PID        int          `json:"pid"`
	Deliveries []bus.Handed `json:"deliveries"`
}

type adoptResponse struct {
	Adopted int `json:"adopted"`
}

type invokeRequest struct {
	Function string          `json:"function"`
	Payload  json.RawMessage `json:"payload"`
}

type health struct {
	PID  int    `json:"pid"`
	Addr string `json:"addr"`
}

func (e *Engine) handler() http.Handler {
	mux := http.NewServeMux()
	putEvents := e.bus.PutEventsHandler(func(r *http.Request) (string, string, bool) {
		return e.rt.CallerOf(accessKeyOf(r))
	})
	mux.Handle("POST /{$}", putEvents)
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", e.lambdaInvoke)
	mux.HandleFunc("GET "+apiPrefix+"health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, health{PID: pid(), Addr: e.Addr()})
	})
	mux.HandleFunc("POST "+apiPrefix+"reload", func(w http.ResponseWriter, r *http.Request) {
		if err := e.Reload(r.Context(), r.URL.Query().Get("function")); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+apiPrefix+"send", func(w http.ResponseWriter, r *http.Request) {
		var req sendRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad send request: " + err.Error()})
			return
		}
		evs := make([]providers.Event, len(req.Events))
		for i, raw := range req.Events {
			if err := json.Unmarshal(raw, &evs[i]); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("event %d: %v", i, err)})
				return
			}
			if i < len(req.Buses) {
				evs[i].EventBusName = req.Buses[i]
			}
		}
		var res SendResult
		var err error
		if req.Flow != "" {
			res.Results, err = e.Publish(r.Context(), req.Flow, req.Bus, evs)
			if err == nil && req.Wait {
				res.Deliveries, err = e.Wait(r.Context(), req.Flow)
			}
		} else {
			res, err = e.Send(r.Context(), req.Bus, evs, req.Wait)
		}
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST "+apiPrefix+"wait", func(w http.ResponseWriter, r *http.Request) {
		var req waitRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Flow == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad wait request: want {\"flow\": ID}"})
			return
		}
		d, err := e.Wait(r.Context(), req.Flow)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, SendResult{Deliveries: d})
	})
	mux.HandleFunc("POST "+apiPrefix+"adopt", func(w http.ResponseWriter, r *http.Request) {
		var req adoptRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad adopt request: " + err.Error()})
			return
		}
		n, err := e.Adopt(r.Context(), req.PID, req.Deliveries)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, adoptResponse{Adopted: n})
	})
	mux.HandleFunc("POST "+apiPrefix+"invoke", func(w http.ResponseWriter, r *http.Request) {
		var req invokeRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad invoke request: " + err.Error()})
			return
		}
		res, err := e.Invoke(r.Context(), req.Function, req.Payload)
		if err != nil {
			status := http.StatusInternalServerError
			switch providers.CodeOf(err) {
			case providers.NotFound:
				status = http.StatusNotFound
			case providers.InvalidArgument:
				status = http.StatusBadRequest
			}
			writeJSON(w, status, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	return mux
}

// lambdaInvoke serves Lambda's Invoke API (REST-JSON,
// POST /2015-03-31/functions/{name}/invocations) so that
// `aws lambda invoke --endpoint-url` and SDK clients work against evcli.
func (e *Engine) lambdaInvoke(w http.ResponseWriter, r *http.Request) {
	name := functionName(r.PathValue("name"))
	payload, err := io.ReadAll(io.LimitReader(r.Body, 6*1024*1024+1))
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	switch r.Header.Get("X-Amz-Invocation-Type") {
	case "", "RequestResponse":
	case "Event":
		if !e.hasFunction(name) {
			lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+e.arn(name))
			return
		}
		go func() {
			ctx := context.WithoutCancel(r.Context())
			if _, err := e.Invoke(ctx, name, payload); err != nil {
				e.o.Logf("local provider: async invoke of %s: %v", name, err)
			}
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	case "DryRun":
		if !e.hasFunction(name) {
			lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+e.arn(name))
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"X-Amz-Invocation-Type must be RequestResponse, Event or DryRun")
		return
	}
	res, err := e.Invoke(r.Context(), name, payload)
	if err != nil {
		switch providers.CodeOf(err) {
		case providers.NotFound:
			lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+e.arn(name))
		case providers.InvalidArgument:
			lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		default:
			lambdaError(w, http.StatusInternalServerError, "ServiceException", err.Error())
		}
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	h.Set("X-Amzn-Requestid", res.RequestID)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		tail := strings.Join(res.LogTail, "\n") + "\n"
		if len(tail) > 4096 { // Lambda returns the last 4 KB
			tail = tail[len(tail)-4096:]
		}
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(tail)))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}

// functionName accepts a name, a partial ARN or a full ARN (with an optional
// qualifier), as Lambda does.
func functionName(s string) string {
	if strings.HasPrefix(s, "arn:") {
		parts := strings.Split(s, ":")
		if len(parts) >= 7 {
			return parts[6]
		}
	}
	if i := strings.Index(s, ":function:"); i >= 0 {
		s = s[i+len(":function:"):]
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}

func (e *Engine) hasFunction(name string) bool {
	for _, s := range e.rt.Functions() {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (e *Engine) arn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:000000000000:function:%s", e.o.Region, name)
}

func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	writeJSON(w, status, map[string]string{"Type": "User", "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// logRequests tells Options.OnRequest of each request next answers.
func (e *Engine) logRequests(next http.Handler) http.Handler {
	if e.o.OnRequest == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := requestOp(r)
		if op == "" {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		e.o.OnRequest(providers.ServedRequest{Time: start, Op: op, Status: sw.status, Elapsed: time.Since(start)})
	})
}

// requestOp names a request for the log ("" for health checks).
func requestOp(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == apiPrefix+"health":
		return ""
	case r.Method == http.MethodPost && p == "/":
		return "PutEvents"
	case strings.HasPrefix(p, "/2015-03-31/functions/") && strings.HasSuffix(p, "/invocations"):
		return "Invoke " + strings.TrimSuffix(strings.TrimPrefix(p, "/2015-03-31/functions/"), "/invocations")
	case strings.HasPrefix(p, apiPrefix):
		op := strings.TrimPrefix(p, apiPrefix)
		if fn := r.URL.Query().Get("function"); fn != "" {
			op += " " + fn
		}
		return op
	}
	return r.Method + " " + p
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
