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
// its deliveries before they exit (Connect); when a server starts while such
// a command waits, the command hands it the deliveries still pending and
// exits (inProcess.HandOff, through providers.Drainer: the engine closes
// recording nothing for them, then POST /evcli/v1/adopt tells the server
// which they are, bus.Bus.Adopt). Every engine holds a shared
// flock on .evcli/deliver.lock while it lives; one that starts while no
// other holds it redelivers, in the background, what killed processes left
// in flight (bus.Bus.Redeliver), and Drain waits for that too. Deployer
// records functions and rules in the store and asks the running engine to
// reload them.
//
// # Who may call the server
//
// `evcli local serve` trusts only its owner. It creates a random token at
// start, keeps it in .evcli/serve.token (0600; removed at exit), and every
// /evcli/v1/* call must carry it ("Authorization: Bearer TOKEN"); evcli's
// own commands read the file (Running). Only one server runs per project:
// it holds a lease (an OS file lock, AcquireLease) and a second refuses,
// naming the first. An --addr other machines can reach needs AllowRemote
// (--allow-remote) and is warned about.
//
// The AWS endpoints (PutEvents, Invoke) cannot ask for a bearer token:
// unmodified AWS SDKs in handlers, and the AWS CLI a user points at the
// server with --endpoint-url, sign with SigV4 using whatever credentials
// they have, and no configuration makes them send another header. Making
// the token the only accepted access key id would have broken the user's
// `aws lambda invoke --endpoint-url` and any handler whose process gets
// credentials another way. So a request is accepted when it is SigV4-signed
// (an "AWS4-HMAC-SHA256" Authorization header) and either its access key
// id is the token or a handler instance's own key (the runtime sets
// AWS_ACCESS_KEY_ID per instance), from any Host; or it comes with a
// loopback Host and no Origin header. That is what every SDK and the CLI
// on this machine send, and what a web page cannot: a browser adds Origin
// to a cross-site POST, cannot set Authorization without a CORS preflight
// (which the server never answers), and a DNS-rebinding page shows its own
// name in Host. The signature itself is not verified: on loopback it would
// prove nothing the checks above do not.
//
// Secrets: the deployer keeps the values `evcli deploy` read, for the
// runtime, and an HMAC-SHA256 of each under a random key of the project,
// which Deployed reports (SecretHashes) so that the plan compares hashes;
// all in the owner-only store (secrets.go). A function whose deployment
// lacks a secret's value is refused at invoke and send (MissingSecretError).
package local
