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
	case status >= 500, status == http.StatusRequestTimeout:
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

// service is the API family an error came from: the codes are the same
// for all of them, the next steps (hints) are each one's own.
type service int

const (
	svcARM     service = iota // ARM, SCM, Event Grid's data plane, a function host
	svcCosmos                 // the event store's Cosmos DB account
	svcMonitor                // Log Analytics queries and Azure Monitor metrics
)

// hints are the next steps per service and code; a code a service does
// not list takes ARM's.
var hints = map[service]map[providers.Code]string{
	svcARM: {
		providers.Unauthenticated:  credentialsHint,
		providers.PermissionDenied: "grant the identity the roles the call needs on the resource group (Contributor, or Website Contributor, EventGrid Contributor and EventGrid Data Sender)",
		providers.Unconfigured:     "check " + envSubscription + " and " + envResourceGroup + " (az group list shows the resource groups of a subscription)",
	},
	svcCosmos: {
		providers.NotFound:         "check the Cosmos DB database and container names (store.table in evcli.yaml) and run evcli deploy to create them",
		providers.Unauthenticated:  "sign in again (az login) or check the account key (" + envCosmosKey + ")",
		providers.PermissionDenied: "the identity needs the Cosmos DB Built-in Data Contributor role on the account",
		providers.Throttled:        "the container's request units are exhausted: retry later or raise its throughput",
	},
	svcMonitor: {
		providers.NotFound:         "deploy the project first (it creates the function apps and their Application Insights component), or check the subscription",
		providers.Unauthenticated:  "sign in again (az login)",
		providers.PermissionDenied: "the identity needs the Monitoring Reader role (or Log Analytics Reader) on the component and the function apps",
		providers.Throttled:        "the query API's rate limit was hit: retry later",
	},
}

// statusOf is the HTTP status of an Azure error (an SDK client's or a
// plain call's), 0 when it has none.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	return 0
}

// classify wraps err from ARM or a plain HTTP call (classifyIn, svcARM).
func classify(resource string, err error) error { return classifyIn(svcARM, resource, err) }

// classifyIn wraps err as a *providers.Error with its portable code
// (codeOf), the resource, and the service's hint for the codes users can
// act on. Errors already classified, and context errors, are returned as
// they are. The data planes' (Cosmos DB, Azure Monitor) errors without an
// HTTP status are transport failures: Unavailable, to be retried.
func classifyIn(svc service, resource string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return err
	}
	e := &providers.Error{Code: codeOf(err), Resource: resource, Err: err}
	if e.Code == providers.Unknown && svc != svcARM && statusOf(err) == 0 {
		e.Code = providers.Unavailable
	}
	if h, ok := hints[svc][e.Code]; ok {
		e.Hint = h
	} else {
		e.Hint = hints[svcARM][e.Code]
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
