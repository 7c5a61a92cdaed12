package runtime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Handlers written for Google Cloud Functions or Azure Functions (evcli.yaml
// handlers: gcp|azure, which sets the variables hostOf reads) run as the
// cloud runs them: as a web server that the cloud's host calls once per
// event. evcli plays that host. The process is started as for a Lambda
// handler (same instance life: warm reuse, freezing, timeout, memory and
// exit handling, log capture with START/END/REPORT), with PORT (gcp) or
// FUNCTIONS_CUSTOMHANDLER_PORT (azure) set, and a hostBridge, a goroutine
// in evcli, stands between the Runtime API and that server: it takes each
// invocation from /runtime/invocation/next, POSTs it to the server in the
// cloud's wire format and posts the answer back as the invocation's
// response or error. The instance is ready when the server accepts
// connections.
//
//   - gcp: a binary-mode CloudEvent (HTTP protocol binding, the way Eventarc
//     and Pub/Sub push call a Cloud Function): POST / with ce-specversion,
//     ce-id, ce-source, ce-type (the envelope's detail-type), ce-time and the
//     EventBridge envelope as the JSON data. 2xx is success; otherwise the
//     body is the error message (the Functions Framework's
//     X-Google-Status: error|crash says which).
//   - azure: a custom-handler request (what the Functions host sends a custom
//     handler): POST /<function> with {"Data": {"event": E}, "Metadata":
//     {...}}, E an Event Grid event in the CloudEvents 1.0 schema whose data
//     is the envelope. 2xx with {"ReturnValue": v} is success; otherwise the
//     body is the error message.
//
// Go code is its own server (functions-framework-go's funcframework.Start,
// or a custom handler's net/http server); Node.js and Python code is loaded
// by the embedded host.cjs / host.py, which stand in for the frameworks
// (see their comments).

// Host kinds.
const (
	hostGCP   = "gcp"
	hostAzure = "azure"
)

// hostErrorType is the error of an invocation whose function's server did
// not answer the host; its instance is replaced.
const hostErrorType = "Runtime.HostError"

// hostOf says which cloud's host a function's code expects: "gcp", "azure"
// or "" (a Lambda handler), from the variables evcli.yaml's handlers: sets
// (FUNCTION_SIGNATURE_TYPE=cloudevent, FUNCTIONS_WORKER_RUNTIME).
func hostOf(spec FunctionSpec) string {
	switch {
	case spec.Env["FUNCTION_SIGNATURE_TYPE"] == "cloudevent":
		return hostGCP
	case spec.Env["FUNCTIONS_WORKER_RUNTIME"] != "":
		return hostAzure
	}
	return ""
}

// scriptOf names the embedded bootstrap a node or python function runs.
func scriptOf(spec FunctionSpec) string {
	if hostOf(spec) != "" {
		return family(spec.Runtime) + "-host"
	}
	return family(spec.Runtime)
}

// hostBridge calls one instance's server for each of its invocations.
type hostBridge struct {
	kind     string
	function string
	port     string
	client   *http.Client
	pubsub   net.Listener // gcp: the instance's Pub/Sub endpoint (pubsub.go)
	// azure: the instance's Event Grid topic endpoint and key (eventgrid.go)
	eventGrid net.Listener
	topicKey  string
}

func newHostBridge(kind string, spec FunctionSpec) (*hostBridge, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("choosing a port for its server: %w", err)
	}
	h := &hostBridge{
		kind: kind, function: spec.Name, port: port,
		client: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}},
	}
	if kind == hostGCP {
		if h.pubsub, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("its Pub/Sub endpoint: %w", err)
		}
	}
	if kind == hostAzure {
		if h.eventGrid, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("its Event Grid topic endpoint: %w", err)
		}
		h.topicKey = newTopicKey()
	}
	return h, nil
}

// close releases what newHostBridge took, for an instance that never ran.
func (h *hostBridge) close() {
	if h.pubsub != nil {
		h.pubsub.Close()
	}
	if h.eventGrid != nil {
		h.eventGrid.Close()
	}
}

