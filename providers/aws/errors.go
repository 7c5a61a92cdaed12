package aws

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/evcli/evcli/providers"
)

// codeOf is the AWS driver's one classifier: the portable code of an SDK
// error, from the service's error code, else the HTTP status, else whether
// the endpoint answered at all. Every part of the driver wraps its errors
// through it (classify), so that retry and exit codes mean the same thing
// for Lambda, IAM, EventBridge, CloudWatch and DynamoDB.
func codeOf(err error) providers.Code {
	c := apiCode(err)
	status := httpStatus(err)
	switch {
	case c == "":
		var oe *smithy.OperationError
		if status >= 500 || (errors.As(err, &oe) && status == 0) {
			return providers.Unavailable // a 5xx, or the endpoint could not be reached
		}
		if status == http.StatusTooManyRequests {
			return providers.Throttled
		}
		return providers.Unknown
	case strings.HasSuffix(c, "DoesNotExist"): // Step Functions: StateMachineDoesNotExist, ExecutionDoesNotExist
		return providers.NotFound
	case strings.HasSuffix(c, "AlreadyExists"), c == "ExecutionNotRedrivable":
		return providers.Conflict
	case c == "InvalidDefinition", c == "InvalidArn", c == "InvalidExecutionInput", c == "InvalidName", c == "InvalidLoggingConfiguration":
		return providers.InvalidArgument
	case c == "ResourceNotFoundException", c == "NoSuchEntity", c == "NoSuchBucket", c == "NotFound", c == "NoSuchKey",
		strings.HasSuffix(c, "NotFoundException"):
		return providers.NotFound
	case strings.Contains(c, "AccessDenied"), c == "UnauthorizedOperation", c == "AuthorizationError",
		strings.HasPrefix(c, "NotAuthorized"):
		return providers.PermissionDenied
	case c == "UnrecognizedClientException", c == "InvalidClientTokenId", strings.HasPrefix(c, "ExpiredToken"),
		strings.HasPrefix(c, "InvalidSignature"), c == "SignatureDoesNotMatch", c == "IncompleteSignature",
		c == "MissingAuthenticationToken":
		return providers.Unauthenticated
	case strings.Contains(c, "Throttl"), strings.HasPrefix(c, "TooManyRequests"), c == "RequestLimitExceeded",
		c == "LimitExceededException", c == "ProvisionedThroughputExceededException", c == "SlowDown",
		status == http.StatusTooManyRequests:
		return providers.Throttled
	case c == "ResourceConflictException", c == "ResourceInUseException", c == "EntityAlreadyExists",
		c == "ResourceAlreadyExistsException", c == "ConcurrentModificationException", strings.Contains(c, "Conflict"):
		return providers.Conflict
	case strings.HasPrefix(c, "InvalidParameter"), strings.Contains(c, "Validation"), c == "MalformedPolicyDocument",
		c == "InvalidEventPatternException", c == "CodeStorageExceededException", c == "RequestTooLargeException",
		c == "InvalidArgument", c == "MalformedDetail":
		return providers.InvalidArgument
	case c == "ServiceException", strings.HasPrefix(c, "ServiceUnavailable"), c == "InternalFailure",
		c == "InternalException", c == "InternalServerError", c == "ServiceFailure", status >= 500:
		return providers.Unavailable
	}
	return providers.Unknown
}

// classify wraps err as a *providers.Error with its portable code, the
// resource, and the hint hints gives for that code (nil: none). Errors
// already classified, and context errors, are returned as they are.
func classify(resource string, err error, hints func(providers.Code) string) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return err
	}
	e := &providers.Error{Code: codeOf(err), Resource: resource, Err: err}
	if hints != nil {
		e.Hint = hints(e.Code)
	}
	if e.Hint == "" && e.Code == providers.Unauthenticated {
		e.Hint = `check the credentials: run "aws sts get-caller-identity", or "aws sso login" for SSO profiles`
	}
	return e
}

// retryableCode reports whether a call that failed with code may succeed
// when repeated.
func retryableCode(c providers.Code) bool {
	return c == providers.Throttled || c == providers.Unavailable
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
