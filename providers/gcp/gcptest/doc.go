// Package gcptest is a wire-protocol fake of the Google Cloud APIs that
// have no emulator, for the gcp driver's tests: Cloud Functions v2
// (google.cloud.functions.v2.FunctionService) and its long-running
// operations (google.longrunning.Operations), the Cloud Run services and
// revisions under the functions (traffic, for rollback), and Cloud Logging's
// ListLogEntries and TailLogEntries (google.logging.v2.LoggingServiceV2:
// each invocation writes the handler's lines and Cloud Run's request log
// with its latency), and Cloud Monitoring's ListTimeSeries of the containers'
// memory utilization, and the Firestore Admin API's field configuration
// (TTL policies; the Firestore emulator has no admin API), and Secret Manager
// (secrets, numbered versions, their IAM policies: a function whose account
// may not read a secret it references fails to deploy, as Cloud Run's
// revision does), served over real gRPC on
// 127.0.0.1 with the official generated server interfaces, plus the HTTP
// upload URL GenerateUploadUrl hands out and the functions' own URLs.
//
// The fake keeps state (functions, revisions, operations, uploaded
// sources), records every mutating call, answers as Google does where the
// driver depends on it (AlreadyExists, NotFound, an operation that is not
// done for a few polls and reports its stages, a source that was never
// uploaded refused with InvalidArgument), and injects the real errors on
// request (Fail: PermissionDenied, ResourceExhausted, Unavailable, ...).
// Invoking a function's URL runs the Invoke hook with the function and
// the request, standing in for the deployed code; Push delivers what a
// pstest subscription holds to its push endpoint, as Pub/Sub's push does.
//
// It is never linked into the evcli binary (cmd/architecture_test.go).
package gcptest