// freePort returns a loopback port nobody listens on now, for the
// function's server to bind. It is drawn below Linux's ephemeral range
// (32768-60999), from which every port-0 listener and outgoing connection
// on the machine (other instances' Runtime API listeners among them) takes
// its port: a port from there could be taken again between this check and
// the server's bind.
func freePort() (string, error) {
	const lo, hi = 20000, 32000
	var b [2]byte
	var last error
	for range 50 {
		_, _ = rand.Read(b[:])
		port := strconv.Itoa(lo + (int(b[0])<<8|int(b[1]))%(hi-lo))
		ln, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err == nil {
			ln.Close()
			return port, nil
		}
		last = err
	}
	return "", last
}

// hostEnv is what the cloud's host sets for the code: the port to serve,
// and where to publish (the local Pub/Sub or Event Grid endpoint).
func (in *instance) hostEnv() map[string]string {
	switch {
	case in.host == nil:
		return nil
	case in.host.kind == hostGCP:
		return map[string]string{"PORT": in.host.port, "PUBSUB_EMULATOR_HOST": in.host.pubsub.Addr().String()}
	default:
		return map[string]string{"FUNCTIONS_CUSTOMHANDLER_PORT": in.host.port,
			EnvEventGridEndpoint: "http://" + in.host.eventGrid.Addr().String() + "/api/events", EnvEventGridKey: in.host.topicKey}
	}
}

// run serves in's invocations until the instance stops or its process
// exits.
func (h *hostBridge) run(in *instance) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-in.stopping:
		case <-in.exitCh:
		}
		cancel()
	}()
	if h.pubsub != nil {
		h.servePubSub(ctx, in)
	}
	if h.eventGrid != nil {
		h.serveEventGrid(ctx, in)
	}
	if !h.waitListening(ctx) {
		return // the process exited (Runtime.ExitError) or was stopped
	}
	api := "http://" + in.ln.Addr().String() + apiPrefix
	rt := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}}
	defer rt.CloseIdleConnections()
	defer h.client.CloseIdleConnections()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/invocation/next", nil)
		resp, err := rt.Do(req)
		if err != nil {
			return
		}
		payload, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		deadline := time.Now().Add(time.Hour)
		if ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err == nil {
			deadline = time.UnixMilli(ms)
		}
		result, errType, errMsg := h.call(ctx, deadline, id, payload, in)
		if ctx.Err() != nil {
			return
		}
		var post *http.Request
		if errType != "" {
			body, _ := json.Marshal(apiError{ErrorType: errType, ErrorMessage: errMsg})
			post, _ = http.NewRequestWithContext(ctx, http.MethodPost, api+"/invocation/"+id+"/error", bytes.NewReader(body))
			post.Header.Set("Lambda-Runtime-Function-Error-Type", errType)
		} else {
			post, _ = http.NewRequestWithContext(ctx, http.MethodPost, api+"/invocation/"+id+"/response", bytes.NewReader(result))
		}
		post.Header.Set("Content-Type", "application/json")
		resp, err = rt.Do(post)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// waitListening waits until the server accepts connections: its init is
