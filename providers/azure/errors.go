package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/evcli/evcli/providers"
)

// codeOfStatus is the portable code of an HTTP status from any Azure API
// (ARM, SCM, Event Grid's data plane, a function app's host).
func codeOfStatus(status int) providers.Code {
	switch {
	case status == http.StatusNotFound:
		return providers.NotFound
	case status == http.StatusUnauthorized:
		return providers.Unauthenticated
	case status == http.StatusForbidden:
		return providers.PermissionDenied
	case status == http.StatusTooManyRequests:
		return providers.Throttled
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return providers.Conflict
	case status >= 500:
		return providers.Unavailable
	case status >= 400:
		return providers.InvalidArgument
	}
	return providers.Unknown
}

// codeOf is the Azure driver's one classifier: the portable code of an
// error from an SDK client (*azcore.ResponseError) or from a plain HTTP
// call (*httpError). Every part of the driver wraps its errors through it
// (classify), so retries and exit codes mean the same for every service.
func codeOf(err error) providers.Code {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "ResourceGroupNotFound", "SubscriptionNotFound":
			return providers.Unconfigured
		case "AuthorizationFailed":
			return providers.PermissionDenied
		}
		return codeOfStatus(re.StatusCode)
	}
	var he *httpError
	if errors.As(err, &he) {
		return codeOfStatus(he.status)
	}
	return providers.Unknown
}

// isNotFound reports whether err is an Azure 404.
func isNotFound(err error) bool { return err != nil && codeOf(err) == providers.NotFound }

// classify wraps err as a *providers.Error with its portable code, the
// resource, and a hint for the codes users can act on. Errors already
// classified, and context errors, are returned as they are.
func classify(resource string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return err
	}
	e := &providers.Error{Code: codeOf(err), Resource: resource, Err: err}
	switch e.Code {
	case providers.Unauthenticated:
		e.Hint = credentialsHint
	case providers.PermissionDenied:
		e.Hint = "grant the identity the roles the call needs on the resource group (Contributor, or Website Contributor, EventGrid Contributor and EventGrid Data Sender)"
	case providers.Unconfigured:
		e.Hint = "check " + envSubscription + " and " + envResourceGroup + " (az group list shows the resource groups of a subscription)"
	}
	return e
}

// httpError is a non-2xx answer of a plain HTTP call (SCM publish, Event
// Grid's data plane, a function app's host).
type httpError struct {
	op     string
	status int
	body   string
}

func (e *httpError) Error() string {
	if e.body != "" {
		return fmt.Sprintf("%s: HTTP %d: %s", e.op, e.status, e.body)
	}
	return fmt.Sprintf("%s: HTTP %d", e.op, e.status)
}

// asError is errors.As for a *providers.Error.
func asError(err error, target **providers.Error) bool { return errors.As(err, target) }
