// Package awstest is an in-memory AWS endpoint for tests and benchmarks: a
// stateful HTTP server on 127.0.0.1 that speaks the real wire protocols of
// Lambda (REST-JSON), IAM and STS (query/XML), EventBridge and CloudWatch
// Logs (AWS JSON 1.1) and S3 (REST-XML, path-style), so the unmodified
// aws-sdk-go-v2 clients work against it.
//
// # Starting it
//
//	f := awstest.New()                  // options: WithRegion, WithAccount, WithSettleReads,
//	defer f.Close()                     //   WithRoleCheck, WithDirectUploadLimit, WithInvoke, WithClock
//	cfg := f.Config(ctx)                // aws.Config: dummy credentials, region, BaseEndpoint = f.URL()
//	lambda.NewFromConfig(cfg)           // iam, sts, eventbridge, cloudwatchlogs, s3 (UsePathStyle) alike
//	cmd.Env = append(os.Environ(), f.Env()...) // AWS_ENDPOINT_URL etc. for a subprocess
//
// One endpoint serves every service: a request is routed by its SigV4
// credential scope (…/us-east-1/lambda/aws4_request), else by X-Amz-Target
// (AWSEvents., Logs_20140328.), the query Version, or the Lambda path.
// Config's retryer is the SDK's standard one (3 attempts) without backoff
// sleeps or retry quota, so throttles are retried at once.
//
// # Recording
//
// Calls returns every request in arrival order (retries included) as
// Call{Service, Action, Resource, Mutating, Status, Code}; MutatingCalls
// only those whose operation changes state (Create/Update/Put/Delete/
// Publish/Add/Remove/Tag/Untag/Attach/Detach, PutEvents included);
// ResetCalls forgets them. Resource is the function name (without
// qualifier), role name, "bus/rule", log group name or "bucket/key".
//
// # Fault injection
//
// Inject(Fault{Service, Action, Match, Code, Status, Message, Times}) fails
// matching requests before they touch state, in the service's error format.
// Times 0 or 1 fails once, n fails n times, -1 forever; Status 0 picks the
// service's status for Code (TooManyRequestsException 429,
// ResourceConflictException 409, ServiceException 500, IAM Throttling and
// EventBridge ThrottlingException 400). Examples:
//
//	f.Inject(awstest.Fault{Service: "lambda", Action: "UpdateFunctionCode", Code: "TooManyRequestsException", Times: 2})
//	f.Inject(awstest.Fault{Service: "lambda", Match: "payments", Code: "ServiceException", Times: -1})
//	f.Inject(awstest.Fault{Service: "lambda", Action: "CreateFunction", Code: "InvalidParameterValueException",
//		Message: "The role defined for the function cannot be assumed by Lambda."}) // IAM propagation delay
//
// # Lambda semantics kept
//
// CodeSha256 is base64(sha256(zip)), CodeSize its length; RevisionId changes
// on every change. After CreateFunction State is Pending, after
// UpdateFunctionCode/UpdateFunctionConfiguration LastUpdateStatus is
// InProgress; the n-th GetFunction/GetFunctionConfiguration of that function
// (n = WithSettleReads, default 2; 0 settles at once) is the first to see
// Active/Successful (FailUpdate makes it Failed). Meanwhile updates and
// PublishVersion answer 409 ResourceConflictException ("… An update is in
// progress for resource: ARN"). PublishVersion returns the latest version
// when nothing changed since it. ListFunctions omits the state fields, as
// Lambda does. ZipFile above the direct-upload limit (default 50 MB) is 413
// RequestTooLargeException; S3Bucket/S3Key read the fake's S3. Invoke runs
// the InvokeFunc (default echo) outside the lock; an error becomes a function
// error (X-Amz-Function-Error: Unhandled); LogType Tail returns the last 4 KB
// of a START/END/REPORT log.
//
// # EventBridge, Logs, S3
//
// The "default" bus always exists. DeleteRule fails with ValidationException
// while targets remain. PutEvents stores accepted entries per bus (Events);
// SetPutEventsFailure fails chosen entries with ErrorCode/ErrorMessage, and
// SetPutTargetsFailure chosen targets. Log groups keep retention, tags and
// streams of events (CreateLogStream, DescribeLogStreams, PutLogEvents,
// FilterLogEvents with text filter patterns: terms, "phrases", ?any, -not);
// Invoke writes its START/END/REPORT lines to /aws/lambda/<function> when
// that group exists. S3 keeps buckets and objects (aws-chunked uploads are
// decoded).
//
// # State inspection and seeding
//
// Function, FunctionNames, Role, RoleNames, Bus, Rule, Targets, Events,
// LogGroup, LogEvents, Object and Buckets return copies of the state.
// SeedFunction, SeedRole, SeedBus, SeedRule, SeedLogGroup, SeedLogEvents and
// SeedObject create resources directly
// (no call recorded), e.g. resources of another project for --prune tests.
//
// # Left out
//
// Container images, layers, function URLs, event source mappings, schedule
// evaluation and event delivery to targets, StartLiveTail, JSON filter
// patterns, S3 multipart uploads and virtual-hosted addressing. Unknown operations answer the service's
// "unknown operation" error, so a test notices at once.
package awstest