// done. It reports false when ctx ends first.
func (h *hostBridge) waitListening(ctx context.Context) bool {
	d := net.Dialer{}
	for {
		c, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+h.port)
		if err == nil {
			c.Close()
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// call sends one invocation to the server. It returns the JSON result, or
// an error type and message.
func (h *hostBridge) call(ctx context.Context, deadline time.Time, id string, payload []byte, in *instance) (result []byte, errType, errMsg string) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ce := cloudEventOf(id, payload, h.kind)
	var req *http.Request
	if h.kind == hostGCP {
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:"+h.port+"/", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("ce-specversion", "1.0")
		for _, k := range []string{"id", "source", "type", "time", "subject"} {
			if v, _ := ce[k].(string); v != "" {
				req.Header.Set("ce-"+k, v)
			}
		}
	} else {
		body, _ := json.Marshal(map[string]any{
			"Data": map[string]any{"event": ce},
			"Metadata": map[string]any{
				"InvocationId": id,
				"sys":          map[string]any{"MethodName": h.function, "UtcNow": time.Now().UTC().Format(time.RFC3339Nano)},
			},
		})
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:"+h.port+"/"+h.function, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		// A process that died or was killed mid-call is reported by the
		// instance (Runtime.ExitError, Sandbox.Timedout, OutOfMemory):
		// give its exit a moment to be seen before calling this a host error.
		select {
		case <-in.exitCh:
			return nil, "", ""
		case <-in.stopping:
			return nil, "", ""
		case <-time.After(2 * time.Second):
		}
		// A live process that does not answer on its port fails the
		// invocation with hostErrorType, which also retires the instance
		// (the next invocation starts a fresh one).
		return nil, hostErrorType, fmt.Sprintf("the function's server on port %s did not answer: %v", h.port, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponsePayload+1))
	if err != nil {
		return nil, hostErrorType, fmt.Sprintf("reading the function's answer: %v", err)
	}
	if resp.StatusCode/100 != 2 {
		t := resp.Header.Get("X-Evcli-Error-Type")
		if t == "" {
			switch resp.Header.Get("X-Google-Status") {
			case "crash":
				t = "Crash"
			default:
				t = "FunctionError"
			}
		}
		msg := strings.TrimSpace(string(body))
		if msg == "" { // the CloudEvents SDK answers a Go function's error with no body
			msg = resp.Status + ": the function failed; its log has the error"
		}
		return nil, t, msg
	}
	if h.kind == hostAzure {
		var out struct {
			ReturnValue json.RawMessage `json:"ReturnValue"`
		}
		var b bytes.Buffer
		if json.Unmarshal(body, &out) == nil && len(out.ReturnValue) > 0 && json.Compact(&b, out.ReturnValue) == nil {
			return b.Bytes(), "", ""
		}
		return []byte("null"), "", ""
	}
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return []byte("null"), "", ""
	case json.Valid(body):
		return body, "", ""
	}
	b, _ := json.Marshal(string(body))
	return b, "", ""
}

// cloudEventOf builds the CloudEvent attributes (and, for Event Grid's
// CloudEvents schema, the whole event) for an invocation's payload: an
// EventBridge envelope gives id, source, type (its detail-type) and time;
// any other payload (evcli invoke --payload) gets the request id, source
// "evcli", type "evcli.invoke" and the current time. data is what the
// cloud's bus puts there: on gcp the whole envelope (the driver publishes
// it as the Pub/Sub message); on azure an envelope's detail, as the Azure
// driver publishes CloudEvents to Event Grid (type = detail-type, data =
// detail) and as a handler that publishes to Event Grid writes them, so
// code reads the same shape here and in Azure.
func cloudEventOf(requestID string, payload []byte, kind string) map[string]any {
	var env map[string]any
	_ = json.Unmarshal(payload, &env)
	str := func(k, def string) string {
		if v, ok := env[k].(string); ok && v != "" {
			return v
		}
		return def
	}
	ce := map[string]any{
		"specversion":     "1.0",
		"id":              str("id", requestID),
		"source":          str("source", "evcli"),
		"type":            str("detail-type", "evcli.invoke"),
		"time":            str("time", time.Now().UTC().Format(time.RFC3339)),
		"datacontenttype": "application/json",
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(payload, &raw)
	switch {
	case kind == hostAzure && raw["detail-type"] != nil && raw["source"] != nil:
		if d := raw["detail"]; d != nil {
			ce["data"] = d
		} else {
			ce["data"] = json.RawMessage("{}")
		}
		if res, ok := env["resources"].([]any); ok && len(res) > 0 {
			if r, ok := res[0].(string); ok {
				ce["subject"] = r // as the driver's ToCloudEvent sets it
			}
		}
	case json.Valid(payload):
		ce["data"] = json.RawMessage(payload)
	default:
		ce["data"] = string(payload)
	}
	return ce
}
