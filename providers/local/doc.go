// Package local is evcli's embedded provider: it runs a project's functions
// on this machine with no cloud account.
//
// An Engine ties together the pieces in the sub-packages:
//
//   - store: one SQLite database (pure Go, WAL) under <project>/.evcli with
//     the deployed functions and rules, the event store, log lines,
//     invocation records and delivery outcomes; several evcli processes use
//     it at once.
//   - runtime: the Lambda Runtime API, so unmodified handlers (Go bootstrap,
//     Node, Python) run as warm, reused instances with Lambda's limits and
//     log lines.
//   - bus: events are stored first, then matched with the filter package's
//     EventBridge engine and fanned out to every target with Lambda's async
//     retries.
//
// The engine serves, on 127.0.0.1: EventBridge's PutEvents (handlers get
// AWS_ENDPOINT_URL_EVENTBRIDGE pointing at it, and per-instance dummy
// credentials by which the engine tells which invocation published an event,
// so `send --wait` follows a flow through chains and sagas); Lambda's Invoke
// API; and evcli's own /evcli/v1/ endpoints (send, invoke, reload, health).
//
// `evcli local serve` runs an engine in the foreground and registers its
// address in the store; other commands use it through a Client when it
// answers, and otherwise start an engine in their own process and wait for
// its deliveries before they exit (Connect). Every engine holds a shared
// flock on .evcli/deliver.lock while it lives; one that starts while no
// other holds it redelivers, in the background, what killed processes left
// in flight (bus.Bus.Redeliver), and Drain waits for that too. Deployer
// records functions and rules in the store and asks the running engine to
// reload them.
//
// Secret environment values never reach the store: only their names do, and
// the process that starts an instance reads the values from its environment.
package local
