package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials/idtoken"
	"cloud.google.com/go/functions/apiv2/functionspb"
	"github.com/google/uuid"

	"github.com/evcli/evcli/providers"
)

// maxResponse caps what Invoke reads of a function's answer (Cloud Run's
// own response limit is 32 MiB).
const maxResponse = 32 << 20

// Invoke calls the function's URL as a CloudEvent in binary mode (type
// evcli.invoke, data the payload) with an identity token for the URL: a 2xx
// answer's body is the result; an answer of the function's code failing
// (500) is a FunctionError, not an error. The request id is the
// execution id Cloud Run returns.
func (d *deployer) Invoke(ctx context.Context, function string, payload []byte) (providers.InvokeResult, error) {
	f, err := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: d.fullName(function)})
	if err != nil {
		return providers.InvokeResult{}, classify("function "+function, err)
	}
	if owner := f.GetServiceConfig().GetEnvironmentVariables()[EnvProject]; owner != d.project {
		return providers.InvokeResult{}, &providers.Error{Code: providers.NotFound, Resource: "function " + function,
			Err: errors.New("no function of this project has that name"), Hint: "evcli deploy --provider gcp deploys it"}
	}
	target := f.GetServiceConfig().GetUri()
	if target == "" {
		return providers.InvokeResult{}, &providers.Error{Code: providers.Unavailable, Resource: "function " + function,
			Err: fmt.Errorf("the function has no URL yet (state %s)", f.State)}
	}
	return d.invokeURL(ctx, "function "+function, target, payload)
}

// invokeURL POSTs payload to a function's URL as Invoke does; resource
// names it in errors.
func (d *deployer) invokeURL(ctx context.Context, resource, target string, payload []byte) (providers.InvokeResult, error) {
	token, err := d.identityToken(ctx, target)
	if err != nil {
		return providers.InvokeResult{}, err
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return providers.InvokeResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", uuid.NewString())
	req.Header.Set("ce-source", "evcli.invoke")
	req.Header.Set("ce-type", "evcli.invoke")
	req.Header.Set("ce-time", time.Now().UTC().Format(time.RFC3339Nano))
	start := time.Now()
	resp, err := d.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return providers.InvokeResult{}, ctx.Err()
		}
		return providers.InvokeResult{}, &providers.Error{Code: providers.Unavailable, Resource: resource, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return providers.InvokeResult{}, &providers.Error{Code: providers.Unavailable, Resource: resource, Err: err}
	}
	res := providers.InvokeResult{RequestID: resp.Header.Get("Function-Execution-Id"),
		DurationMs: float64(time.Since(start).Microseconds()) / 1000}
	switch {
	case resp.StatusCode/100 == 2:
		res.Payload = jsonOrString(body)
		return res, nil
	case resp.StatusCode == http.StatusInternalServerError:
		res.FunctionError = "Unhandled"
		res.Payload = jsonOrString(body)
		return res, nil
	}
	return res, classify(resource, &httpError{op: "invoke", status: resp.StatusCode, body: string(bytes.TrimSpace(body))})
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

// identityToken is an OIDC token for audience: from the account's
// credentials (a service account, impersonation or the metadata server;
// gcloud's user login cannot mint one). Against a fake (a plaintext
// Cloud Functions endpoint) no token is minted.
func (d *deployer) identityToken(ctx context.Context, audience string) (string, error) {
	if d.c.creds == nil || d.c.functions.plain {
		return "evcli-test-identity", nil
	}
	opts := &idtoken.Options{Audience: audience}
	if f := d.c.getenv(envCredentials); f != "" {
		opts.CredentialsFile = f
	}
	creds, err := idtoken.NewCredentials(opts)
	var tok *auth.Token
	if err == nil {
		tok, err = creds.Token(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", &providers.Error{Code: providers.Unauthenticated, Resource: "identity token for " + audience, Err: err,
			Hint: "invoke needs credentials that can mint identity tokens: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key, or run on Google Cloud"}
	}
	return tok.Value, nil
}

var _ providers.Invoker = (*deployer)(nil)
