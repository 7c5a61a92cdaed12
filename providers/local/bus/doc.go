// Package bus is the local provider's event bus: EventBridge semantics on
// one machine.
//
// # Publishing
//
// Publish (and PublishInFlow) takes events in EventBridge's envelope. Each
// entry is checked as PutEvents checks it — source, detail-type and detail
// present, detail a JSON object, at most 256 KB as EventBridge counts it —
// and a bad entry gets an ErrorCode (InvalidArgument, MalformedDetail) and
// ErrorMessage in its result while the others go on. Missing id, time,
// region, account and version are filled in. The valid entries are appended
// to the store (package store) in one fsynced transaction BEFORE anything is
// delivered: an acknowledged event survives kill -9 even if its deliveries
// do not run.
//
// # Delivery
//
// Each stored event is matched against the rules of its bus (a Matcher per
// bus, compiled by Options.NewMatcher from the store's rules; by default
// FilterMatcher, package filter's RuleSet) and delivered to the
// target function of every matching rule, asynchronously and in parallel: a
// FIFO queue per function, drained by up to the function's concurrency of
// workers. The payload is the envelope JSON, as a Lambda target of an
// EventBridge rule receives it. A failed attempt (the Invoker's error, or an
// outcome with FunctionError) is retried Options.Retries times (default 2, as
// Lambda's asynchronous invocation) after Options.Backoff (default 100ms,
// 200ms; Lambda waits about 1 and 2 minutes). Every attempt's outcome is a
// store.Delivery row: "retrying", then "ok" or "failed" — the final failure
// is recorded as an on-failure destination would receive it. Outcomes are
// written in batches by one recorder goroutine, which gathers what arrives
// within 2ms into one transaction (Wait and Drain return that much later).
//
// # Flows
//
// A publish may belong to a flow (NewFlow, then PublishInFlow, or Publish
// with WithFlow); one without a flow keeps nothing in memory. A delivery
// joins the flow of its event, and events that a function publishes while
// it handles a delivery join the delivery's flow. Wait
// blocks until nothing of a flow is pending and returns the final outcomes:
// that is `evcli send --wait`. Deliveries are counted when their event is
// published, so a function publishing more work keeps the flow open.
//
// How a function's PutEvents call finds its flow: the context the bus passes
// to Invoker.Invoke carries the flow (FlowFromContext). As soon as the
// runtime assigns the invocation a request id, the Invoker calls
// BindRequest(ctx, requestID); from then until Invoke returns,
// FlowOfInvocation(fn, requestID) answers the flow. PutEventsHandler asks
// its caller func which (function, request id) a request comes from (the
// runtime gives each invocation its own access key id) and publishes in that
// flow. An invocation the bus did not start can join a flow with
// BindInvocation; an HTTP client can name one with the X-Evcli-Flow-Id header.
//
// A chain that feeds itself (a rule matching what its own function
// publishes) is stopped at Options.MaxDepth (16) publishes deep, as Lambda's
// recursive loop detection does: the event is stored, and each target it
// matched gets a failed delivery saying why, so Wait returns.
//
// # The PutEvents endpoint
//
// PutEventsHandler speaks EventBridge's PutEvents over AWS JSON 1.1 (POST /,
// X-Amz-Target: AWSEvents.PutEvents, Content-Type
// application/x-amz-json-1.1), so the AWS SDKs inside handlers talk to it
// unchanged through AWS_ENDPOINT_URL_EVENTBRIDGE. Request-level errors are
// {"__type": "ValidationException" | "SerializationException" |
// "UnknownOperationException", "message": ...} with status 400; per-entry
// failures are in the 200 response, counted in FailedEntryCount.
//
// # Memory
//
// Deliveries wait in per-function queues. When Options.MaxPending (10,000)
// are pending, Publish from outside (send, replay) waits for room, so a fast
// publisher cannot grow memory without bound; publishes by functions never
// wait, so chains cannot deadlock. Finished flows are forgotten after
// Options.FlowTTL.
//
// # Stopping
//
// Deliveries in progress live in memory: a killed process loses them (its
// events are safe in the store). So Publish matches events BEFORE storing
// them and stores the ids of the rules each was routed to in the event's
// row, in the same transaction. Redeliver, called by the next process that
// starts while no other delivers from the store (the local engine decides
// with a flock in the state directory), schedules the (event, routed rule)
// pairs that have no final outcome recorded, to the rule's current target:
// at least once, as EventBridge delivers, and never to a rule deployed after
// the event was stored. It keeps a mark in the store through which
// everything is known finished, so the next call reads only newer events;
// a process that started alone moves the mark past what it stored itself
// when it closes (MarkFinished), if no other process stored routed events
// meanwhile, so that after a large replay the next command does not read
// the whole replay again.
//
// Drain waits for every delivery (and what it causes) to be final and
// recorded; a one-shot `evcli send` calls it before exiting. Close cancels
// what is still running and records nothing for it: stopping is not
// failing, so a delivery cut short by Ctrl-C or SIGTERM stays unfinished in
// the store, exactly as after kill -9, and the next process redelivers it
// (Abandoned counts them; MarkFinished then leaves the mark alone).
//
// Left lists, after Close, the deliveries it gave up (event seq and rule);
// Adopt, on another process's bus over the same store, schedules those
// that still have no final outcome. That is how a one-shot command hands
// what it has not delivered yet to the project's running `local serve`
// (the local package's HandOff): the giver records nothing, so whichever
// process dies on the way, each delivery stays unfinished in the store
// until one records its outcome.
package bus
