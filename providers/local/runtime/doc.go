// Package runtime runs Lambda handlers on the local machine, unmodified, by
// serving the AWS Lambda Runtime API (version 2018-06-01) to them.
//
// A Manager holds the deployed functions (Deploy, Remove) and their
// instances. Each instance is one process in its own process group (ended
// with it, together with, on Linux, the processes that left the group but
// carry the instance's environment: see killMarked), started
// in the function's code directory with the environment Lambda gives a
// function (AWS_LAMBDA_FUNCTION_NAME, _HANDLER, LAMBDA_TASK_ROOT,
// AWS_LAMBDA_RUNTIME_API, per-instance dummy credentials, ...), talking to its
// own HTTP listener on 127.0.0.1:
//
//   - provided.al2023 / provided.al2: CodeDir/bootstrap is executed (a Go
//     handler built with aws-lambda-go, or any custom runtime);
//   - nodejs20.x / nodejs22.x: an embedded JavaScript bootstrap run with node
//     loads "file.export" handlers, CommonJS or ES modules, async or callback
//     (callback(null, value) answers once the event loop is empty unless
//     context.callbackWaitsForEmptyEventLoop is false, as on Lambda);
//   - python3.12 / python3.13: an embedded bootstrap run with python3 loads
//     "module.function" handlers.
//
// Handlers written for Google Cloud Functions or Azure Functions run too (a
// function whose environment has FUNCTION_SIGNATURE_TYPE=cloudevent, or
// FUNCTIONS_WORKER_RUNTIME, as evcli.yaml's handlers: gcp|azure sets): their
// process is a web server on PORT / FUNCTIONS_CUSTOMHANDLER_PORT (Go code
// itself, through functions-framework-go or net/http; Node.js and Python
// code loaded by the embedded host.cjs / host.py, which stand in for
// @google-cloud/functions-framework, functions_framework, @azure/functions
// and azure.functions), and evcli plays the cloud's host, POSTing each
// invocation as a CloudEvent or a custom-handler request (host.go). The
// instance's life, logs and failures are the same as a Lambda handler's.
// Their follow-up events reach the local bus the way the cloud's code
// publishes them: a gcp instance gets a Pub/Sub REST endpoint
// (PUBSUB_EMULATOR_HOST; pubsub.go), an azure instance an Event Grid topic
// endpoint taking CloudEvents 1.0 (EVENTGRID_TOPIC_ENDPOINT and its key
// EVENTGRID_TOPIC_KEY; eventgrid.go).
//
// Invoke is synchronous. Instances stay warm and are reused; new ones start
// on demand up to the function's concurrency, after which invokes wait for a
// free instance (bounded by their context). As in Lambda, an instance is
// frozen between invocations (Unix): when its runtime asks for the next event
// and none is waiting, its process group is stopped (SIGSTOP) until one
// arrives, so timers, goroutines and promises a handler left running pause,
// and resume — their output inside the next invocation — when it is reused. Every invocation writes Lambda's
// START, END and REPORT lines (REPORT with Duration, Billed Duration, Memory
// Size, Max Memory Used, Init Duration on cold starts, and Status on failures)
// around the handler's own stdout/stderr lines, to Options.Logs, and one
// providers.InvocationRecord to Options.Reports.
//
// Failures take Lambda's shapes: the timeout kills the instance and fails the
// invocation with "Sandbox.Timedout" ("Task timed out after N.00 seconds");
// an instance whose process tree grows past the memory size is killed with
// "Runtime.OutOfMemory"; a process that exits mid-invocation fails it with
// "Runtime.ExitError" ("Runtime exited with error: exit status 2"). Such an
// instance is discarded and the next invoke starts a fresh one. Handler errors
// are passed through as the runtime reported them. All of them set
// Result.FunctionError to "Unhandled", as Lambda's X-Amz-Function-Error does.
//
// Invoke's own errors (as opposed to function errors) are *providers.Error:
// NotFound for a function that is not deployed, InvalidArgument for a payload
// that is not JSON or is over 6 MB, Throttled when ctx ends while every
// instance is busy, Unavailable after Close.
//
// Memory and CPU time are read from /proc (Linux); elsewhere they are
// reported as zero and memory is not enforced.
package runtime
