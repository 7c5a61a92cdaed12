// Package asl parses, validates and runs Amazon States Language state
// machines: the orchestrated sagas of evcli.yaml's workflows.
//
// It lives in internal/ rather than in the local driver because three
// layers read definitions: project validates them (file:line:col, the
// project's functions), the AWS driver renders them for Step Functions, and
// the local driver runs them with Executor. Nothing here knows a provider:
// a Task's function is called through the Invoker interface, which the
// local driver implements with its runtime, and durability is the caller's
// Checkpoint hook.
//
// # Parsing
//
// ParseJSON keeps every value's byte offset, so Parse reports each problem
// (Diag) at the place it is written, all at once: unknown fields and state
// types (with a did-you-mean), StartAt/Next/Default/Choices/Catch targets
// that name no state, states unreachable from StartAt, a missing Next or
// End, Retry and Catch rules (States.ALL alone and last, BackoffRate ≥ 1,
// JitterStrategy FULL|NONE, ...), Choice rules (one operator, Next only at
// the top, operand types), Wait's one-of, invalid JSONPath and reference
// paths, intrinsic function calls (name, arity, syntax), and — given
// Options.Functions — Task functions the project does not have. A Task's
// Resource is ${function:NAME}, NAME, a Lambda function ARN, or
// arn:aws:states:::lambda:invoke with Parameters.FunctionName.
//
// # JSONPath
//
// Path is JSONPath as ASL uses it: $ is the state's input and $$ the
// context object; child, index, wildcard, union, slice, deep scan and
// filter segments. A reference path (child and index only) selects one
// value and fails when absent; any other path selects the array of its
// matches. Numbers are float64, as in JSON and JavaScript.
//
// # Running
//
// Executor.Run follows Step Functions' semantics: InputPath → Parameters
// → the work (with Retry: IntervalSeconds × BackoffRate^n capped at
// MaxDelaySeconds, JitterStrategy FULL drawing uniformly below that, each
// retrier counting its own attempts) → ResultSelector → ResultPath →
// OutputPath; Catch applies its ResultPath to the state's raw input with
// {"Error","Cause"}. Error names are those Lambda and Step Functions
// report: a function's errorType (LambdaFailure; Lambda.Unknown without
// one), States.Timeout for TimeoutSeconds, States.TaskFailed,
// States.Runtime for a path that selects nothing (not matched by
// States.ALL), States.NoChoiceMatched, States.ResultPathMatchFailure,
// States.IntrinsicFailure. Parallel branches and Map items run
// concurrently (Map at most MaxConcurrency at once); the first failure
// cancels the others and is the state's failure. Executor.Serial runs them
// in order, for a deterministic history.
//
// Time reaches the executor only through Now and Sleep (Wait states and
// retry delays), and randomness through Rand, so tests run instantly.
//
// # Durability
//
// Checkpoint is called before each top-level state with its name and raw
// input; Run with resumeAt continues from there. A state interrupted while
// running is run again from its start: a Task is called at least once, and
// may be called twice when the process dies during the call; Parallel
// branches and Map iterations restart whole; retry counters restart.
package asl
