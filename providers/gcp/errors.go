package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evcli/evcli/providers"
)

// codeOf is the Google Cloud driver's one classifier: the portable code of
// an error from a gRPC API (Cloud Functions, Pub/Sub, Firestore, Logging,
// Monitoring: their client errors carry a gRPC status, wrapped or not) or
// from the source upload (httpError). Every part of the driver wraps its
// errors through it (classify), so that retries and exit codes mean the
// same for every service.
func codeOf(err error) providers.Code {
	var he *httpError
	if errors.As(err, &he) {
		switch {
		case he.status == http.StatusNotFound:
			return providers.NotFound
		case he.status == http.StatusUnauthorized:
			return providers.Unauthenticated
		case he.status == http.StatusForbidden:
			return providers.PermissionDenied
		case he.status == http.StatusTooManyRequests:
			return providers.Throttled
		case he.status == http.StatusConflict, he.status == http.StatusPreconditionFailed:
			return providers.Conflict
		case he.status >= 500:
			return providers.Unavailable
		case he.status >= 400:
			return providers.InvalidArgument
		}
		return providers.Unknown
	}
	st, ok := grpcStatus(err)
	if !ok {
		return providers.Unknown
	}
	switch st.Code() {
	case codes.NotFound:
		return providers.NotFound
	case codes.PermissionDenied:
		return providers.PermissionDenied
	case codes.Unauthenticated:
		return providers.Unauthenticated
	case codes.ResourceExhausted:
		return providers.Throttled
	case codes.AlreadyExists, codes.Aborted, codes.FailedPrecondition:
		return providers.Conflict
	case codes.InvalidArgument, codes.OutOfRange:
		return providers.InvalidArgument
	case codes.Unavailable, codes.Internal, codes.DeadlineExceeded:
		return providers.Unavailable
	}
	return providers.Unknown
}

// grpcStatus finds the gRPC status in err's chain (the generated clients
// wrap it in gax's APIError, which exposes it too).
func grpcStatus(err error) (*status.Status, bool) {
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		if st := gs.GRPCStatus(); st != nil && st.Code() != codes.OK {
			return st, true
		}
	}
	return nil, false
}

// classify wraps err as a *providers.Error with its portable code and the
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
		e.Hint = `run "gcloud auth application-default login", or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file`
	case providers.PermissionDenied:
		e.Hint = "grant the account the role the call needs (Cloud Functions Developer, Pub/Sub Editor, Cloud Datastore User), or check that the API is enabled in the project"
	}
	return e
}

// httpError is a non-2xx answer of a plain HTTP call (the source upload).
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
