package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/evcli/evcli/providers"
)

// maxResponse caps what Invoke reads of a function's answer (the Functions
// host's own HTTP response limit is 100 MB; evcli's results are small).
const maxResponse = 32 << 20

// Invoke calls the function synchronously: a POST of the payload to the
// app's invoke route (InvokeRoute, which evcli's entrypoint registers with
// function-level authorization) with the app's default host key. A 2xx
// answer's body is the result; a 500 (the handler raised) is a
// FunctionError, not an error. The admin endpoint
// (/admin/functions/{name} with the master key) is not used: it queues
// the function and answers 202 without its result.
func (d *deployer) Invoke(ctx context.Context, function string, payload []byte) (providers.InvokeResult, error) {
	app := d.c.names.App(function)
	res := "function " + function
	s, err := d.site(ctx, app)
	if isNotFound(err) || (err == nil && tag(s.Tags, TagProject) != d.c.project) {
		return providers.InvokeResult{}, &providers.Error{Code: providers.NotFound, Resource: res,
			Err: errors.New("no function of this project has that name"), Hint: "evcli deploy --provider azure deploys it"}
	}
	if err != nil {
		return providers.InvokeResult{}, err
	}
	keys, err := d.sites.ListHostKeys(ctx, d.rg(), app, nil)
	if err != nil {
		return providers.InvokeResult{}, classify("host keys of "+app, err)
	}
	key := ""
	if k := keys.FunctionKeys["default"]; k != nil {
		key = *k
	} else if keys.MasterKey != nil {
		key = *keys.MasterKey
	}
	host := ""
	switch {
	case d.c.functions.url != "":
		host = d.c.functions.resolve("", app)
	case s.Properties != nil && s.Properties.DefaultHostName != nil:
		host = "https://" + *s.Properties.DefaultHostName
	default:
		host = "https://" + app + ".azurewebsites.net"
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, host+InvokeRoute, bytes.NewReader(payload))
	if err != nil {
		return providers.InvokeResult{}, err
	}
	req.Header.Set("x-functions-key", key)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := d.c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return providers.InvokeResult{}, ctx.Err()
		}
		return providers.InvokeResult{}, &providers.Error{Code: providers.Unavailable, Resource: res, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return providers.InvokeResult{}, &providers.Error{Code: providers.Unavailable, Resource: res, Err: err}
	}
	out := providers.InvokeResult{RequestID: resp.Header.Get("X-Evcli-Invocation-Id"),
		DurationMs: float64(time.Since(start).Microseconds()) / 1000}
	if out.RequestID == "" {
		out.RequestID = resp.Header.Get("x-ms-request-id")
	}
	switch {
	case resp.StatusCode/100 == 2:
		out.Payload = jsonOrString(body)
		out.LogTail = d.logTail(ctx, function, out.RequestID, start)
		return out, nil
	case resp.StatusCode == http.StatusInternalServerError:
		out.FunctionError = "Unhandled"
		out.Payload = jsonOrString(body)
		out.LogTail = d.logTail(ctx, function, out.RequestID, start)
		return out, nil
	case resp.StatusCode == http.StatusNotFound:
		return out, &providers.Error{Code: providers.NotFound, Resource: res,
			Err:  errors.New("the function app has no " + InvokeRoute + " route"),
			Hint: "the app's code was not packaged with evcli's entrypoint; deploy it with evcli deploy"}
	}
	return out, classify(res, &httpError{op: "invoke", status: resp.StatusCode, body: string(bytes.TrimSpace(body))})
}

// jsonOrString is b when it is JSON, else b as a JSON string.
func jsonOrString(b []byte) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

var _ providers.Invoker = (*deployer)(nil)

// logTail is the log lines of one invocation that Application Insights
// already holds: one query (no waiting: ingestion takes up to minutes, and
// evcli tail follows the rest), nil when there are none or the query
// fails (the result stands without them).
func (d *deployer) logTail(ctx context.Context, function, id string, start time.Time) []string {
	if d.logs == nil || id == "" {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines, errs := d.logs.Logs(ctx, providers.LogQuery{Functions: []string{function}, Since: start.Add(-time.Second)})
	var out []string
	for l := range lines {
		if l.RequestID == id {
			out = append(out, l.Message)
		}
	}
	if err := <-errs; err != nil {
		return nil
	}
	return out
}
