// Package aws is evcli's AWS driver: Lambda, EventBridge, DynamoDB and
// CloudWatch through aws-sdk-go-v2.
//
// Log source (logs.go): NewLogSource follows the functions' CloudWatch Logs
// groups (/aws/lambda/<project>-<function>, see names.go). It reads what exists with FilterLogEvents
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
// Deployer (deployer*.go, rollback.go, invoke.go): NewDeployer deploys a
// project with the service APIs directly, per function, no CloudFormation
// and no state file. Deployed reads what exists (functions tagged
// evcli:project, their live alias's configuration, rules named
// <project>-<id> whose description records the RuleSpec, their targets and
// the alias's permissions) with read calls only. ApplyFunction changes only
// what differs: the code when CodeSha256 differs, then waits for
// LastUpdateStatus before the configuration; it publishes a version, moves
// the live alias and converges the rules. Functions are named
// <project>-<function> (names.go; a deployment under the bare name is
// adopted by the next deploy). Execution roles
// evcli-<project>-<function>-<region> get AWSLambdaBasicExecutionRole and an inline
// policy with events:PutEvents on the project's bus and item read/write on
// the event-store table. DeleteFunction deletes only functions tagged with
// the project, their rules and evcli's role; the log group is kept (it
// expires with its retention). PlanShared/ApplyShared create the bus and the
// on-demand table with TTL, and the writer that fills the table
// (storewriter.go); prune deletes a bus tagged with the project but
// never a table, which holds the event data. Every call is retried on
// throttling and conflicts with exponential backoff and jitter through
// DeployerOptions.Sleep (the SDK's own retryer is off), up to MaxAttempts.
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
