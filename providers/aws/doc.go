// Package aws is evcli's AWS driver: Lambda, EventBridge, DynamoDB and
// CloudWatch through aws-sdk-go-v2.
//
// Log source (logs.go): NewLogSource follows the functions' CloudWatch Logs
// groups (/aws/lambda/<function>). It reads what exists with FilterLogEvents
// and, when following, uses StartLiveTail sessions (at most 10 groups each),
// falling back to polling FilterLogEvents when live tail is not allowed or
// keeps failing. Polling shares one request budget across every group (the
// API allows 5 requests per second per account and region), asks again a few
// seconds back each round because events become visible late, drops repeats
// by event id, and backs off on ThrottlingException instead of failing.
//
// Event store (dynamodb.go): NewDynamoDBStore / OpenDynamoDBStore read an
// event-sourced table (partition key the aggregate id, sort key the event
// time as an RFC 3339 UTC string or epoch milliseconds/seconds; attribute
// names from evcli.yaml store.keys, checked against the key schema). A time
// window is read with parallel Scan segments and a FilterExpression, a list
// of aggregates with one Query each; pages stream through a bounded channel.
//
// Event bus (eventbridge.go): NewEventBus / OpenEventBus publish with
// PutEvents, 10 entries a call, per-entry failures (FailedEntryCount) as
// results. LoadConfig (awsconfig.go) honours --profile and --region.
//
// Errors are returned as *providers.Error with a portable code:
// AccessDeniedException is PermissionDenied (with the IAM actions needed),
// signature and token errors Unauthenticated, unreachable endpoints and 5xx
// Unavailable.
//
// Endpoints: the SDK configuration honours AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS (LocalStack, emulators); with a custom
// endpoint the "stream-" host prefix of StartLiveTail is not added.
package aws
